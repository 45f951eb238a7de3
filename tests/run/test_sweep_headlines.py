"""`sweep --headlines-only`: the batch path for savings equals the builder exactly; the fallback; sweep.xlsx cached values."""

from __future__ import annotations

import pytest
from conftest import TESTS_DIR

from alliance_fin.present.savings import build_savings_report
from alliance_fin.run import sweep_headlines

SMALL = TESTS_DIR / "fixtures" / "small_lineup.csv"
FIGURES = ("total_savings_eur_m", "savings_pct", "npv_savings_eur_m", "total_savings_report_ccy_m",
           "pre_plan_savings_eur_m", "net_savings_eur_m")


def _grid(tmp_path, text: str):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def builds(monkeypatch):
    """Counts the builder calls of the sweep, by report."""
    calls: dict[str, int] = {}
    real = sweep_headlines._builder

    def counting(report):
        build = real(report)

        def wrapped(**kw):
            calls[report] = calls.get(report, 0) + 1
            return build(**kw)
        return wrapped

    monkeypatch.setattr(sweep_headlines, "_builder", counting)
    return calls


def test_batch_savings_headlines_equal_the_builder_one_by_one(tmp_path, builds):
    path = _grid(tmp_path, "report: savings\nbase: {start_year: 2021, end_year: 2026}\n"
                           "grid: {currency: [EUR, JPY], max_saving_rate: [0.2, 0.3, 0.4, 0.5, 0.6],\n"
                           "       follower_diff_share: [0.1, 0.35], discount_rate: [0.0, 0.05, 0.1]}\n")
    _, rows = sweep_headlines.calc_sweep_headlines(path, data=str(SMALL))
    assert len(rows) == 60 and builds.get("savings", 0) == 0  # every scenario through the batch
    for row in rows:
        head = build_savings_report(data_path=SMALL, currency=row["currency"], start_year=2021, end_year=2026,
                                    max_saving_rate=row["max_saving_rate"],
                                    follower_diff_share=row["follower_diff_share"],
                                    discount_rate=row["discount_rate"]).headline
        assert list(head) == list(FIGURES)
        assert {k: row[f"savings.{k}"] for k in head} == head  # exactly, not approx
        assert all(type(row[f"savings.{k}"]) is float for k in head)


def test_non_batch_reports_and_parameters_fall_back_to_the_builder(tmp_path, builds):
    path = _grid(tmp_path, "report: [savings, range_trimming]\n"
                           "grid: {min_volume: [10000, 30000], max_saving_rate: [0.2, 0.4]}\n")
    _, rows = sweep_headlines.calc_sweep_headlines(path, data=str(SMALL))
    assert len(rows) == 4
    # once per distinct set of its parameters: range_trimming declares both min_volume and
    # max_saving_rate (its avoided development uses the savings method); savings is batched
    assert builds == {"range_trimming": 4}


def test_a_grid_the_batch_cannot_take_goes_through_the_builder(tmp_path, builds, monkeypatch):
    from alliance_fin.engines import savings_batch

    monkeypatch.setattr(savings_batch, "batch_keys", lambda prep, currency="EUR": ())  # nothing per scenario
    path = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.2, 0.4], discount_rate: [0.05, 0.1]}\n")
    _, rows = sweep_headlines.calc_sweep_headlines(path, data=str(SMALL))
    assert builds == {"savings": 4}
    monkeypatch.undo()
    _, batched = sweep_headlines.calc_sweep_headlines(path, data=str(SMALL))
    assert rows == batched


def test_a_large_sweep_writes_the_same_workbook_from_a_second_process(tmp_path, monkeypatch):
    import openpyxl

    from alliance_fin.cli import main

    path = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.2, 0.4], discount_rate: [0.05, 0.1]}\n")
    assert main(["sweep", str(path), "--data", str(SMALL), "--out", str(tmp_path / "one")]
                + ["--headlines-only"]) == 0
    monkeypatch.setattr(sweep_headlines, "PARALLEL_XLSX_ROWS", 0)
    assert main(["sweep", str(path), "--data", str(SMALL), "--out", str(tmp_path / "two"), "--headlines-only"]) == 0

    def cells(folder):
        wb = openpyxl.load_workbook(folder / "sweep.xlsx")
        return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
    assert cells(tmp_path / "one") == cells(tmp_path / "two")
    assert (tmp_path / "one" / "sweep.csv").read_bytes() == (tmp_path / "two" / "sweep.csv").read_bytes()


