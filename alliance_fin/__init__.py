"""alliance_fin: reports on the Renault-Nissan-Mitsubishi Alliance leader-follower plan."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
