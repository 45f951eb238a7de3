"""Cross-row rules of the changeover columns (alliance_fin.inputs.rules): structured problems."""

from __future__ import annotations

import pandas as pd
import pytest

from alliance_fin.inputs.rules import Problem, changeover_problems, cross_row_problems


def row(model_id: str, member: str = "Renault", replaces: str = "", launch: int = 2022,
        since: str = "") -> dict:
    return {"model_id": model_id, "member": member, "model_name": f"Car {model_id}", "segment": "B",
            "family_id": "", "role": "standalone", "launch_year": launch, "end_year": 2030,
            "replaces": replaces, "scheme_since": since}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


@pytest.mark.parametrize(("lineup", "expected"), [
    pytest.param(frame(row("A"), row("B", replaces="A")), [], id="valid-chain"),
    pytest.param(frame(row("A"), row("B", replaces=" A ")), [], id="spaces-trimmed"),
    pytest.param(frame(row("A"), row("B", replaces="X")),
                 [Problem((1,), "replaces", "names no model_id")], id="unknown-id"),
    pytest.param(frame(row("A"), row("B", replaces="a")),
                 [Problem((1,), "replaces", "did you mean 'A'")], id="unknown-id-case-hint"),
    pytest.param(frame(row("A", replaces="A")), [Problem((0,), "replaces", "itself")], id="self-reference"),
    pytest.param(frame(row("A"), row("B", member="Nissan", replaces="A")),
                 [Problem((1,), "replaces", "is a Renault model, this one is Nissan")], id="other-member"),
    pytest.param(frame(row("A", replaces="B"), row("B", replaces="A")),
                 [Problem((0, 1), "replaces", "cycle A -> B -> A")], id="two-cycle"),
    pytest.param(frame(row("A", replaces="C"), row("B", replaces="A"), row("C", replaces="B"), row("D", replaces="C")),
                 [Problem((0, 1, 2), "replaces", "cycle A -> C -> B -> A")], id="three-cycle-with-a-tail"),
    pytest.param(frame(row("A", since="2023")),
                 [Problem((0,), "scheme_since", "2023 is after launch_year 2022")], id="scheme-since-after-launch"),
    pytest.param(frame(row("A", since="2022"), row("B", since="")), [], id="scheme-since-at-launch-or-empty"),
])
def test_changeover_rules(lineup, expected):
    got = changeover_problems(lineup)
    assert [(p.rows, p.column) for p in got] == [(e.rows, e.column) for e in expected]
    for p, e in zip(got, expected, strict=True):
        assert e.text in p.text


def test_every_problem_at_once_with_row_column_and_value():
    lineup = frame(row("A", replaces="A"), row("B", replaces="ZZ"), row("C", since="2030"),
                   row("D", replaces="E"), row("E", replaces="D"))
    got = cross_row_problems(lineup, None)
    assert [(p.rows, p.column) for p in got] == [((0,), "replaces"), ((1,), "replaces"),
                                                 ((3, 4), "replaces"), ((2,), "scheme_since")]
    text = "\n".join(p.render("f.csv") for p in got)
    assert "f.csv row 2, column 'replaces': value 'A'" in text
    assert "f.csv row 3, column 'replaces': value 'ZZ'" in text
    assert "f.csv rows 5, 6, column 'replaces'" in text and "f.csv row 4, column 'scheme_since': value 2030" in text


def test_line_up_without_changeover_columns_has_no_such_problems():
    assert changeover_problems(frame(row("A")).drop(columns=["replaces", "scheme_since"])) == []


@pytest.mark.parametrize("column, bad", [
    ("member", "Toyota"), ("launch_year", "20x0"), ("model_id", " "), ("annual_volume", "-1"),
    ("notes", "a\x01b"), ("role", "Leader"), ("common_platform", "maybe"),
], ids=lambda v: repr(v))
def test_cells_pass_says_what_the_pandera_schema_says(column, bad):
    """The loader skips pandera when cells_pass finds nothing; both must agree on every cell."""
    import pandera.pandas as pa

    from alliance_fin import paths
    from alliance_fin.inputs.read import MODELS_SHEET, read_table
    from alliance_fin.inputs.schema import cells_pass, lineup_schema

    frame = read_table(paths.LINEUP_CSV, MODELS_SHEET, required=True)[0].astype(str)
    assert cells_pass(frame)
    lineup_schema(list(frame.columns)).validate(frame, lazy=True)
    broken = frame.copy()
    broken.loc[3, column] = bad
    assert not cells_pass(broken)
    with pytest.raises(pa.errors.SchemaErrors):
        lineup_schema(list(broken.columns)).validate(broken, lazy=True)
