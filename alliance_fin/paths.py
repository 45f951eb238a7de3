"""Project paths, in one place. Nothing here touches the file system at import."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DATA_DIR = PACKAGE_DIR / "data"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
REPORTS_DIR = PROJECT_ROOT / "reports"

LINEUP_CSV = DATA_DIR / "lineup.csv"
ASSUMPTIONS_CSV = DATA_DIR / "assumptions.csv"
SOURCES_CSV = DATA_DIR / "sources.csv"
FAMILIES_CSV = DATA_DIR / "families.csv"
