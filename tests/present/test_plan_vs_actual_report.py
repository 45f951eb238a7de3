"""The plan-against-outcome report on the packaged data, its refusals of bad plan sheets, and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import DATA_CSV

from alliance_fin.cli import main
from alliance_fin.inputs.plan import read_plan
from alliance_fin.present import plots
from alliance_fin.present.plan_vs_actual import build_events_table, build_plan_vs_actual_report
from alliance_fin.registry import REPORT_SPECS

PLAN_CSV = DATA_CSV.parent / "plan.csv"


@pytest.fixture(scope="module")
def report():
    return build_plan_vs_actual_report()


def test_headline_keys_and_packaged_figures(report):
    h = report.headline
    assert list(h) == list(REPORT_SPECS["plan_vs_actual"].headline_keys)
    assert (h["models_delayed"], h["models_cancelled"], h["models_added"]) == (7, 5, 29)
    assert h["savings_realisation_rate"] == pytest.approx(h["savings_actual_eur_m"] / h["savings_plan_eur_m"])
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in h.values())


def test_like_for_like_realisation_quoted_in_methodology_and_the_headline(report):
    # packaged data: 2,594.2 planned; cancellations -1,003.2, delays -172.8, regroupings -397.2, volume
    # and other 0: the planned models realise 1,021.0 (39%); the 29 added models bring the 291%
    h, checks = report.headline, report.results["checks"]
    assert checks["savings_planned_models_eur_m"] == pytest.approx(1021.0, abs=0.05)
    assert checks["savings_realisation_rate_planned_models"] == pytest.approx(1021.0 / 2594.2, abs=1e-4)
    assert "savings_realisation_rate_planned_models" not in h  # the contract's headline keys stay as they are
    first = report.sections["headline"].reading.split("\n\n")[0]
    assert "a realisation rate of **291%**, models added after the plan included" in first
    assert "Like for like, the planned models as they turned out, priced without the added ones" in first
    assert "**1,021 EUR m**: **39%** of the plan" in first
    table = report.tables["headline"].set_index("figure")["value"]
    assert table["Savings realisation rate, added models included (share)"] == pytest.approx(7556.3 / 2594.2, abs=1e-4)
    assert table["Planned models' realisation rate, like for like (share)"] == pytest.approx(0.39357, abs=1e-5)
    assert table["Planned models as realised, without the added ones, 2020-2025 (EUR m)"] == \
        pytest.approx(1021.0, abs=0.05)


def test_sections_in_order_and_the_headline_carries_its_caveats(report):
    assert list(report.sections) == ["headline", "models", "savings", "targets", "events", "sources"]
    first = report.sections["headline"].reading.split("\n\n")[0]
    for words in ("2020-2025", "plan baseline", "packaged illustrative line-up", "modelled", "assumptions"):
        assert words in first
    assert "S:1" in report.sections["headline"].reading and "S:101" in report.sections["headline"].reading


def test_bridge_table_adds_up_and_is_drawn(report):
    bridge = report.tables["bridge"]
    deltas = bridge.loc[bridge["kind"] == "delta", "value"].sum()
    assert bridge["value"].iloc[0] + deltas == pytest.approx(bridge["value"].iloc[-1])
    assert report.sections["savings"].plot == "plot_savings_bridge"
    ax = plots.plot_savings_bridge(bridge)
    assert len(ax.patches) == len(bridge)


def test_every_cancelled_id_of_the_data_is_found(report):
    models = report.tables["models"].set_index("model_id")
    assert sorted(models.index[models["status"] == "cancelled"]) == ["M30", "N73", "N74", "R44", "R45"]
    assert models.loc["N14", "delay_years"] == 2 and models.loc["N14", "status"] == "regrouped"


def test_events_are_data_with_sources_and_kinds(report):
    events = build_events_table()
    assert list(events.columns) == ["date", "event", "effect", "source", "source_kind", "url"]
    assert events["date"].is_monotonic_increasing and len(events) == 17
    kinds = {k for text in events["source_kind"] for k in text.split("; ")}
    assert kinds <= {"primary", "press", "secondary"}
    cited = {k.strip() for text in events["source"] for k in text.split(";")}
    assert cited <= set(report.tables["sources"]["key"])
    assert any("Russia" in e for e in events["event"])


def test_targets_year_by_year_on_each_lineup(report):
    targets = report.tables["targets"]
    assert set(targets["metric"]) == {"lf_share_new", "lf_share_range", "platform_volume_share"}
    assert targets.groupby("metric")["year"].apply(list).map(len).eq(6).all()
    row = targets[(targets["metric"] == "lf_share_range") & (targets["year"] == 2025)].iloc[0]
    assert row["outcome"] == pytest.approx(report.headline["lf_share_range_2025_actual"])
    assert row["outcome_status"] in {"met", "missed"}


def test_a_plan_identical_to_the_outcome_realises_exactly_one():
    outcome = read_plan()  # any valid line-up will do: compare the plan with itself
    rep = build_plan_vs_actual_report(lineup=outcome, plan=outcome.copy())
    assert rep.headline["savings_realisation_rate"] == 1.0
    assert rep.headline["models_delayed"] == rep.headline["models_cancelled"] == rep.headline["models_added"] == 0


# ---------------------------------------------------------------------------- bad plan sheets
def _workbook(path, plan: pd.DataFrame | None):
    models = pd.read_csv(DATA_CSV, dtype=str, keep_default_na=False)
    with pd.ExcelWriter(path) as writer:
        models.to_excel(writer, sheet_name="models", index=False)
        if plan is not None:
            plan.to_excel(writer, sheet_name="plan", index=False)
    return path


def _collide(plan):
    plan.loc[3, "model_id"] = " n01 "  # N01 is row 2: the same id after trimming and case
    return plan


@pytest.mark.parametrize("make, where", [
    pytest.param(lambda plan: None, ["[plan]", "sheet 'plan' is missing"], id="no plan sheet"),
    pytest.param(_collide, ["[plan] rows 2, 5", "column 'model_id'", "ignoring case and spaces"],
                 id="ids collide after trimming and case"),
    pytest.param(lambda plan: plan.assign(colour="red"), ["[plan] row 1", "column 'colour'", "not in sheet 'models'"],
                 id="a column models does not have"),
])
def test_bad_plan_sheet_is_refused_before_any_kernel(make, where, tmp_path, capsys):
    plan = pd.read_csv(PLAN_CSV, dtype=str, keep_default_na=False)
    data = _workbook(tmp_path / "data.xlsx", make(plan))
    out = tmp_path / "out"
    assert main(["run", "plan_vs_actual", "--data", str(data), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "data.xlsx" in err and all(w in err for w in where), err


def test_csv_data_has_no_plan_sheet(tmp_path, capsys):
    data = tmp_path / "lineup.csv"
    data.write_bytes(DATA_CSV.read_bytes())
    assert main(["run", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    assert "lineup.csv [plan]: sheet 'plan' is missing" in capsys.readouterr().err


def test_list_shows_the_fourth_report(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "\nplan_vs_actual\n" in text
    for name in ("as_of_year", "baseline", "plan_year", "platform_definition", "target_platform_year"):
        assert name in text.split("\nplan_vs_actual\n")[1]
