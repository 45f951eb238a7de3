"""Seaborn charts for the reports: ``plot_x(data, *, ax=None) -> Axes``.

Each function draws on the given axes (or a new figure sized for a report page) and returns
them; nothing here saves or shows a figure. Units and sources go in the titles and notes.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.ticker import FuncFormatter, PercentFormatter
from seaborn.utils import relative_luminance

from alliance_fin.registry import label

MEMBER_COLORS = {"Renault": "#F2B705", "Nissan": "#C3002F", "Mitsubishi": "#4D4D4D"}
CATEGORY_COLORS = {"development": "#1F3864", "production": "#2E75B6", "other": "#9DC3E6"}
#: Waterfall bars: totals, and a change in the good or the bad direction (a saving, a loss).
WATERFALL_COLORS = {"total": "#1F3864", "good": "#70AD47", "bad": "#C00000"}
#: Share paths, one colour per metric in the table's order (its straight path dashed in the same colour).
SHARE_PATH_COLORS = ("#1F3864", "#C00000", "#70AD47", "#7030A0")
STATUS_COLORS = {"met": "#2E7D32", "on track": "#66BB6A", "at risk": "#F9A825", "missed": "#C62828"}
FIGSIZE = (8.0, 4.2)
SOURCE_NOTE = "Illustrative line-up; assumptions in the Assumptions sheet of the workbook."
#: Space between the drawing and the figure's edge, in font sizes (tight layout's ``pad``).
LAYOUT_PAD = 0.4


def _axes(ax: Axes | None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    if ax is not None:
        return ax
    sns.set_theme(style="whitegrid", context="notebook")
    # No layout engine: a figure with one is laid out and drawn once more each time it is printed
    # (matplotlib's print_figure); _chart lays it out once, when it is complete. The title at a
    # fixed height (where matplotlib would put it: no tick labels above the axes) spares each
    # draw the search for what it might overlap, which measures every tick label.
    with plt.rc_context({"axes.titley": 1.0}):
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _fit(fig: Figure) -> None:
    """Lay ``fig`` out once to its size: titles, labels, legends and the note inside the edge."""
    TightLayoutEngine(pad=LAYOUT_PAD, rect=None).execute(fig)


def _chart(plot: Callable[..., Axes]) -> Callable[..., Axes]:
    """A ``plot_x`` function that lays out the figure it creates (not one the caller passes in)."""
    @functools.wraps(plot)
    def draw(*args, ax: Axes | None = None, **kwargs) -> Axes:
        out = plot(*args, ax=ax, **kwargs)
        if ax is None:
            _fit(out.figure)
        return out

    return draw


def _money(unit: str) -> FuncFormatter:
    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _note(ax: Axes, text: str = SOURCE_NOTE, fontsize: float = 8) -> None:
    # supxlabel gets its own space in the layout (_fit), so it never overlaps tick labels;
    # wrapped to the figure's width (about 0.55 em per character), so it is never cut at the edge
    width = int(ax.figure.get_figwidth() * 72 / (fontsize * 0.55))
    ax.figure.supxlabel(textwrap.fill(text, width), x=0.01, ha="left", fontsize=fontsize, color="#666666")


@_chart
def plot_savings_by_member(by_member: pd.DataFrame, *, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Stacked bars of window savings per member and category.

    Parameters
    ----------
    by_member : DataFrame
        Columns ``member``, ``category``, ``saving`` (report currency, millions).
    """
    ax = _axes(ax)
    wide = by_member.pivot_table(index="member", columns="category", values="saving", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=[c for c in CATEGORY_COLORS if c in wide.columns])
    wide = wide.loc[wide.sum(axis=1).sort_values(ascending=False).index]
    left = np.zeros(len(wide))
    for cat in wide.columns:
        ax.barh(wide.index, wide[cat], left=left, color=CATEGORY_COLORS[cat], label=cat)
        left += wide[cat].to_numpy()
    for y, total in enumerate(left):
        ax.text(total, y, f" {total:,.0f}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_money(currency))
    ax.set_xlabel(f"Savings in the window, {currency} m")
    ax.set_ylabel("")
    ax.set_title("Savings by member and category")
    ax.legend(loc="lower right", frameon=False)
    ax.set_xlim(0, left.max() * 1.15 if len(left) else 1)
    _note(ax)
    return ax


@_chart
def plot_savings_by_year(by_year: pd.DataFrame, *, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Bars of savings per year by category with the cumulative line.

    Parameters
    ----------
    by_year : DataFrame
        Index ``year``; columns ``development``, ``production``, ``other``, ``cumulative``
        (report currency, millions).
    """
    ax = _axes(ax)
    years = by_year.index.astype(str)
    bottom = np.zeros(len(by_year))
    for cat in CATEGORY_COLORS:
        if cat in by_year:
            ax.bar(years, by_year[cat], bottom=bottom, color=CATEGORY_COLORS[cat], label=cat)
            bottom += by_year[cat].to_numpy()
    ax.yaxis.set_major_formatter(_money(currency))
    ax.set_ylabel(f"{currency} m per year")
    ax2 = ax.twinx()
    ax2.plot(years, by_year["cumulative"], color="#C00000", marker="o", label="cumulative (right)")
    ax2.yaxis.set_major_formatter(_money(currency))
    ax2.set_ylabel(f"cumulative, {currency} m")
    ax2.grid(False)
    ax2.set_ylim(0, by_year["cumulative"].max() * 1.1 if len(by_year) else 1)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=4, frameon=False,
              fontsize=8)
    ax.set_title("Savings by year")
    _note(ax)
    return ax


@_chart
def plot_waterfall(waterfall: pd.DataFrame, *, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Waterfall from standalone to scheme development investment.

    Parameters
    ----------
    waterfall : DataFrame
        Columns ``step`` (label), ``value`` (report currency, millions; negative for savings),
        ``kind`` (``total`` or ``delta``), in drawing order.
    """
    ax = _axes(ax)
    running = 0.0
    for i, rec in enumerate(waterfall.itertuples(index=False)):
        if rec.kind == "total":
            ax.bar(i, rec.value, color=WATERFALL_COLORS["total"])
            running = rec.value
            ax.text(i, rec.value, f"{rec.value:,.0f}", ha="center", va="bottom", fontsize=8)
        else:
            bottom = running + min(rec.value, 0)
            ax.bar(i, abs(rec.value), bottom=bottom,
                   color=WATERFALL_COLORS["good"] if rec.value < 0 else WATERFALL_COLORS["bad"])
            ax.text(i, running, f"{rec.value:,.0f}", ha="center", va="bottom", fontsize=8)
            running += rec.value
    ax.set_xticks(range(len(waterfall)), [str(s).replace(" ", "\n", 1) for s in waterfall["step"]], fontsize=8)
    ax.yaxis.set_major_formatter(_money(currency))
    ax.set_ylabel(f"Development investment, {currency} m")
    ax.set_title("From standalone to leader-follower development investment")
    _note(ax)
    return ax


@_chart
def plot_sensitivity_heatmap(grid: pd.DataFrame, *, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Heatmap of window savings over two assumptions.

    Parameters
    ----------
    grid : DataFrame
        Index: values of the row assumption (decimal rates); columns: values of the column
        assumption; cells: savings in the window (report currency, millions).
    """
    ax = _axes(ax, (7.0, 4.2))
    # drawn as seaborn's heatmap draws it (same mesh, colour bar, labels and annotation colours),
    # without the whole extra draw seaborn makes to see whether tick labels overlap: a grid this
    # size never needs them turned
    values = np.ma.masked_invalid(grid.to_numpy(dtype=float))
    n_rows, n_cols = values.shape
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    mesh = ax.pcolormesh(values, cmap="Blues", vmin=values.min(), vmax=values.max(), edgecolor="white",
                         linewidths=0)
    ax.set(xlim=(0, n_cols), ylim=(0, n_rows))
    ax.invert_yaxis()
    ax.figure.colorbar(mesh, ax=ax, label=f"{currency} m").outline.set_linewidth(0)
    ax.set_xticks(np.arange(n_cols) + 0.5, [f"{v:.0%}" for v in grid.columns])
    ax.set_yticks(np.arange(n_rows) + 0.5, [f"{v:.0%}" for v in grid.index], rotation="vertical", va="center")
    mesh.update_scalarmappable()
    for k, (value, color) in enumerate(zip(values.flat, mesh.get_facecolors(), strict=True)):
        if value is not np.ma.masked:
            ax.text(k % n_cols + 0.5, k // n_cols + 0.5, f"{value:,.0f}", ha="center", va="center", fontsize=8,
                    color=".15" if relative_luminance(color) > 0.408 else "w")
    ax.set_ylabel(label(str(grid.index.name or "rows")))
    ax.set_xlabel(label(str(grid.columns.name or "columns")))
    ax.set_title(f"Savings in the window ({currency} m) by assumption pair")
    return ax


@_chart
def plot_tornado(tornado: pd.DataFrame, *, currency: str = "EUR", base: float | None = None,
                 ax: Axes | None = None) -> Axes:
    """Tornado of window savings with each assumption at -/+ swing.

    Parameters
    ----------
    tornado : DataFrame
        Columns ``assumption`` (readable label; else ``key``), ``total_low``, ``total_high`` (report
        currency, millions), largest range first.
    """
    ax = _axes(ax)
    data = tornado.iloc[::-1]
    ref = base if base is not None else float((data["total_low"] + data["total_high"]).mean() / 2)
    for y, rec in enumerate(data.itertuples(index=False)):
        ax.barh(y, rec.total_low - ref, left=ref, color="#9DC3E6")
        ax.barh(y, rec.total_high - ref, left=ref, color="#1F3864")
    ax.axvline(ref, color="black", linewidth=0.8)
    names = data["assumption"] if "assumption" in data.columns else data["key"]
    ax.set_yticks(range(len(data)), names, fontsize=9)
    ax.xaxis.set_major_formatter(_money(currency))
    ax.set_xlabel(f"Savings in the window, {currency} m\n(light: assumption -20%, dark: +20%)")
    ax.set_title("What moves the total most")
    return ax


@_chart
def plot_counts_before_after(before_after: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Grouped bars of model counts before and after trimming.

    Parameters
    ----------
    before_after : DataFrame
        Columns ``member`` (or ``value``, any group), ``before``, ``after``.
    """
    ax = _axes(ax)
    group = "member" if "member" in before_after.columns else "value"
    long = before_after.melt(id_vars=group, value_vars=["before", "after"], var_name="line-up",
                             value_name="models")
    sns.barplot(long, x=group, y="models", hue="line-up", palette=["#9DC3E6", "#1F3864"], ax=ax)
    for container in ax.containers:
        ax.bar_label(container, fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel("models")
    ax.set_title("Models before and after trimming")
    _note(ax)
    return ax


@_chart
def plot_share_paths(paths: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Actual shares by year against their straight paths to target.

    Parameters
    ----------
    paths : DataFrame
        Columns ``year``, ``metric`` (label), ``actual``, ``path`` (decimal shares), ``target``,
        ``target_year``, ``status``.
    """
    ax = _axes(ax)
    for i, (metric, grp) in enumerate(paths.groupby("metric", sort=False)):
        color = SHARE_PATH_COLORS[i % len(SHARE_PATH_COLORS)]
        ax.plot(grp["year"], grp["actual"], marker="o", color=color, label=f"{metric}")
        ax.plot(grp["year"], grp["path"], linestyle="--", color=color, alpha=0.6, label=f"{metric}: path")
        tgt = grp.iloc[0]
        ax.scatter([tgt["target_year"]], [tgt["target"]], marker="*", s=160, color=color, zorder=5)
        # one collection of status dots a metric (drawn in the same order as one dot at a time)
        ax.scatter(grp["year"], grp["actual"], s=30, color=[STATUS_COLORS.get(s, color) for s in grp["status"]],
                   zorder=6)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("")
    ax.set_ylabel("share")
    ax.set_title("Shares against the straight path to each target (star = target)")
    # below the axes, where it cannot cover a line (the layout counts it in the axes' bounds)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=7, frameon=False)
    _note(ax, "Dot colour = status (green met/on track, amber at risk, red missed). " + SOURCE_NOTE)
    return ax


@_chart
def plot_timeline(gantt: pd.DataFrame, *, start_year: int, end_year: int, ax: Axes | None = None) -> Axes:
    """Gantt-style bars of each model's years on sale, coloured by member; cuts marked.

    The figure grows with the line-up (0.3 inch per model, labels at 9 pt): beyond a few dozen
    models use :func:`plot_timeline_counts` (the milestones report switches above
    ``TIMELINE_MAX_MODELS``). A model cut at (or before) its launch never goes on sale: it is drawn
    as an outlined, hatched one-year bar at its planned launch with "cut at launch" beside it, not as a
    lone mark.

    Parameters
    ----------
    gantt : DataFrame
        Columns ``label``, ``member``, ``start``, ``end`` (years), ``cut_year`` (NaN if none).
    """
    height = max(4.0, 0.3 * len(gantt) + 1.2)
    ax = _axes(ax, (9.0, height))
    data = gantt.reset_index(drop=True)
    for y, rec in enumerate(data.itertuples(index=False)):
        color = MEMBER_COLORS.get(rec.member, "#888888")
        if rec.end < rec.start:  # cut at launch: planned, never on sale
            ax.barh(y, 1, left=rec.start, height=0.7, facecolor="white", edgecolor=color, hatch="///",
                    linestyle="--")
            ax.text(rec.start + 1.15, y, "cut at launch", va="center", fontsize=8, color="#444444")
            continue
        ax.barh(y, rec.end - rec.start + 1, left=rec.start, color=color, height=0.7)
        if pd.notna(rec.cut_year):
            ax.plot([rec.cut_year + 0.5], [y], marker="x", color="black", markersize=7)
    ax.set_yticks(range(len(data)), data["label"], fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    ax.invert_yaxis()
    ax.axvspan(start_year, end_year + 1, color="#EEEEEE", zorder=0)
    ax.set_xlabel("year (grey: report window; x: first year without the model, cut by trimming; "
                  "hatched: cut at launch)", fontsize=9)
    ax.set_title("Models on sale by year")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in MEMBER_COLORS.values()]
    ax.legend(handles, MEMBER_COLORS.keys(), fontsize=9, frameon=False, loc="lower left")
    return ax


@_chart
def plot_timeline_counts(gantt: pd.DataFrame, *, start_year: int, end_year: int, ax: Axes | None = None) -> Axes:
    """Stacked bars of the number of models on sale each year by member, with cuts per year.

    The aggregate view of :func:`plot_timeline` for line-ups too long for one bar per model.

    Parameters
    ----------
    gantt : DataFrame
        Columns ``member``, ``start``, ``end`` (years), ``cut_year`` (NaN if none); one row per model.
    """
    ax = _axes(ax)
    start = gantt["start"].to_numpy(dtype="int64")
    end = gantt["end"].to_numpy(dtype="int64")
    years = np.arange(start.min(), end.max() + 1) if len(gantt) else np.arange(start_year, end_year + 1)
    on_sale = (start[:, None] <= years) & (years <= end[:, None])  # models x years
    member = gantt["member"].astype(str).to_numpy()
    groups = [(m, c) for m, c in MEMBER_COLORS.items() if (member == m).any()]
    if not np.isin(member, list(MEMBER_COLORS)).all():
        groups.append(("other", "#888888"))
    bottom = np.zeros(len(years))
    for name, color in groups:
        rows = ~np.isin(member, list(MEMBER_COLORS)) if name == "other" else member == name
        counts = on_sale[rows].sum(axis=0)
        ax.bar(years, counts, bottom=bottom, color=color, label=name, width=0.8)
        bottom += counts
    # cuts as a count written over that year's bar: a mark at a height of "n cuts" on a count axis
    # would read as a lone point, and a model cut at launch never has a bar of its own
    cuts = gantt["cut_year"].dropna().astype("int64").value_counts().sort_index()
    tops = dict(zip(years.tolist(), bottom.tolist(), strict=True))
    for year, n in cuts.items():
        if int(year) in tops:
            ax.annotate(f"{n} cut", (year, tops[int(year)]), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, color="#333333", rotation=90)
    if len(bottom):
        ax.set_ylim(0, bottom.max() * 1.22)
    # the decades of old models before the window only squeeze the bars that matter
    ax.set_xlim(max(years.min(), start_year - 12) - 0.6, years.max() + 0.6)
    ax.axvspan(start_year - 0.5, end_year + 0.5, color="#EEEEEE", zorder=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("year (grey: report window; 'n cut': models trimming removes from that year)", fontsize=10)
    ax.set_ylabel("models on sale", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.set_title(f"Models on sale by year ({len(gantt):,} models, counted by member)")
    ax.legend(fontsize=9, frameon=False, loc="upper left")
    _note(ax, "Too many models for one bar each: every model, with its years, is in the workbook. " + SOURCE_NOTE)
    return ax


@_chart
def plot_savings_bridge(bridge: pd.DataFrame, *, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Waterfall from planned to realised window savings by cause (plan against outcome).

    Unlike :func:`plot_waterfall` (investment, where a fall is a saving and drawn green), here a
    fall is savings lost: causes that lower the total are red, those that raise it green.

    Parameters
    ----------
    bridge : DataFrame
        Columns ``label``, ``value`` (report currency, millions: totals for the first and last
        rows, changes for the causes), ``kind`` (``total`` or ``delta``), in drawing order.
    """
    ax = _axes(ax)
    running = 0.0
    for i, rec in enumerate(bridge.itertuples(index=False)):
        if rec.kind == "total":
            ax.bar(i, rec.value, color=WATERFALL_COLORS["total"])
            running = rec.value
            ax.text(i, rec.value, f"{rec.value:,.0f}", ha="center", va="bottom", fontsize=8)
        else:
            bottom = running + min(rec.value, 0)
            ax.bar(i, abs(rec.value), bottom=bottom,
                   color=WATERFALL_COLORS["bad"] if rec.value < 0 else WATERFALL_COLORS["good"])
            ax.text(i, max(running, running + rec.value), f"{rec.value:+,.0f}", ha="center", va="bottom", fontsize=8)
            running += rec.value
    labels = [str(s).split(" (")[0].replace(" ", "\n", 1) for s in bridge["label"]]
    ax.set_xticks(range(len(bridge)), labels, fontsize=8)
    ax.yaxis.set_major_formatter(_money(currency))
    ax.set_ylabel(f"Savings in the window, {currency} m")
    ax.set_title("From planned to realised savings, by cause")
    _note(ax)
    return ax
