"""What a trimming is worth over the report window: successor development avoided, contribution lost.

Pure: per-cut-model frames in, frames out (used by :func:`alliance_fin.engines.trimming.calc_trimming`).
Method (``docs/methodology.md``, "Range trimming"):

- *Avoided development*: a cut model that no model ``replaces`` gets no successor; the successor
  would have cost the cut model's investment under the scheme (``scheme_dev_eur_m``, from the
  savings engine), spent evenly over the ``dev_lead_years`` before the successor's launch
  (the cut model's effective end year + 1). Only the part spent inside the window counts.
- *Lost contribution*: the cut volume that does not migrate (units/year) loses
  ``contribution_margin_rate`` x unit cost ``C`` (EUR/vehicle) per vehicle, each year from the
  cut model's first year without it to the window end (or, when the model has a successor in the
  line-up, to the year before that successor launches).
- ``net_trimming_benefit_eur_m`` = avoided development - lost contribution, over the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_fin.engines.savings_core import dev_share


def calc_trimming_value(cuts: pd.DataFrame, *, dev_lead_years: float, contribution_margin_rate: float,
                        start_year: int, end_year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Avoided development and lost contribution per cut model and per year of the window.

    Parameters
    ----------
    cuts : DataFrame
        Index ``model_id`` (cut models); columns ``avoided_dev_eur_m`` (EUR m, one-off; 0 with a
        successor), ``successor_launch_year`` (int), ``has_successor`` (bool),
        ``cut_from_year`` (int, first year without the model), ``lost_volume`` (units/year),
        ``unit_cost_eur`` (EUR/vehicle).
    dev_lead_years : float
        Years of development before a launch (> 0).
    contribution_margin_rate : float
        Contribution per vehicle as a share of its unit cost ``C`` (decimal).
    start_year, end_year : int
        Window, inclusive.

    Returns
    -------
    (per_model, by_year) : tuple of DataFrame
        ``per_model``: index ``model_id``; ``avoided_dev_window_eur_m``,
        ``lost_contribution_eur_m_per_year`` (EUR m per year lost), ``lost_years`` (int, in the
        window), ``lost_contribution_window_eur_m``, ``net_benefit_window_eur_m`` (EUR m).
        ``by_year``: index ``year`` (start..end); ``avoided_dev_eur_m``,
        ``lost_contribution_eur_m``, ``net_benefit_eur_m`` (EUR m in the year).
    """
    years = np.arange(start_year, end_year + 1, dtype=float)
    launch = cuts["successor_launch_year"].to_numpy(dtype=float)[:, None]
    avoided = cuts["avoided_dev_eur_m"].to_numpy(dtype=float)[:, None] * dev_share(
        launch, float(dev_lead_years), years, years + 1.0)  # (n_cuts, n_years)
    first = cuts["cut_from_year"].to_numpy(dtype=float)[:, None]
    last = np.where(cuts["has_successor"].to_numpy(dtype=bool), launch[:, 0] - 1, float(end_year))[:, None]
    lost_on = (years >= first) & (years <= last)
    per_year = contribution_margin_rate * cuts["unit_cost_eur"].to_numpy(dtype=float) \
        * cuts["lost_volume"].to_numpy(dtype=float) / 1e6  # EUR m per year
    lost = lost_on * per_year[:, None]
    per_model = pd.DataFrame({
        "avoided_dev_window_eur_m": avoided.sum(axis=1),
        "lost_contribution_eur_m_per_year": per_year,
        "lost_years": lost_on.sum(axis=1).astype("int64"),
        "lost_contribution_window_eur_m": lost.sum(axis=1),
    }, index=cuts.index)
    per_model["net_benefit_window_eur_m"] = (per_model["avoided_dev_window_eur_m"]
                                             - per_model["lost_contribution_window_eur_m"])
    by_year = pd.DataFrame({"avoided_dev_eur_m": avoided.sum(axis=0),
                            "lost_contribution_eur_m": lost.sum(axis=0)},
                           index=pd.Index(years.astype("int64"), name="year"))
    by_year["net_benefit_eur_m"] = by_year["avoided_dev_eur_m"] - by_year["lost_contribution_eur_m"]
    return per_model, by_year
