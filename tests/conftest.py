"""Shared fixtures: paths from this file, never from the working directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
DATA_CSV = ROOT / "alliance_fin" / "data" / "lineup.csv"


@pytest.fixture
def raw_lineup() -> pd.DataFrame:
    """The packaged line-up as the all-text frame a user's CSV would give."""
    return pd.read_csv(DATA_CSV, dtype=str, keep_default_na=False)
