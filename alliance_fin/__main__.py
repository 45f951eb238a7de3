"""``python -m alliance_fin`` is the same as ``alliance-fin``."""

from alliance_fin.cli import main

raise SystemExit(main())
