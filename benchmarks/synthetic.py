"""Synthetic Alliance line-ups of any size, for benchmarks (shared by every engine's benchmark).

``make_lineup(n)`` returns a frame typed like :func:`alliance_fin.inputs.load.load_lineup` returns it:
text columns ``str`` ("" for empty), ``launch_year``/``end_year`` int64, ``annual_volume`` and
``dev_cost_eur_m`` float64 (NaN = segment default), ``common_platform`` bool. Families have two
or three models with exactly one leader; about a third of the models are standalone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MEMBERS = np.array(["Renault", "Nissan", "Mitsubishi"], dtype=object)
SEGMENTS = np.array(["A", "kei", "B", "C", "D", "pickup", "MPV", "LCV"], dtype=object)
REGIONS = np.array(["EU", "JP", "NA", "LatAm", "IN", "ASEAN", "KR", "Oceania", "Global"], dtype=object)
TRIMS = np.array(["no", "no", "no", "replaced", "yes"], dtype=object)


def make_lineup(n: int, seed: int = 0) -> pd.DataFrame:
    """A valid random line-up of ``n`` models (vectorised, deterministic for a seed).

    Parameters
    ----------
    n : int
        Number of models (>= 1).
    seed : int
        Seed of the numpy random generator.

    Returns
    -------
    pandas.DataFrame
        RangeIndex, one row per model, the packaged line-up's columns without provenance
        columns; model ids ``S0000001``..., family ids ``SF000001``... ("" when standalone).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    rng = np.random.default_rng(seed)
    # Cut the line-up into consecutive blocks of 1-3 models; blocks of 2-3 are families whose
    # first model is the leader.
    sizes = rng.choice([1, 2, 3], size=n, p=[0.4, 0.4, 0.2])
    ends = np.cumsum(sizes)
    sizes = sizes[: np.searchsorted(ends, n) + 1]
    sizes[-1] -= ends[len(sizes) - 1] - n
    block = np.repeat(np.arange(len(sizes)), sizes)
    first = np.r_[True, block[1:] != block[:-1]]
    in_family = np.repeat(sizes >= 2, sizes)
    role = np.where(in_family, np.where(first, "leader", "follower"), "standalone")
    family_id = np.where(in_family, np.char.add("SF", np.char.zfill(block.astype(str), 6)), "")
    # Models of one family share segment and region, as twins do.
    seg = np.repeat(SEGMENTS[rng.integers(0, len(SEGMENTS), len(sizes))], sizes)
    region = np.repeat(REGIONS[rng.integers(0, len(REGIONS), len(sizes))], sizes)
    member = MEMBERS[rng.integers(0, 3, n)]
    launch = rng.integers(2008, 2031, n)
    end = launch + rng.integers(5, 12, n)
    common = in_family | (rng.random(n) < 0.5)
    dev_cost = np.where(rng.random(n) < 0.1, rng.uniform(100, 1500, n).round(), np.nan)
    ids = np.char.add("S", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    text = {
        "model_id": ids,
        "member": member,
        "brand": member,
        "model_name": np.char.add("Model ", ids),
        "segment": seg,
        "body": np.full(n, "SUV"),
        "platform": np.where(common, "CMF-X", "own"),
        "region": region,
        "plant": np.full(n, ""),
    }
    frame = pd.DataFrame({k: pd.array(np.asarray(v, dtype=object), dtype="str") for k, v in text.items()})
    frame["launch_year"] = launch.astype("int64")
    frame["end_year"] = end.astype("int64")
    frame["annual_volume"] = rng.integers(1_000, 400_000, n).astype("float64")
    frame["family_id"] = pd.array(family_id.astype(object), dtype="str")
    frame["role"] = pd.array(role.astype(object), dtype="str")
    frame["common_platform"] = common
    frame["trim"] = pd.array(TRIMS[rng.integers(0, len(TRIMS), n)], dtype="str")
    frame["dev_cost_eur_m"] = dev_cost
    frame["source"] = pd.array(np.full(n, "", dtype=object), dtype="str")
    frame["notes"] = pd.array(np.full(n, "synthetic", dtype=object), dtype="str")
    return frame
