"""Report parameter specs: listing, conversion, refusals (all at once) and merge order."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance_fin.errors import ParameterError
from alliance_fin.run.params import (
    INTERNAL_PARAMS,
    REPORT_SPECS,
    REPORTS,
    coerce_value,
    describe_reports,
    load_params_file,
    parse_overrides,
    resolve_params,
)


def _refusal(*args, **kwargs) -> str:
    with pytest.raises(ParameterError) as info:
        resolve_params(*args, **kwargs)
    return info.value.report()


def test_reports_and_contract_parameters():
    assert REPORTS == ("savings", "range_trimming", "milestones", "plan_vs_actual")
    savings = REPORT_SPECS["savings"]
    assert savings.param("max_saving_rate").default == 0.40
    assert (savings.param("max_saving_rate").min, savings.param("max_saving_rate").max) == (0, 1)
    for spec in REPORT_SPECS.values():
        assert spec.param("currency").choices == ("EUR", "GBP", "JPY", "USD")
        assert spec.param("scenario").default == "base"
        assert not spec.param_names & set(INTERNAL_PARAMS)
    delay = REPORT_SPECS["milestones"].param("launch_delay_years")
    assert (delay.type, delay.default, delay.min, delay.max) == ("int", 0, 0, 10)


def test_contract_parameters_of_issue_13():
    """DESIGN section 2: who declares which new parameter, with which default and values."""
    savings, trimming, milestones = (REPORT_SPECS[r] for r in ("savings", "range_trimming", "milestones"))
    assert savings.param("baseline").choices == ("plan", "standalone") and savings.param("baseline").default == "plan"
    assert savings.param("npv_timing").choices == ("mid", "end", "start") and savings.param("npv_timing").default == "mid"
    assert savings.param("plan_year").default == milestones.param("plan_year").default == 2020
    assert trimming.param("reference_year").default == 2025
    assert milestones.param("platform_definition").choices == ("cmf", "shared")
    assert milestones.param("platform_definition").default == "cmf"
    assert milestones.param("as_of_year").default == 2026
    # what a report uses, it declares: trimming values avoided development with the savings method,
    # milestones applies the trimming
    assert {"max_saving_rate", "follower_diff_share", "contribution_margin_rate"} <= trimming.param_names
    assert {"min_volume", "migration_rate"} <= milestones.param_names
    assert "max_saving_rate" not in milestones.param_names
    assert set(savings.headline_keys) >= {"pre_plan_savings_eur_m", "net_savings_eur_m"}
    assert "net_trimming_benefit_eur_m" in trimming.headline_keys
    assert len(milestones.headline_keys) == 7


def test_reference_year_outside_the_window_is_refused():
    text = _refusal(["range_trimming"], {}, {"reference_year": "2026"})
    assert "reference_year" in text and "2026" in text and "2020" in text and "2025" in text
    text = _refusal(["range_trimming"], {}, {"start_year": "2021", "reference_year": "2020"})
    assert "reference_year" in text and "outside the report window" in text
    ok = resolve_params(["range_trimming"], {}, {"end_year": "2030", "reference_year": "2030"})
    assert ok["range_trimming"]["reference_year"] == 2030


def test_a_parameter_goes_to_every_report_that_declares_it():
    resolved = resolve_params(list(REPORTS), {}, {"max_saving_rate": "0.3", "currency": "gbp"})
    assert resolved["savings"]["max_saving_rate"] == resolved["range_trimming"]["max_saving_rate"] == 0.3
    assert "max_saving_rate" not in resolved["milestones"]
    assert {v["currency"] for v in resolved.values()} == {"GBP"}


def test_describe_reports_rows():
    rows = describe_reports()
    assert {tuple(sorted(r)) for r in rows} == {("allowed", "default", "help", "name", "report", "type")}
    assert len(rows) == sum(len(s.params) for s in REPORT_SPECS.values())
    row = next(r for r in rows if r["report"] == "savings" and r["name"] == "max_saving_rate")
    assert row["type"] == "float" and row["default"] == 0.40 and "0 to 1" in row["allowed"]
    assert all(r["help"] for r in rows)


@pytest.mark.parametrize(
    "name, raw, expected",
    [
        ("max_saving_rate", "0.35", 0.35),
        ("max_saving_rate", 1, 1.0),
        ("launch_delay_years", "3", 3),
        ("launch_delay_years", 2.0, 2),
        ("apply_trimming", "no", False),
        ("apply_trimming", "TRUE", True),
        ("apply_trimming", "0", False),
        ("apply_trimming", 1, True),
        ("currency", "JPY", "JPY"),
        ("currency", "jpy", "JPY"),
        ("currency", " Usd ", "USD"),
        ("baseline", "standalone", "standalone"),
        ("npv_timing", "end", "end"),
        ("platform_definition", "shared", "shared"),
        ("reference_year", "2023", 2023),
        ("scenario", 2024, "2024"),
        ("cut", " N01 , R02,, ", "N01,R02"),
        ("cut", ["N01", "R02"], "N01,R02"),
        ("keep", "", ""),
    ],
    ids=["float-text", "float-int", "int-text", "int-integral-float", "bool-no", "bool-TRUE",
         "bool-0", "bool-1", "choice", "currency-lower-case", "currency-mixed-case-spaces", "baseline",
         "npv-timing", "platform-definition", "reference-year", "str-from-yaml-int", "id-list-text",
         "id-list-yaml", "id-list-empty"],
)
def test_coerce_accepts(name, raw, expected):
    spec = next(p for s in REPORT_SPECS.values() for p in s.params if p.name == name)
    value = coerce_value(spec, raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "name, raw",
    [
        ("max_saving_rate", "abc"), ("max_saving_rate", "1.5"), ("max_saving_rate", "-0.1"),
        ("max_saving_rate", "nan"), ("max_saving_rate", True), ("launch_delay_years", "1.5"),
        ("launch_delay_years", 1.5), ("launch_delay_years", "11"), ("launch_delay_years", "-1"),
        ("apply_trimming", "maybe"), ("apply_trimming", 2), ("currency", "CHF"),
        ("baseline", "Plan"), ("baseline", "counterfactual"), ("npv_timing", "middle"),
        ("platform_definition", "all"), ("reference_year", "1999"), ("plan_year", "2020.5"),
        ("scenario", "a b"), ("scenario", "../x"), ("scenario", ""), ("scenario", "x" * 41),
        ("cut", "N01;rm -rf"), ("min_volume", "10000001"),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_coerce_refuses_naming_value_and_rule(name, raw):
    spec = next(p for s in REPORT_SPECS.values() for p in s.params if p.name == name)
    with pytest.raises(ValueError) as info:
        coerce_value(spec, raw)
    assert repr(raw)[:10] in str(info.value) and "expected" in str(info.value)


def test_every_problem_at_once():
    text = _refusal(
        ["savings"], {"max_saving_rate": "abc", "launch_delay_years": 2},
        {"currency": "XYZ", "start_year": "2030", "end_year": "2021", "output_dir": "/x", "1bad": "1"},
    )
    for expected in (
        "max_saving_rate (--params): value 'abc' is not allowed: expected number from 0 to 1",
        "launch_delay_years (--params): no selected report (savings) declares it",
        "currency (-p): value 'XYZ' is not allowed: expected one of EUR, GBP, JPY, USD",
        "end_year: value 2021 is before start_year 2030",
        "output_dir (-p): set by the runner",
        "'1bad' (-p): not a valid parameter name",
    ):
        assert expected in text


def test_parameter_goes_to_every_report_that_declares_it():
    out = resolve_params(["savings", "milestones"], {}, {"currency": "GBP", "launch_delay_years": "2"})
    assert out["savings"]["currency"] == out["milestones"]["currency"] == "GBP"
    assert out["milestones"]["launch_delay_years"] == 2
    assert "launch_delay_years" not in out["savings"]
    assert list(out["savings"]) == [p.name for p in REPORT_SPECS["savings"].params]


def test_merge_order_spec_then_data_then_file_then_p():
    defaults = {"max_saving_rate": 0.30, "discount_rate": 0.05, "follower_diff_share": 0.25,
                "target_lf_year": 2026.0, "fx_eur_gbp": 0.9}
    out = resolve_params(["savings", "milestones"], {"max_saving_rate": 0.35, "discount_rate": 0.06},
                         {"discount_rate": "0.07"}, data_defaults=defaults)
    assert out["savings"]["max_saving_rate"] == 0.35  # --params beats the data file
    assert out["savings"]["discount_rate"] == 0.07  # -p beats --params
    assert out["savings"]["follower_diff_share"] == 0.25  # data file beats the spec
    assert out["milestones"]["target_lf_year"] == 2026 and isinstance(out["milestones"]["target_lf_year"], int)
    assert out["milestones"]["amber_tolerance"] == 0.05  # spec default


def test_bad_assumption_in_data_is_reported():
    text = _refusal(["savings"], data_defaults={"max_saving_rate": 1.5})
    assert "max_saving_rate (assumption in the data file)" in text


def test_parse_overrides_refuses_missing_equals_and_later_wins():
    assert parse_overrides(["a=1", "b=x=y", "a=2"]) == {"a": "2", "b": "x=y"}
    with pytest.raises(ParameterError) as info:
        parse_overrides(["novalue", "=3"])
    assert "'novalue'" in info.value.report() and "'=3'" in info.value.report()


def test_params_file(tmp_path: Path):
    good = tmp_path / "p.yaml"
    good.write_text("max_saving_rate: 0.3\ncut: [N01, R02]\nscenario: low\n", encoding="utf-8")
    assert load_params_file(good) == {"max_saving_rate": 0.3, "cut": ["N01", "R02"], "scenario": "low"}
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_params_file(empty) == {}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: 1\nb: [1, 2\n", "line 3"),
        ("a: 1\n  b: 2\n", "line 2"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("a:\n  b: 1\n", "nested mappings"),
    ],
    ids=["unclosed-list", "bad-indent", "list-not-mapping", "nested"],
)
def test_params_file_errors_name_file_and_line(tmp_path: Path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_params_file(path)
    assert str(path) in info.value.report() and expected in info.value.report()


def test_params_file_missing(tmp_path: Path):
    with pytest.raises(ParameterError, match="cannot read parameter file"):
        load_params_file(tmp_path / "nope.yaml")


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"


def test_check_notebook_parameters_on_fixture():
    from alliance_fin.run.params import COMMON_PARAMS, ParamSpec, ReportSpec, check_notebook_parameters

    spec = ReportSpec("ok", "OK", "ok.ipynb",
                      COMMON_PARAMS + (ParamSpec("factor", "float", 1.0, "x", min=0, max=10),))
    assert check_notebook_parameters(spec, FIXTURES / "ok.ipynb") == []
    wrong = ReportSpec("ok", "OK", "ok.ipynb",
                       COMMON_PARAMS + (ParamSpec("factor", "int", 1, "x"), ParamSpec("extra", "bool", True, "x")))
    problems = "\n".join(check_notebook_parameters(wrong, FIXTURES / "ok.ipynb"))
    assert "factor has type hint float, spec says int" in problems
    assert "extra missing" in problems


@pytest.mark.parametrize("report", REPORTS)
def test_report_notebooks_match_their_spec(report):
    from alliance_fin.paths import NOTEBOOKS_DIR
    from alliance_fin.run.params import check_notebook_parameters

    path = NOTEBOOKS_DIR / REPORT_SPECS[report].notebook
    if not path.is_file():
        pytest.skip(f"{path} not written yet")
    assert check_notebook_parameters(REPORT_SPECS[report], path) == []


def test_params_file_refuses_a_key_given_twice(tmp_path):
    from alliance_fin.run.params import load_params_file

    path = tmp_path / "dup.yaml"
    path.write_text("max_saving_rate: 0.3\nmax_saving_rate: 0.5\n")
    with pytest.raises(ParameterError) as exc:
        load_params_file(path)
    assert "line 2" in str(exc.value) and "given twice" in str(exc.value)
