"""`sweep --headlines-only`: the batch path for savings equals the builder exactly; the fallback."""

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
