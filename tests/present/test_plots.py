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
    cuts = [line for line in ax.get_lines() if line.get_label() == "models cut that year"]
    assert len(cuts) == 1 and list(cuts[0].get_xdata()) == [2022] and list(cuts[0].get_ydata()) == [1]
    assert "4 models" in ax.get_title()


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
    assert height <= 12  # the per-model chart grows 0.16 in per model; the counts chart does not


def test_packaged_lineup_timeline_counts_models():
    report = af.build_milestones_report()
    assert len(report.tables["timeline"]) > TIMELINE_MAX_MODELS
    assert report.sections["timeline"].plot == "plot_timeline_counts"
