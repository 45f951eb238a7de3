"""Tables that read right (issue 15): one formatter that knows each column's unit.

One test per kind of table: rates at their precision, counts without decimals, changes of
shares in points, money headers with the currency, the tornado in GBP, flat headers, text
left and numbers right, captions only where true, readable labels and links.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

import alliance_fin as af
from alliance_fin.present.display import column_unit, format_table, section_tables_html
from alliance_fin.present.units import format_rate, format_value


@pytest.fixture(scope="module")
def savings_gbp():
    return af.build_savings_report(currency="GBP")


@pytest.fixture(scope="module")
def savings_eur():
    return af.build_savings_report()


@pytest.fixture(scope="module")
def trimming():
    return af.build_trimming_report()


def _headers(html: str) -> list[str]:
    return re.findall(r'<th[^>]*class="col_heading[^"]*"[^>]*>(.*?)</th>', html)


def _column(html: str, n_cols: int, col: int) -> list[str]:
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    return cells[col::n_cols]


def _table(report, section: str, index: int = 0) -> str:
    return section_tables_html(report, section)[index]


# -- rates, shares, points -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "unit", "shown"), [
    pytest.param(0.03, "decimal share", "3.0%", id="rate-0.03"),
    pytest.param(0.024, "decimal share", "2.4%", id="rate-0.024"),
    pytest.param(0.036, "decimal share", "3.6%", id="rate-0.036"),
    pytest.param(0.32000000000000006, "decimal share", "32.0%", id="cap-low-float-noise"),
    pytest.param(0.0125, "decimal share", "1.25%", id="rate-two-decimals"),
    pytest.param(2.4, "years", "2.4", id="years"),
    pytest.param(20000.0, "EUR per vehicle", "20,000 EUR", id="money-per-vehicle"),
    pytest.param(1200.0, "EUR m per model", "1,200 EUR m", id="money-millions"),
    pytest.param(2025.0, "year", "2025", id="year"),
])
def test_a_value_shows_in_its_own_unit(value, unit, shown):
    assert format_value(value, unit) == shown


def test_a_003_rate_never_prints_00():
    assert format_rate(0.03) == "3.0%"
    html = format_table(pd.DataFrame({"production_saving_rate": [0.03, 0.024, 0.036]})).to_html()
    assert _column(html, 1, 0) == ["3.0%", "2.4%", "3.6%"]
    assert ">0.0<" not in html


def test_tornado_rates_at_their_precision_and_labels_not_keys(savings_eur):
    html = _table(savings_eur, "tornado")
    heads = _headers(html)
    assert heads[:4] == ["assumption", "low", "base", "high"]
    assert len(heads) == len(set(heads))  # no repeated column pairs (total low eur m / total low)
    labels = _column(html, len(heads), 0)
    assert not any("_" in label for label in labels), labels  # readable labels, never unit_cost_eur_D
    rows = {label: cells for label, *cells in zip(*[_column(html, len(heads), i) for i in range(len(heads))],
                                                  strict=True)}
    cap = rows["Ceiling on a model&#39;s development saving"]
    assert cap[:3] == ["32.0%", "40.0%", "48.0%"]  # were 0.3 / 0.4 / 0.5
    assert not any(c in ("0.0", "0.0%") for cells in rows.values() for c in cells[:3])


def test_tornado_in_gbp_has_one_currency_and_every_money_header_says_it(savings_gbp):
    html = _table(savings_gbp, "tornado")
    heads = _headers(html)
    money = [h for h in heads if h.startswith(("total", "range"))]
    assert money == ["total low (GBP m)", "total high (GBP m)", "range (GBP m)"]
    assert "EUR m)" not in " ".join(heads)
    table = savings_gbp.tables["tornado"]
    eur = af.build_savings_report().tables["tornado"]
    fx = savings_gbp.assumptions.loc["fx_eur_gbp", "value"]
    assert table["total_low"].to_numpy() == pytest.approx(eur["total_low"].to_numpy() * fx)


def test_share_changes_are_in_percentage_points(trimming):
    html = _table(trimming, "shares")
    heads = _headers(html)
    assert heads == ["metric", "before", "after", "change (pp)"]
    change = _column(html, 4, 3)
    assert all(re.fullmatch(r"[+-]\d+\.\d pp", c) for c in change), change
    before = _column(html, 4, 1)
    assert all(c.endswith("%") for c in before)


def test_relative_changes_stay_percent_and_a_change_of_counts_is_a_count(trimming):
    frame = trimming.tables["before_after"]
    assert column_unit("change", frame["change"]) == "count"
    assert column_unit("published_change_share", trimming.tables["plans"]["published_change_share"]) == "share"


# -- counts, years, money ------------------------------------------------------------------------


def test_counts_have_no_decimals(trimming, savings_eur):
    by_reason = _table(trimming, "by_reason")
    heads = _headers(by_reason)
    for col in ("models cut", "volume cut", "cut any year"):
        cells = _column(by_reason, len(heads), heads.index(col))
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", c) for c in cells), (col, cells)
    plans = _table(trimming, "plans")
    heads = _headers(plans)
    assert _column(plans, len(heads), heads.index("published count before"))[0] == "69"  # not "69.0"
    prov = _table(savings_eur, "sources", 1)
    assert ".0<" not in prov
    headline = savings_eur.tables["headline"]
    rows = format_table(trimming.tables["headline"]).to_html()
    assert "112<" in rows and "112.0" not in rows and len(headline)


def test_years_plain_and_money_headers_carry_the_currency(savings_gbp):
    html = _table(savings_gbp, "models")
    heads = _headers(html)
    years = _column(html, len(heads), heads.index("launch year"))
    assert all(re.fullmatch(r"\d{4}", y) for y in years)
    money = [h for h in heads if "saving" in h and "rate" not in h and "counted under" not in h]
    assert money and all(h.endswith("(GBP m)") for h in money), money
    by_member = _headers(_table(savings_gbp, "by_member"))
    assert by_member == ["member", "development (GBP m)", "production (GBP m)", "other (GBP m)",
                         "total (GBP m)", "investment reduction share"]


def test_headline_lists_the_total_once(savings_eur, savings_gbp):
    eur = [f for f in savings_eur.tables["headline"]["figure"] if f.startswith("Total savings")]
    assert len(eur) == 1
    gbp = [f for f in savings_gbp.tables["headline"]["figure"] if f.startswith("Total savings")]
    assert len(gbp) == 2 and "(GBP m)" in gbp[0] and "(EUR m)" in gbp[1]  # two figures, two currencies


# -- layout: flat headers, alignment, captions, links ------------------------------------------


def test_flat_headers_one_row_no_index_names(savings_eur):
    for section in ("by_member", "by_family", "by_year", "sensitivity"):
        html = _table(savings_eur, section)
        thead = html.split("<thead>")[1].split("</thead>")[0]
        assert thead.count("<tr>") == 1, section
        assert "index_name" not in thead and "blank" not in thead, section
    grid = _headers(_table(savings_eur, "sensitivity"))
    assert grid[0].startswith("Ceiling on a model&#39;s development saving")
    assert all(h.endswith("%") for h in grid[1:])


def test_text_left_numbers_right(savings_eur):
    styler = format_table(savings_eur.tables["by_family"])
    html = styler.to_html()
    heads = _headers(html)
    css = dict(re.findall(r"#T_\w+ td\.(col\d+) \{\s*text-align: (left|right);", html))
    assert css[f"col{heads.index('family')}"] == "left" and css[f"col{heads.index('leader')}"] == "left"
    assert css[f"col{heads.index('models')}"] == "right" and css[f"col{heads.index('window saving (EUR m)')}"] == "right"


def test_member_column_is_named_member(trimming):
    assert _headers(_table(trimming, "before_after"))[0] == "member"


def test_captions_only_where_true(savings_eur, trimming):
    for html in section_tables_html(savings_eur, "sources"):  # assumptions, provenance counts, sources
        assert "<caption>" not in html
    assert "<caption>" not in _table(trimming, "by_reason")
    assert "Money in" not in " ".join(section_tables_html(trimming, "headline"))
    baselines = _table(savings_eur, "headline", 1)
    assert "Both baselines" in baselines and "Savings under the plan baseline" not in baselines
    assert "plan baseline" in _table(savings_eur, "by_member")


def test_source_urls_are_links_and_assumptions_have_labels(savings_eur):
    sources = _table(savings_eur, "sources", 2)
    assert re.search(r'<a href="https://[^"]+">https://', sources)
    used = _table(savings_eur, "sources", 0)
    assert _headers(used)[0] == "assumption"
    assert "Ceiling on a model&#39;s development saving" in used


def test_a_javascript_address_is_not_a_link():
    html = format_table(pd.DataFrame({"url": ["javascript:alert(1)", "https://ok.example/a?b=1&c=2"]})).to_html()
    assert 'href="javascript' not in html and 'href="https://ok.example/a?b=1&amp;c=2"' in html


def test_several_addresses_in_one_cell_are_each_a_link():
    html = format_table(pd.DataFrame({"url": ["https://a.example/x ; https://b.example/y"]})).to_html()
    assert html.count("<a href=") == 2


def test_a_column_of_long_notes_gets_room_on_screen_and_none_on_paper():
    from alliance_fin.paths import TEMPLATES_DIR
    from alliance_fin.present.display import LONG_TEXT_CHARS, format_table

    frame = pd.DataFrame({"model_id": ["N09", "R11"], "changes": ["x" * (LONG_TEXT_CHARS + 1), "short"]})
    css = format_table(frame).to_html()
    assert css.count("min-width: 22em") == 1  # the notes column only, not the ids
    print_css = (TEMPLATES_DIR / "html" / "alliance" / "print.css").read_text(encoding="utf-8")
    assert "min-width: 0 !important" in print_css  # lifted when printed: the print rules fit tables to the page
