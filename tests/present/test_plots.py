"""Charts: the timeline's aggregate view for long line-ups (one bar per model stops at 60)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import alliance_fin as af  # noqa: E402
from alliance_fin.present import plots  # noqa: E402
from alliance_fin.present.milestones import TIMELINE_MAX_MODELS  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gantt() -> pd.DataFrame:
    # Renault on sale 2020-2022 and 2022-2023 (cut from 2022); Nissan 2021 only; a non-member 2023.
    return pd.DataFrame({
        "label": ["Ren A", "Nis B", "Ren C", "Oth D"],
        "member": ["Renault", "Nissan", "Renault", "Other"],
        "start": [2020, 2021, 2022, 2023],
        "end": [2022, 2021, 2023, 2023],
        "cut_year": [np.nan, np.nan, 2022.0, np.nan],
    })


def test_timeline_counts_stacks_models_on_sale_by_member_and_marks_cuts():
    ax = plots.plot_timeline_counts(_gantt(), start_year=2020, end_year=2025)
    heights = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
    # years 2020..2023
    assert heights == {"Renault": [1, 1, 2, 1], "Nissan": [0, 1, 0, 0], "other": [0, 0, 0, 1]}
    cuts = [t for t in ax.texts if t.get_text().endswith(" cut")]  # a count over the bar, not a free mark
    assert [(t.get_text(), t.xy) for t in cuts] == [("1 cut", (2022, 2.0))]
    assert "4 models" in ax.get_title()


def _labels_px(ax) -> float:
    """Tick-label height in pixels at the figure's dpi (points / 72 * dpi)."""
    sizes = [t.get_fontsize() for t in ax.get_yticklabels()] or [0.0]
    return min(sizes) / 72 * ax.figure.dpi


def test_timeline_labels_are_readable_and_a_cut_at_launch_is_a_bar_not_a_lone_mark():
    gantt = pd.DataFrame({
        "label": ["Ren A", "Ren B (cut at launch)", "Nis C"], "member": ["Renault", "Renault", "Nissan"],
        "start": [2018, 2022, 2019], "end": [2024, 2021, 2021], "cut_year": [np.nan, 2022.0, 2022.0]})
    ax = plots.plot_timeline(gantt, start_year=2020, end_year=2025)
    assert _labels_px(ax) >= 11  # about 7 px before (issue 15)
    bars = [p for p in ax.patches if p.get_y() < 1.5 and p.get_y() > 0.5]  # row 1: the model cut at launch
    assert len(bars) == 1 and bars[0].get_width() == 1 and bars[0].get_hatch() == "///"
    assert any(t.get_text() == "cut at launch" for t in ax.texts)
    marks = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert [list(m.get_ydata()) for m in marks] == [[2]]  # only the model cut after it went on sale
    plt.close(ax.figure)


SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "small_lineup.csv"


def _long_lineup(n_extra: int) -> pd.DataFrame:
    lineup = af.load_lineup(SMALL)
    if not n_extra:
        return lineup
    extra = lineup[lineup["role"] == "standalone"].head(1)
    copies = pd.concat([extra] * n_extra, ignore_index=True)
    copies["model_id"] = [f"X{i:03d}" for i in range(n_extra)]
    return pd.concat([lineup, copies], ignore_index=True)


@pytest.mark.parametrize(("n_extra", "plot"), [
    pytest.param(0, "plot_timeline", id="8-models-one-bar-each"),
    pytest.param(TIMELINE_MAX_MODELS - 8, "plot_timeline", id="60-models-one-bar-each"),
    pytest.param(TIMELINE_MAX_MODELS - 8 + 1, "plot_timeline_counts", id="61-models-counted"),
])
def test_milestones_timeline_switches_to_counts_above_the_limit(n_extra, plot):
    report = af.build_milestones_report(lineup=_long_lineup(n_extra))
    section = report.sections["timeline"]
    assert section.plot == plot
    assert ("one bar per model would be unreadable" in section.reading) == (plot == "plot_timeline_counts")
    ax = getattr(plots, plot)(report.tables["timeline"], **section.plot_kwargs)
    width, height = ax.figure.get_size_inches()
    assert height <= 20  # the per-model chart grows 0.3 in per model (9 pt labels); the counts chart does not


def test_packaged_lineup_timeline_counts_models():
    report = af.build_milestones_report()
    assert len(report.tables["timeline"]) > TIMELINE_MAX_MODELS
    assert report.sections["timeline"].plot == "plot_timeline_counts"


def _report_figures():
    """Every chart of every report on the packaged data, drawn as ``show`` draws it."""
    from alliance_fin.present.display import section_figure
    from alliance_fin.registry import REPORT_SPECS

    for name, spec in REPORT_SPECS.items():
        report = spec.build_function()()
        for key in report.sections:
            fig = section_figure(report, key)
            if fig is not None:
                yield f"{name}:{key}", fig


def test_every_chart_fits_its_figure():
    """The PNG is the figure at its own size (no tight bounding box, see display_figure), so what
    ``bbox_inches="tight"`` would have added, a title, label, note or legend reaching past the
    edge, must not exist: the figure's tight bounds lie within the figure."""
    checked = 0
    for where, fig in _report_figures():
        fig.canvas.draw()
        tight = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
        w, h = fig.get_size_inches()
        slack = 1.5 / fig.dpi  # a pixel and a half
        assert tight.x0 >= -slack and tight.y0 >= -slack and tight.x1 <= w + slack and tight.y1 <= h + slack, (
            f"{where}: drawn content spans {tight} in a {w} x {h} in figure")
        plt.close(fig)
        checked += 1
    assert checked >= 10
