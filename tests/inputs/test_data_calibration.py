"""The packaged line-up against published figures (issue 14, Done when).

Plain pandas on the packaged CSVs, independent of the engines. A model counts in year ``y`` when
``launch_year <= y <= effective end``, the effective end being ``min(end_year, successor's
launch_year - 1)`` for a model that another model ``replaces``. Rest-of-range aggregate rows are
left out of model counts and kept in volumes. Each test names the key in ``sources.csv`` of the
figure it checks; ``alliance_fin/data/README.md`` tabulates the same figures.
"""

from __future__ import annotations

import pandas as pd
import pytest

from alliance_fin import paths


def _read(name: str) -> pd.DataFrame:
    d = pd.read_csv(paths.DATA_DIR / name, dtype=str, keep_default_na=False)
    for col in ("launch_year", "end_year"):
        d[col] = d[col].astype(int)
    d["annual_volume"] = d["annual_volume"].astype(float)
    first_successor = d[d["replaces"] != ""].groupby("replaces")["launch_year"].min()
    d["effective_end"] = [min(end, first_successor[m] - 1) if m in first_successor.index else end
                          for m, end in zip(d["model_id"], d["end_year"])]
    d["aggregate"] = d["rest_of_range"] == "yes"
    return d


@pytest.fixture(scope="module")
def lineup() -> pd.DataFrame:
    return _read("lineup.csv")


@pytest.fixture(scope="module")
def plan() -> pd.DataFrame:
    return _read("plan.csv")


def on_sale(d: pd.DataFrame, year: int) -> pd.DataFrame:
    return d[(d["launch_year"] <= year) & (d["effective_end"] >= year)]


def models(d: pd.DataFrame, year: int) -> pd.DataFrame:
    s = on_sale(d, year)
    return s[~s["aggregate"]]


# S:52 Nissan 5,176,189; S:51 Renault Group 3.75 m; S:53 Mitsubishi 1,225,283 (calendar 2019)
@pytest.mark.parametrize("member, published, source", [
    ("Nissan", 5_176_189, "S:52"),
    ("Renault", 3_750_000, "S:51"),
    ("Mitsubishi", 1_225_283, "S:53"),
])
def test_2019_volume_per_member_within_10_percent(lineup, member, published, source):
    s = on_sale(lineup, 2019)
    volume = s.loc[s["member"] == member, "annual_volume"].sum()
    assert abs(volume / published - 1) <= 0.10, (member, volume, source)


def test_2019_aggregate_rows_stay_a_minority_of_volume(lineup):
    """The 2019 check holds by construction of the rest-of-range rows; what it tells is their size."""
    s = on_sale(lineup, 2019)
    share = s.loc[s["aggregate"], "annual_volume"].sum() / s["annual_volume"].sum()
    assert share < 0.20


def test_cmf_volume_share_2020_near_automotive_news_39_percent(lineup):
    # S:101 Automotive News (Jan 2021): 39% of vehicles on the common (CMF) platforms in 2020
    s = on_sale(lineup, 2020)
    share = s.loc[s["platform"].str.startswith("CMF"), "annual_volume"].sum() / s["annual_volume"].sum()
    assert abs(share - 0.39) <= 0.08, share


def test_about_90_models_on_sale_in_2022(lineup):
    # S:109 Alliance 2030 (Jan 2022): "combined 90 models"
    assert abs(len(models(lineup, 2022)) - 90) <= 15


def test_common_platform_model_share_2022_near_60_percent(lineup):
    # S:109 Alliance 2030 (Jan 2022): common platforms "60% today"; flag common_platform (two members share it)
    m = models(lineup, 2022)
    assert abs((m["common_platform"] == "yes").mean() - 0.60) <= 0.10


def test_nissan_line_up_shrinks_2020_to_2023(lineup):
    # S:110 Nissan NEXT: 69 -> fewer than 55 models by FY2023 (about -20%); S:56: -15% by May 2022.
    # Counted as models on sale at any time in the calendar year, so 2023 stands for FY2023.
    def n(y: int) -> int:
        return int((models(lineup, y)["member"] == "Nissan").sum())

    change = n(2023) / n(2020) - 1
    assert -0.30 <= change <= -0.10, (n(2020), n(2023))


def test_rest_of_range_rows_are_aggregates_only(lineup):
    agg = lineup[lineup["aggregate"]]
    assert (agg["family_id"] == "").all() and (agg["role"] == "standalone").all()
    assert (agg["annual_volume_prov"] == "D").all()
    assert agg["model_name"].str.startswith("Rest of range").all()


def test_replaces_same_member_no_cycle(lineup, plan):
    for d in (lineup, plan):
        by_id = d.set_index("model_id")
        for mid, pred in by_id.loc[by_id["replaces"] != "", "replaces"].items():
            assert by_id.at[pred, "member"] == by_id.at[mid, "member"], mid
            seen, cur = {mid}, pred
            while cur:
                assert cur not in seen, mid
                seen.add(cur)
                cur = by_id.at[cur, "replaces"]


def test_plan_differs_as_announced(lineup, plan):
    p, a = plan.set_index("model_id"), lineup.set_index("model_id")
    assert p.at["N02", "launch_year"] == 2020 and a.at["N02", "launch_year"] == 2021  # Qashqai J12 (S:79)
    assert "M30" in p.index and "M30" not in a.index          # Qashqai-based ASX never came (S:80)
    assert p.at["N09", "family_id"] == "F09" and a.at["N09", "family_id"] == ""
    assert "M02" in a.index and "M02" not in p.index          # Captur-based ASX added (S:14)
    assert (p.loc[p["brand"] == "Lada", "end_year"] > 2022).all()
    assert (a.loc[a["brand"] == "Lada", "end_year"] == 2022).all()  # S:57


def test_sources_have_a_kind_and_events_cite_them():
    sources = pd.read_csv(paths.DATA_DIR / "sources.csv", dtype=str, keep_default_na=False).set_index("key")
    assert set(sources["kind"]) == {"primary", "press", "secondary"}
    assert not sources.loc[sources["kind"] != "secondary", "url"].str.contains(r"//\d+\.\d+\.\d+\.\d+/").any()
    events = pd.read_csv(paths.DATA_DIR / "events.csv", dtype=str, keep_default_na=False)
    assert list(events.columns) == ["date", "event", "effect", "source"]
    assert pd.to_datetime(events["date"], format="%Y-%m-%d").is_monotonic_increasing
    keys = {k for v in events["source"] for k in v.split("; ")}
    assert keys <= set(sources.index)
