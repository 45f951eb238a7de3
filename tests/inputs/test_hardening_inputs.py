"""Hardening, inputs: a catalogue of broken data files and parameters through the real CLI.

Every broken input goes through ``alliance-fin validate`` *and* ``alliance-fin run``; both must
exit 2 with a message naming the place (file, row, column) and the rule, and ``run`` must refuse
before any kernel starts (``runner.execute_plan`` is replaced by a trap) without creating or
touching the output folder. Odd but valid inputs (BOM, Latin-1, right-to-left text, emoji,
``2020.0`` years, huge volumes) are accepted and keep their text. Parameter values that reach a
notebook arrive as one assignment each, unchanged. See docs/reliability.md.
"""

from __future__ import annotations

import ast
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT  # noqa: E402
from openpyxl import Workbook
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from alliance_fin.cli import main
from alliance_fin.inputs.load import load_lineup
from alliance_fin.paths import NOTEBOOKS_DIR
from alliance_fin.run import runner

DATA_CSV = ROOT / "alliance_fin" / "data" / "lineup.csv"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# -- building broken inputs (all in tmp_path) --------------------------------------------------


def raw() -> pd.DataFrame:
    """The packaged line-up as the all-text frame a user's CSV gives."""
    return pd.read_csv(DATA_CSV, dtype=str, keep_default_na=False)


