"""Shared fixtures: paths from this file, never from the working directory."""

from __future__ import annotations

import signal
from pathlib import Path

import pandas as pd
import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
DATA_CSV = ROOT / "alliance_fin" / "data" / "lineup.csv"


def ctrl_c_as_in_a_terminal() -> None:
    """``preexec_fn`` of a process a test interrupts with SIGINT: Ctrl-C's default action, so that
    Python raises KeyboardInterrupt in it. A suite started in the background by a shell without
    job control (``make test &`` in a script) inherits SIGINT ignored, and Python then keeps it so."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def raw_lineup() -> pd.DataFrame:
    """The packaged line-up as the all-text frame a user's CSV would give."""
    return pd.read_csv(DATA_CSV, dtype=str, keep_default_na=False)
