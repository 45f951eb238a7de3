"""Project paths, in one place.

The notebooks and templates live at the repository's top level; a wheel carries copies in
``alliance_fin/_resources/`` (see ``setup.py``). The only file-system access here is the one
check of which layout this is, made at import.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DATA_DIR = PACKAGE_DIR / "data"
_BUNDLED = PACKAGE_DIR / "_resources"

#: True inside an installed wheel (resources bundled), False in a repository checkout.
INSTALLED = (_BUNDLED / "notebooks").is_dir()
NOTEBOOKS_DIR = (_BUNDLED if INSTALLED else PROJECT_ROOT) / "notebooks"
TEMPLATES_DIR = (_BUNDLED if INSTALLED else PROJECT_ROOT) / "templates"
#: Default output folder: the repository's reports/, or ./reports from wherever a wheel runs.
REPORTS_DIR = (Path.cwd() if INSTALLED else PROJECT_ROOT) / "reports"

LINEUP_CSV = DATA_DIR / "lineup.csv"
ASSUMPTIONS_CSV = DATA_DIR / "assumptions.csv"
SOURCES_CSV = DATA_DIR / "sources.csv"
FAMILIES_CSV = DATA_DIR / "families.csv"