def edit(row: int, col: str, value: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    frame = raw() if frame is None else frame.copy()
    frame.loc[row, col] = value
    return frame


def csv(frame_fn: Callable[[], pd.DataFrame], encoding: str = "utf-8", errors: str = "strict"):
    def build(folder: Path) -> Path:
        path = folder / "lineup.csv"
        path.write_bytes(frame_fn().to_csv(index=False).encode(encoding, errors))
        return path
    return build


def raw_bytes(content: bytes, name: str):
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path
    return build


def xlsx(frame_fn: Callable[[], pd.DataFrame] | None = raw, sheet: str = "models",
         edit_ws: Callable | None = None):
    """A workbook whose sheet ``sheet`` holds the frame (numbers as numbers, like Excel)."""
    def build(folder: Path) -> Path:
        wb = Workbook()
        ws = wb.active
        ws.title = sheet
        if frame_fn is not None:
            frame = frame_fn()
            ws.append(list(frame.columns))
            for rec in frame.itertuples(index=False):
                ws.append([_excel_value(v) for v in rec])
        if edit_ws is not None:
            edit_ws(ws)
        path = folder / "lineup.xlsx"
        _save_with_surrogates(wb, path)
        return path
    return build


_SURROGATE = re.compile("[\ud800-\udfff]")


def _save_with_surrogates(wb: Workbook, path: Path) -> None:
    """``wb.save(path)``, a lone surrogate in a text written as openpyxl writes it without lxml
    (a character reference, ``&#55296;``): openpyxl's lxml writer refuses to write one at all."""
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and _SURROGATE.search(cell.value):
                    cell.value = _SURROGATE.sub(lambda m: f"@surrogate{ord(m.group())}@", cell.value)
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {info: zf.read(info) for info in zf.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, body in parts.items():
            zf.writestr(info, re.sub(rb"@surrogate(\d+)@", rb"&#\1;", body))


def _excel_value(text: str):
    try:
        number = float(text)
    except ValueError:
        return text if text != "" else None
    return int(number) if number.is_integer() and "e" not in text.lower() else number


def truncated_xlsx(folder: Path) -> Path:
    full = xlsx()(folder)
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    return full


def encrypted_xlsx(folder: Path) -> Path:
    """What Excel writes for a password-protected .xlsx: an OLE2 compound file, not a zip."""
    path = folder / "protected.xlsx"
    names = b"".join(n.encode("utf-16-le") + b"\x00\x00" for n in ("EncryptionInfo", "EncryptedPackage"))
    path.write_bytes(OLE2_MAGIC + b"\x00" * 504 + names + b"\x00" * 1024)
    return path


def title_row_above_header(ws) -> None:
    ws.insert_rows(1)
    ws["A1"] = "Alliance line-up"
    ws.merge_cells("A1:F1")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\x00" * 64
LONG_NAME = "Q" * 40_000


def _assumptions_bad(ws) -> None:
    book = ws.parent
    sheet = book.create_sheet("assumptions")
    sheet.append(["key", "value"])
    sheet.append(["discount_rate", "eight percent"])


# (id, builder, words the message must contain). Rows are numbered as in Excel (header = row 1).
BROKEN: list[tuple[str, Callable[[Path], Path], list[str]]] = [
    # structure
    ("missing-column", csv(lambda: raw().drop(columns=["region"])), ["missing required column", "region"]),
    ("extra-column", csv(lambda: raw().assign(colour="red")), ["unknown column", "'colour'"]),
    ("renamed-column", csv(lambda: raw().rename(columns={"model_name": "name"})),
     ["missing required column", "model_name", "unknown column", "'name'"]),
    ("column-renamed-by-case", csv(lambda: raw().rename(columns={"model_id": "Model_ID"})),
     ["missing required column", "model_id", "'Model_ID'"]),
    ("duplicate-column", csv(lambda: raw().rename(columns={"body": "brand"})), ["appear", "brand"]),
    ("empty-file", raw_bytes(b"", "lineup.csv"), ["is empty", "model_id"]),
    ("empty-sheet", xlsx(None), ["[models]", "no models", "missing required column"]),
    ("header-only-csv", csv(lambda: raw().iloc[:0]), ["lineup.csv", "no models"]),
    ("header-only-xlsx", xlsx(lambda: raw().iloc[:0]), ["[models]", "no models"]),
    ("wrong-sheet-name", xlsx(sheet="Models"), ["has no sheet 'models'", "Models"]),
    ("merged-title-row-above-header", xlsx(edit_ws=title_row_above_header),
     ["[models]", "missing required column", "'Alliance line-up'"]),
    ("merged-header-cells", xlsx(edit_ws=lambda ws: ws.merge_cells("C1:D1")),
     ["[models]", "missing required column(s): model_name", "'Unnamed: 3'"]),
    ("password-protected-xlsx", encrypted_xlsx, ["protected.xlsx", "password"]),
    ("truncated-zip-xlsx", truncated_xlsx, ["lineup.xlsx", "cannot be read as a workbook"]),
    ("png-renamed-xlsx", raw_bytes(PNG, "lineup.xlsx"), ["lineup.xlsx", "not an Excel workbook"]),
    ("png-renamed-csv", raw_bytes(PNG, "lineup.csv"), ["lineup.csv", "not a text CSV"]),
    ("unknown-extension", raw_bytes(b"model_id\n", "lineup.ods"), ["unknown file type '.ods'"]),
    ("csv-semicolons", raw_bytes(raw().to_csv(index=False, sep=";").encode(), "lineup.csv"),
     ["separated by ';'", "commas"]),
    ("bad-assumptions-sheet", xlsx(edit_ws=_assumptions_bad),
     ["[assumptions] row 2", "'value'", "eight percent", "discount_rate", "from 0 to 0.5"]),
    # values
    ("text-in-volume", csv(lambda: edit(0, "annual_volume", "many")),
     ["row 2", "'annual_volume'", "'many'", "number of units >= 0"]),
    ("thousands-separator-in-volume", csv(lambda: edit(3, "annual_volume", "300,000")),
     ["row 5", "'annual_volume'", "'300,000'"]),
    ("nan-volume", csv(lambda: edit(1, "annual_volume", "NaN")), ["row 3", "'NaN'", "number of units >= 0"]),
    ("inf-volume", csv(lambda: edit(1, "annual_volume", "inf")), ["row 3", "'inf'", "number of units >= 0"]),
    ("empty-volume-cell-xlsx", xlsx(lambda: edit(0, "annual_volume", "")), ["row 2", "'annual_volume'", "''"]),
    ("negative-volume", csv(lambda: edit(4, "annual_volume", "-100")), ["row 6", "'-100'", ">= 0"]),
    ("negative-dev-cost", csv(lambda: edit(4, "dev_cost_eur_m", "-5")), ["row 6", "dev_cost_eur_m", "'-5'"]),
    ("text-in-year", csv(lambda: edit(2, "launch_year", "soon")), ["row 4", "launch_year", "'soon'", "whole year"]),
    ("float-year", csv(lambda: edit(2, "end_year", "2024.5")), ["row 4", "end_year", "'2024.5'", "whole year"]),
    ("year-1899", csv(lambda: edit(0, "launch_year", "1899")), ["row 2", "'1899'", "from 1950 to 2100"]),
    ("year-2200", csv(lambda: edit(0, "end_year", "2200")), ["row 2", "'2200'", "from 1950 to 2100"]),
    ("launch-after-end", csv(lambda: edit(0, "launch_year", "2030")), ["row 2", "2030", "after end_year"]),
    ("duplicate-id-case", csv(lambda: edit(3, "model_id", "n01")), ["rows 2, 5", "duplicate id", "'n01'"]),
    ("duplicate-id-spaces", csv(lambda: edit(3, "model_id", " N01 ")), ["rows 2, 5", "duplicate id", "' N01 '"]),
    ("empty-model-id", csv(lambda: edit(3, "model_id", "  ")), ["row 5", "'model_id'", "must not be empty"]),
    ("member-misspelt", csv(lambda: edit(0, "member", "Nisan")), ["row 2", "'Nisan'", "did you mean 'Nissan'"]),
    ("member-lower-case", csv(lambda: edit(0, "member", "renault")),
     ["row 2", "'renault'", "Renault, Nissan, Mitsubishi", "did you mean 'Renault'"]),
    ("unknown-role", csv(lambda: edit(1, "role", "boss")), ["row 3", "'boss'", "leader, follower, standalone"]),
    ("unknown-segment", csv(lambda: edit(0, "segment", "Z")), ["row 2", "'Z'", "known segments"]),
    ("common-platform-maybe", csv(lambda: edit(0, "common_platform", "maybe")), ["row 2", "'maybe'", "yes or no"]),
    ("family-without-leader", csv(lambda: edit(4, "role", "follower")), ["family 'F02'", "no leader"]),
    ("family-two-leaders", csv(lambda: edit(5, "role", "leader")), ["family 'F02'", "2 leaders"]),
    ("follower-without-family", csv(lambda: edit(5, "family_id", "")), ["row 7", "must belong to a family"]),
    ("standalone-in-family", csv(lambda: edit(5, "role", "standalone")), ["row 7", "'standalone'"]),
    # text
    ("control-character-bel", csv(lambda: edit(0, "model_name", "Qash\x07qai")),
     ["row 2", "'model_name'", "\\x07", "control characters"]),
    ("control-character-esc", csv(lambda: edit(1, "brand", "Nis\x1bsan")), ["row 3", "'brand'", "\\x1b"]),
    ("nul-late-in-file", csv(lambda: edit(40, "plant", "Oppama\x00")), ["row 42", "'plant'", "\\x00"]),
    ("lone-surrogate-xlsx", xlsx(lambda: edit(0, "model_name", "Qash\ud800qai")), ["lineup.xlsx"]),
    ("lone-surrogate-csv", csv(lambda: edit(1, "model_name", "Mégane", edit(0, "model_name", "Qash\ud800qai")),
                               errors="surrogatepass"), ["lineup.csv", "UTF-8"]),
    ("name-40000-chars", csv(lambda: edit(0, "model_name", LONG_NAME)),
     ["row 2", "'model_name'", "at most 1000 characters"]),
    # changeovers and the plan baseline (issue 13)
    ("replaces-unknown-id", csv(lambda: edit(1, "replaces", "N99")),
     ["row 3", "'replaces'", "'N99'", "names no model_id"]),
    ("replaces-itself", csv(lambda: edit(1, "replaces", "N02")), ["row 3", "'replaces'", "'N02'", "itself"]),
    ("replaces-other-member", csv(lambda: edit(1, "replaces", "R01")),
     ["row 3", "'replaces'", "'R01'", "Renault model", "its own member"]),
    ("replaces-cycle", csv(lambda: edit(0, "replaces", "N02")),
     ["rows 2, 3", "'replaces'", "cycle N01 -> N02 -> N01"]),
    ("scheme-since-not-a-year", csv(lambda: edit(1, "scheme_since", "soon")),
     ["row 3", "'scheme_since'", "'soon'", "whole year"]),
    ("scheme-since-after-launch", csv(lambda: edit(1, "scheme_since", "2030")),
     ["row 3", "'scheme_since'", "2030", "after launch_year 2021"]),
    ("rest-of-range-maybe", csv(lambda: edit(0, "rest_of_range", "maybe")),
     ["row 2", "'rest_of_range'", "'maybe'", "yes or empty"]),
]

# Odd but valid: accepted, and the text survives. (id, builder, (row, column, expected value))
ACCEPTED: list[tuple[str, Callable[[Path], Path], tuple[int, str, object]]] = [
    ("utf8-bom", lambda d: raw_bytes(b"\xef\xbb\xbf" + raw().to_csv(index=False).encode(), "lineup.csv")(d),
     (0, "model_id", "N01")),
    ("latin1-accents", csv(lambda: edit(0, "model_name", "Mégane Énergie Ç"), encoding="cp1252", errors="replace"),
     (0, "model_name", "Mégane Énergie Ç")),
    ("crlf-line-ends", lambda d: raw_bytes(raw().to_csv(index=False, lineterminator="\r\n").encode(),
                                           "lineup.csv")(d), (56, "model_id", raw().loc[56, "model_id"])),
    ("rtl-arabic-name", csv(lambda: edit(0, "model_name", "نيسان قشقاي")), (0, "model_name", "نيسان قشقاي")),
    ("rtl-hebrew-plant", csv(lambda: edit(0, "plant", "\u202eדימונה")), (0, "plant", "\u202eדימונה")),
    ("emoji-brand", csv(lambda: edit(1, "brand", "Nissan 🚗👨‍👩‍👧")), (1, "brand", "Nissan 🚗👨‍👩‍👧")),
    ("line-separator-u2028", csv(lambda: edit(2, "model_name", "a\u2028b")), (2, "model_name", "a\u2028b")),
    ("formula-like-name", csv(lambda: edit(0, "model_name", '=HYPERLINK("http://example.invalid","x")')),
     (0, "model_name", '=HYPERLINK("http://example.invalid","x")')),
    ("name-1000-chars", csv(lambda: edit(0, "model_name", "Q" * 1000)), (0, "model_name", "Q" * 1000)),
    ("year-written-2020.0", csv(lambda: edit(0, "launch_year", "2014.0")), (0, "launch_year", 2014)),
    ("huge-volume-1e15", csv(lambda: edit(0, "annual_volume", "1e15")), (0, "annual_volume", 1e15)),
    ("zero-volume", csv(lambda: edit(0, "annual_volume", "0")), (0, "annual_volume", 0.0)),
    ("xlsx-real-numbers", xlsx(), (0, "launch_year", 2014)),
]


def _make(tmp_path: Path, build: Callable[[Path], Path]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return build(folder)


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def no_kernels(monkeypatch):
    """Fail loudly if anything would start executing notebooks."""
    def trap(*args, **kwargs):
        raise AssertionError("execute_plan was called: a kernel would have started")
    monkeypatch.setattr(runner, "execute_plan", trap)


# -- bad data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("build, words", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_validate_refuses_broken_input(tmp_path, capsys, build, words):
    path = _make(tmp_path, build)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in message:\n{err[:3000]}"
    assert max(len(line) for line in err.splitlines()) < 2_000, "a message line is unreadably long"


@pytest.mark.parametrize("build, words", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_run_refuses_broken_input_before_any_kernel(tmp_path, capsys, no_kernels, build, words):
    path = _make(tmp_path, build)
    before = _tree(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "savings", "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the run was refused: nothing was written" in err and "Traceback" not in err
    for word in words:
        if word == "UTF-8":  # the runner may word the encoding problem its own way
            continue
        assert word in err, f"{word!r} not in message:\n{err[:3000]}"
    assert max(len(line) for line in err.splitlines()) < 2_000, "a message line is unreadably long"
    assert not out.exists()
    assert _tree(tmp_path) == before


def test_refused_run_leaves_previous_out_intact(tmp_path, capsys, no_kernels):
    path = _make(tmp_path, csv(lambda: edit(0, "member", "Nisan")))
    out = tmp_path / "out"
    out.mkdir()
    (out / "savings.xlsx").write_bytes(b"previous report")
    assert main(["run", "all", "--data", str(path), "--out", str(out), "--force"]) == 2
    assert "Nisan" in capsys.readouterr().err
    assert _tree(out) == ["savings.xlsx"] and (out / "savings.xlsx").read_bytes() == b"previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no staging folder


def test_catalogue_is_large_enough():
    assert len(BROKEN) >= 30 and len({c[0] for c in BROKEN}) == len(BROKEN)


@pytest.mark.parametrize("build, expect", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_odd_but_valid_input_is_accepted(tmp_path, capsys, build, expect):
    path = _make(tmp_path, build)
    assert main(["validate", str(path)]) == 0
    assert f"valid - {len(raw())} models" in capsys.readouterr().out
    row, column, value = expect
    lineup = load_lineup(path)
    assert lineup.loc[row, column] == value
    plan = runner.plan_run(["savings"], data=str(path), out=str(tmp_path / "out"))  # no kernel, no files
    assert plan.data["rows"] == len(raw()) and not (tmp_path / "out").exists()


# -- bad parameters ------------------------------------------------------------------------------

ALLOWED_CCY = "one of EUR, GBP, JPY, USD"

# (id, report, -p items, words): each must name the parameter, the value and what is allowed.
BAD_P = [
    ("name-not-identifier", "savings", ["1x=2"], ["'1x' (-p): not a valid parameter name"]),
    ("name-with-dash", "savings", ["max-saving-rate=0.3"], ["'max-saving-rate' (-p): not a valid parameter name"]),
    ("name-keyword", "savings", ["class=1"], ["'class' (-p): not a valid parameter name"]),
    ("name-injection", "savings", ["x\nimport os\nos.system('echo INJECTED')\ny=2"],
     ["not a valid parameter name"]),
    ("name-unknown", "savings", ["min_volume=1"],
     ["min_volume (-p): no selected report (savings) declares it", "known parameters", "max_saving_rate"]),
    ("name-internal-data-path", "savings", ["data_path=/etc/passwd"], ["data_path (-p): set by the runner"]),
    ("name-internal-output-dir", "savings", ["output_dir=/tmp"], ["output_dir (-p): set by the runner"]),
    ("no-equals", "savings", ["currency"], ["-p 'currency': expected NAME=VALUE"]),
    ("empty-name", "savings", ["=3"], ["-p '=3': expected NAME=VALUE"]),
    ("int-as-text", "savings", ["start_year=abc"], ["start_year (-p)", "'abc'", "integer from 2000 to 2035"]),
    ("int-as-float", "savings", ["start_year=2020.5"], ["start_year (-p)", "'2020.5'", "integer"]),
    ("year-out-of-range", "savings", ["end_year=2036"], ["end_year (-p)", "'2036'", "integer from 2000 to 2035"]),
    ("end-before-start", "savings", ["start_year=2024", "end_year=2021"], ["end_year", "2021", "start_year 2024"]),
    ("rate-above-one", "savings", ["max_saving_rate=1.5"], ["max_saving_rate (-p)", "'1.5'", "number from 0 to 1"]),
    ("rate-negative", "savings", ["discount_rate=-0.1"], ["discount_rate (-p)", "'-0.1'", "number from 0 to 0.5"]),
    ("rate-nan", "savings", ["max_saving_rate=nan"], ["max_saving_rate (-p)", "'nan'", "number from 0 to 1"]),
    ("rate-inf", "savings", ["discount_rate=inf"], ["discount_rate (-p)", "'inf'"]),
    ("rate-percent-sign", "savings", ["max_saving_rate=40%"], ["max_saving_rate (-p)", "'40%'"]),
    ("currency-unknown", "savings", ["currency=XYZ"], ["currency (-p)", "'XYZ'", ALLOWED_CCY]),
    ("currency-mixed-unknown", "savings", ["currency=Xyz"], ["currency (-p)", "'Xyz'", ALLOWED_CCY]),
    ("scenario-path", "savings", ["scenario=../../etc"], ["scenario (-p)", "'../../etc'", "text matching"]),
    ("scenario-quotes", "savings", ['scenario=a"; import os; "'], ["scenario (-p)", "text matching"]),
    ("scenario-newline", "savings", ["scenario=a\nb"], ["scenario (-p)", "'a\\nb'"]),
    ("scenario-too-long", "savings", ["scenario=" + "s" * 41], ["scenario (-p)", "text matching"]),
    ("bool-maybe", "range_trimming", ["rule_overlap=maybe"], ["rule_overlap (-p)", "'maybe'", "true or false"]),
    ("min-volume-negative", "range_trimming", ["min_volume=-1"], ["min_volume (-p)", "'-1'", "integer from 0"]),
    ("keep-with-quote", "range_trimming", ['keep=N01,N02"'], ["keep (-p)", "comma-separated model ids"]),
    ("cut-with-newline", "range_trimming", ["cut=N01\nimport os"], ["cut (-p)", "comma-separated model ids"]),
    ("cut-with-backslash", "range_trimming", ["cut=N01\\N02"], ["cut (-p)", "comma-separated model ids"]),
    ("delay-out-of-range", "milestones", ["launch_delay_years=11"], ["launch_delay_years (-p)", "'11'", "0 to 10"]),
]


@pytest.mark.parametrize("report, items, words", [c[1:] for c in BAD_P], ids=[c[0] for c in BAD_P])
def test_bad_parameter_refused(tmp_path, capsys, no_kernels, report, items, words):
    out = tmp_path / "out"
    args = ["run", report, "--out", str(out)]
    for item in items:
        args += ["-p", item]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "invalid" in captured.err or "bad -p" in captured.err or "refused" in captured.err
    for word in words:
        assert word in captured.err, f"{word!r} not in:\n{captured.err}"
    assert "INJECTED" not in captured.out  # nothing ran (the refusal may quote the name)
    assert list(tmp_path.iterdir()) == []


# (id, YAML text, words)
BAD_YAML = [
    ("yaml-syntax", "max_saving_rate: [0.3\n", ["line 2", "not valid YAML"]),
    ("yaml-python-tag", "scenario: !!python/object/apply:os.system ['echo INJECTED']\n", ["not valid YAML"]),
    ("yaml-top-level-list", "- scenario\n- base\n", ["expected a mapping"]),
    ("yaml-nested-mapping", "savings:\n  max_saving_rate: 0.3\n", ["savings: nested mappings are not allowed"]),
    ("yaml-non-string-key", "1: 2\n", ["key 1 is not a parameter name"]),
    ("yaml-date-not-json", "scenario: 2024-01-02\n", ["scenario (--params)", "datetime.date(2024, 1, 2)"]),
    ("yaml-list-for-scalar", "scenario: [a, b]\n", ["scenario (--params)", "['a', 'b']"]),
    ("yaml-bool-for-int", "start_year: true\n", ["start_year (--params)", "True", "integer"]),
    ("yaml-null-currency", "currency: null\n", ["currency (--params)", "None", ALLOWED_CCY]),
    ("yaml-nan-rate", "max_saving_rate: .nan\n", ["max_saving_rate (--params)", "nan", "number from 0 to 1"]),
    ("yaml-unknown-and-bad", "nope: 1\ncurrency: CHF\n", ["nope (--params)", "currency (--params)", "'CHF'"]),
    ("yaml-not-utf8", None, ["cannot read parameter file"]),
]


@pytest.mark.parametrize("text, words", [c[1:] for c in BAD_YAML], ids=[c[0] for c in BAD_YAML])
def test_bad_params_file_refused(tmp_path, capsys, no_kernels, text, words):
    params = tmp_path / "params.yaml"
    if text is None:
        params.write_bytes(b"scenario: caf\xe9\n")
    else:
        params.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "savings", "--params", str(params), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    for word in words:
        assert word in captured.err, f"{word!r} not in:\n{captured.err}"
    assert "INJECTED" not in captured.out + captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


@pytest.mark.parametrize("items, expected", [
    (["keep=n01, N02 ,,"], "n01,N02"),
    (["cut=N01.a_b-c"], "N01.a_b-c"),
    (["keep="], ""),
], ids=["ids-trimmed", "id-charset", "empty-list"])
def test_id_list_parameters_normalised(items, expected):
    """The id lists are normalised (the ids themselves are checked against the line-up in plan_run)."""
    from alliance_fin.run.params import REPORT_SPECS, coerce_value

    name, raw = items[0].split("=", 1)
    assert coerce_value(REPORT_SPECS["range_trimming"].param(name), raw) == expected


# -- values that reach the notebook: one assignment each, unchanged ---------------------------

WEIRD_NAMES = [
    'quote " and \' apostrophe.csv',
    "back\\slash \\n not-a-newline.csv",
    "new\nline.csv",
    "\"\"\"triple'''.csv",
    "unicode é 🚗 \u2028.csv",
    "x = 1; import os.csv",
]


@pytest.mark.parametrize("name", WEIRD_NAMES, ids=["quotes", "backslashes", "newline", "triple-quotes",
                                                    "unicode", "code-like"])
def test_injected_parameters_round_trip(tmp_path, name):
    """Values the runner injects (here a data path with hostile characters) arrive unchanged."""
    data = tmp_path / name
    data.write_bytes(DATA_CSV.read_bytes())
    plan = runner.plan_run(["range_trimming"], data=str(data), out=str(tmp_path / "out"),
                           overrides=["keep=N01,N02", "scenario=a.b_c-1"])
    job = runner.build_jobs(plan, tmp_path / "staging")[0]
    nb = load_notebook_node(str(NOTEBOOKS_DIR / "range_trimming.ipynb"))  # as papermill reads it
    nb = parameterize_notebook(nb, job["parameters"])
    cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    assigns = [n for n in tree.body if isinstance(n, ast.Assign)]
    assert len(assigns) == len(tree.body) == len(job["parameters"])
    namespace: dict = {}
    exec(compile(tree, "<injected>", "exec"), {}, namespace)  # noqa: S102 - our own parameter cell
    assert namespace == job["parameters"]
    assert namespace["data_path"] == str(data.resolve())
    json.dumps(job["parameters"])  # every injected value is JSON-able
