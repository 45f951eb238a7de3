"""Presentation reports: parameters and in-memory assumptions resolve the way a user expects."""

from __future__ import annotations

import pytest

import alliance_fin as af


@pytest.fixture(scope="module")
def assumptions():
    return af.load_assumptions()


def test_assumption_edit_is_used_when_no_parameter_given(assumptions):
    edited = af.set_assumption(assumptions, "max_saving_rate", 0.30)
    report = af.build_savings_report(assumptions=edited)
    assert report.parameters["max_saving_rate"] == 0.30
    assert report.headline == af.build_savings_report(max_saving_rate=0.30).headline
    assert report.headline["total_savings_eur_m"] < af.build_savings_report().headline["total_savings_eur_m"]


def test_parameter_wins_over_assumption_and_is_marked(assumptions):
    edited = af.set_assumption(assumptions, "max_saving_rate", 0.30)
    report = af.build_savings_report(assumptions=edited, max_saving_rate=0.35)
    assert report.assumptions.loc["max_saving_rate", "value"] == 0.35
    assert report.assumptions.loc["max_saving_rate", "provenance"] == "parameter"


@pytest.mark.parametrize("key, value, check", [
    ("target_lf_share", 0.95, lambda r: r.headline["lf_target_met"] is False),
    ("target_platform_year", 2020, lambda r: r.parameters["target_platform_year"] == 2020),
], ids=["milestone-target-share", "milestone-target-year-int"])
def test_milestone_targets_from_assumptions(assumptions, key, value, check):
    report = af.build_milestones_report(assumptions=af.set_assumption(assumptions, key, value))
    assert check(report)


def test_trimming_threshold_from_assumptions(assumptions):
    report = af.build_trimming_report(assumptions=af.set_assumption(assumptions, "min_volume", 100_000))
    assert report.parameters["min_volume"] == 100_000
    assert report.headline["models_after"] < af.build_trimming_report().headline["models_after"]


def test_currency_scales_money_tables_exactly():
    eur = af.build_savings_report()
    jpy = af.build_savings_report(currency="JPY")
    fx = eur.assumptions.loc["fx_eur_jpy", "value"]
    assert jpy.tables["by_year"]["cumulative"].iloc[-1] == pytest.approx(eur.tables["by_year"]["cumulative"].iloc[-1] * fx)
    assert jpy.headline["total_savings_eur_m"] == eur.headline["total_savings_eur_m"]


def test_workbook_shows_parameter_beside_the_default_it_replaced(tmp_path):
    from openpyxl import load_workbook

    report = af.build_savings_report(max_saving_rate=0.3)
    af.write_report_outputs(report, output_dir=tmp_path)
    ws = load_workbook(tmp_path / "savings.xlsx")["Assumptions"]
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "max_saving_rate")
    assert row[1] == 0.3
    assert row[3] == "parameter (default 0.4, sourced)" and row[4] == "S:1"


def test_compare_reports_side_by_side_with_change():
    base, low = af.build_savings_report(), af.build_savings_report(max_saving_rate=0.3)
    head = af.compare_reports({"base": base, "low": low})
    assert list(head.columns) == ["base", "low", "change"]
    assert head.loc["total_savings_eur_m", "change"] == pytest.approx(
        low.headline["total_savings_eur_m"] - base.headline["total_savings_eur_m"])
    members = af.compare_reports({"base": base, "low": low}, table="by_member", column="total")
    assert members["change"].sum() == pytest.approx(head.loc["total_savings_eur_m", "change"])
    with pytest.raises(ValueError):
        af.compare_reports({"base": base}, table="by_member")


@pytest.mark.parametrize("build, name, n_sourced", [
    (af.build_savings_report, "savings", 4),           # max_saving_rate (S:1) and three FX rates
    # three FX rates and max_saving_rate: avoided development is valued with the savings method
    (af.build_trimming_report, "range_trimming", 4),
    (af.build_milestones_report, "milestones", 3),     # the two target shares and the LF year
], ids=["savings", "range_trimming", "milestones"])
def test_every_report_shows_its_assumptions_and_sources(build, name, n_sourced):
    report = build()
    used = report.tables["assumptions_used"]
    assert used["provenance"].eq("sourced").sum() == n_sourced
    assert (used["unit"] != "").all()
    cited = set(report.tables["sources"]["key"])
    assert {k for s in used["source"] for k in s.replace(";", " ").split() if k.startswith("S:")} <= cited
    assert report.tables["sources"]["url"].str.startswith("http").all()
    prov = report.tables["data_provenance"].set_index("column")
    assert (prov.sum(axis=1) == len(report.lineup)).all()  # every value of every provenance column counted once
    assert "kind" in report.tables["sources"].columns  # primary / press / secondary beside each source
    assert "Assumptions and sources" in report.sections["sources"].title


@pytest.mark.parametrize("build", ["build_savings_report", "build_trimming_report", "build_milestones_report",
                                   "build_plan_vs_actual_report"])
def test_every_source_key_shown_is_listed_with_its_kind(build):
    """A reader can look up every S:n the report shows (readings and tables), and how good it is."""
    import re

    report = getattr(af, build)()
    shown = " ".join(s.reading for s in report.sections.values())
    shown += " ".join(t.to_string() for name, t in report.tables.items() if name != "sources")
    listed = report.tables["sources"]
    assert set(re.findall(r"S:\d+", shown)) <= set(listed["key"])
    assert listed["kind"].isin(["primary", "press", "secondary"]).all() and listed["url"].str.startswith("http").all()