# -- sweep.xlsx: cached values a viewer without a calculation engine reads -----------------------
_FORMULA_CELL_RE = r'<c r="([A-Z]+[0-9]+)"[^>]*><f>[^<]*</f>(<v>[^<]*</v>|<v\s*/>)?</c>'


@pytest.fixture(scope="module")
def picker_sweep(tmp_path_factory):
    """A headline sweep of savings and milestones (numbers, text and booleans) on the default data."""
    from alliance_fin.cli import main

    tmp = tmp_path_factory.mktemp("picker")
    path = _grid(tmp, "report: [savings, milestones]\n"
                      "grid: {max_saving_rate: [0.2, 0.4], launch_delay_years: [1, 3], discount_rate: [0.05, 0.1]}\n")
    assert main(["sweep", str(path), "--out", str(tmp / "out"), "--headlines-only"]) == 0
    return tmp / "out"


def test_every_picker_formula_carries_its_value(picker_sweep):
    import re
    import zipfile

    with zipfile.ZipFile(picker_sweep / "sweep.xlsx") as zf:
        sheets = {n: zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")}
    cells = [m for xml in sheets.values() for m in re.findall(_FORMULA_CELL_RE, xml)]
    assert len(cells) >= 17  # 3 parameters, status, 6 savings and 7 milestones figures
    assert [coord for coord, v in cells if not v or not v.startswith("<v>") or v == "<v></v>"] == []


def test_read_excel_without_recalculation_shows_the_chosen_scenarios_figures(picker_sweep):
    import pandas as pd

    picker = pd.read_excel(picker_sweep / "sweep.xlsx", sheet_name="Picker", header=None)
    chosen = picker.iat[0, 1]
    figures = dict(zip(picker.iloc[3:, 0], picker.iloc[3:, 1], strict=True))
    expected = pd.read_csv(picker_sweep / "sweep.csv").set_index("scenario").loc[chosen].to_dict()
    assert list(figures) == list(expected)
    assert type(figures["milestones.lf_target_met"]) is bool
    for key, value in expected.items():
        assert figures[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), key
    assert all(pd.notna(v) for v in figures.values())
    assert 0 < figures["milestones.lf_share_new_models_2025"] < 1  # real figures, not placeholders
    assert figures["savings.total_savings_eur_m"] > 0


@pytest.mark.slow
def test_cached_values_equal_libreoffice_recalculation(picker_sweep, tmp_path):
    import math

    import libreoffice as lo  # tests/libreoffice.py
    import pandas as pd

    from alliance_fin.excel.core import ABS_TOL, REL_TOL

    workbook = picker_sweep / "sweep.xlsx"
    ours = pd.read_excel(workbook, sheet_name=None, header=None)
    theirs = pd.read_excel(lo.convert(workbook, tmp_path), sheet_name=None, header=None)
    assert list(ours) == list(theirs) == ["Picker", "Grid"]
    bad = []
    for sheet, frame in ours.items():
        assert frame.shape == theirs[sheet].shape, sheet
        for (i, j), a in frame.stack(future_stack=True).items():
            b = theirs[sheet].at[i, j]
            if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
                same = (math.isnan(a) and math.isnan(b)) or abs(a - b) <= max(ABS_TOL, REL_TOL * abs(b))
            else:
                same = a == b or (pd.isna(a) and pd.isna(b))
            if not same:
                bad.append(f"{sheet} row {i + 1} col {j + 1}: cached {a!r}, LibreOffice {b!r}")
    assert bad == []
    assert lo.error_cells(lo.recalculate(workbook, tmp_path / "again")) == []
