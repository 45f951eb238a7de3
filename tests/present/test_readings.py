"""Headlines in words that carry their caveats, and tables that say what they count (issue 13)."""

from __future__ import annotations

import pytest

import alliance_fin as af


@pytest.fixture(scope="module")
def savings():
    return af.build_savings_report()


@pytest.fixture(scope="module")
def trimming():
    return af.build_trimming_report()


@pytest.fixture(scope="module")
def milestones():
    return af.build_milestones_report()


def test_savings_headline_says_baseline_data_and_what_is_left_out(savings):
    text = savings.sections["headline"].reading
    for part in ("plan baseline", "scheme_since >= 2020", "Against every model standalone", "cost to achieve",
                 "valued at 1 January 2020", "mid-year", "packaged Alliance line-up", "rest-of-range",
                 "not trimmed", "Left out"):
        assert part in text, part


@pytest.mark.parametrize("baseline", ["plan", "standalone"])
def test_savings_shows_both_baselines_and_pre_plan(baseline):
    report = af.build_savings_report(baseline=baseline)
    table = report.tables["baselines"].set_index("baseline")
    head = report.headline
    assert table.loc["standalone", "total"] == pytest.approx(table.loc["plan", "total"] + head["pre_plan_savings_eur_m"])
    assert table.loc[baseline, "chosen"] and table.loc[baseline, "total"] == pytest.approx(head["total_savings_eur_m"])
    figures = " ".join(report.tables["headline"]["figure"])
    assert f"{baseline} baseline" in figures and "Cost to achieve" in figures and "Net savings" in figures
    assert "1 Jan 2020" in figures


def test_every_saving_table_names_its_baseline(savings):
    for name in ("headline", "by_member", "by_family", "by_year", "sensitivity", "tornado", "models"):
        note = savings.sections[name].note or ""
        assert "baseline" in note, name


def test_npv_timing_named_where_the_npv_is_shown():
    report = af.build_savings_report(npv_timing="end")
    assert "end of year (end)" in report.sections["headline"].reading
    assert any("end-year" in f for f in report.tables["headline"]["figure"])


def test_model_tables_mark_rest_of_range_rows(savings, milestones):
    models = savings.tables["models"].set_index("model_id")
    assert models.loc["N90", "row_kind"] == "rest of range (aggregate)" and models.loc["N01", "row_kind"] == "model"
    assert models["row_kind"].eq("rest of range (aggregate)").sum() == 12
    timeline = milestones.tables["timeline"].set_index("model_id")
    assert timeline.loc["N90", "label"].endswith("(rest of range)")


def test_trimming_tables_in_the_reference_year(trimming):
    head = trimming.headline
    assert "2025" in trimming.sections["headline"].reading and "net benefit" in trimming.sections["headline"].reading
    by_reason = trimming.tables["by_reason"]
    assert head["models_before"] - head["models_after"] == by_reason["models_cut"].sum()
    assert trimming.sections["by_reason"].title.endswith("2025")
    other = af.build_trimming_report(reference_year=2021)
    assert other.sections["before_after"].title.endswith("2021") and other.headline != head
    avoided = trimming.tables["avoided"]
    assert (avoided.loc[avoided["has_successor"], "avoided_dev"] == 0).all()  # a successor avoids nothing
    net = trimming.tables["value_by_year"]["net_benefit"].sum()
    assert net == pytest.approx(head["net_trimming_benefit_eur_m"])


def test_milestones_both_readings_side_by_side_with_their_quotes(milestones):
    readings = milestones.tables["readings"].set_index("reading")
    assert len(readings) == 2
    quotes = " ".join(readings["source_quote"])
    assert "half of the new Alliance models" in quotes and "close to 50% of Alliance models" in quotes
    assert set(readings["share"]) == {milestones.headline["lf_share_new_models_2025"],
                                      milestones.headline["lf_share_range_2025"]}
    text = milestones.sections["headline"].reading
    assert "CMF platforms" in text and "2026" in text and "trimming applied" in text


def test_milestone_statuses_use_the_new_words(milestones):
    statuses = set(milestones.tables["paths"]["status"])
    assert statuses <= {"ahead", "on track", "at risk", "off track", "met", "missed"}
    paths = milestones.tables["paths"]
    before = paths[paths["year"] < paths["target_year"]]
    assert not before["status"].eq("met").any()  # never met before the target year


def test_apply_trimming_moves_the_milestone_headline():
    trimmed, untrimmed = af.build_milestones_report(), af.build_milestones_report(apply_trimming=False)
    assert trimmed.headline["common_platform_volume_share_2024"] != untrimmed.headline["common_platform_volume_share_2024"]
    assert "without range trimming" in untrimmed.sections["headline"].reading


def test_currency_in_any_letter_case():
    assert af.build_savings_report(currency="jpy").currency == "JPY"
