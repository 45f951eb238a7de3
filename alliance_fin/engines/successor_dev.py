"""Development a cut model's successor would have needed: what trimming avoids (scheme basis).

One definition for the trimming engine and any reader of the savings: a cut model that some row
``replaces`` has its successor in the line-up, so nothing is avoided; otherwise the successor not
developed would have cost what the cut model costs under the scheme (``D`` less its development
saving), not its standalone ``D``.

Units: money in EUR millions (``*_eur_m``), years as calendar years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_fin.engines.lineup import successor_ids
from alliance_fin.engines.savings_core import calc_core, prepare, scenario_params
from alliance_fin.errors import ParameterError

__all__ = ["calc_avoided_successor_dev"]


def calc_avoided_successor_dev(
    lineup: pd.DataFrame, assumptions: Mapping[str, float], cut_model_ids: Sequence[str] | set[str]
) -> pd.DataFrame:
    """Development investment avoided because a cut model gets no successor.

    A cut model that some row ``replaces`` has its successor in the line-up: nothing is avoided.
    Otherwise the successor not developed would have cost what the cut model costs under the
    scheme (``scheme_dev_eur_m`` = D - its development saving; a follower's is small), not its
    standalone D. Reported apart from the scheme savings; not part of ``total_savings_eur_m``.

    Returns
    -------
    pandas.DataFrame
        Index ``model_id`` (line-up order, cut models only); columns ``member, family_id,
        segment, region`` (str), ``end_year`` (int, effective), ``successor_launch_year``
        (effective end_year + 1), ``has_successor`` (bool), ``standalone_dev_eur_m``,
        ``scheme_dev_eur_m`` and ``avoided_dev_eur_m`` (EUR m, one-off; 0 with a successor).

    Raises
    ------
    ParameterError
        A cut id is not in the line-up.
    """
    prep = prepare(lineup)
    ids = pd.Index(pd.unique(pd.Series(list(cut_model_ids), dtype="str")))
    unknown = ids.difference(pd.Index(prep.frame["model_id"]))
    if len(unknown):
        raise ParameterError("unknown cut models", [f"model_id {m!r} is not in the line-up" for m in unknown])
    core = calc_core(prep, scenario_params(prep, assumptions))
    mask = prep.frame["model_id"].isin(ids).to_numpy()
    out = prep.frame.loc[mask, ["model_id", "member", "family_id", "segment", "region"]].copy()
    out["end_year"] = prep.end[mask].astype("int64")
    out["successor_launch_year"] = out["end_year"] + 1
    out["has_successor"] = successor_ids(lineup).to_numpy()[mask]
    out["standalone_dev_eur_m"] = core["dev"][mask, 0]
    out["scheme_dev_eur_m"] = (core["dev"] - core["dev_saving"])[mask, 0]
    out["avoided_dev_eur_m"] = np.where(out["has_successor"], 0.0, out["scheme_dev_eur_m"])
    return out.set_index("model_id")

