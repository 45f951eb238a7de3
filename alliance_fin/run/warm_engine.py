"""papermill's ``warm`` engine, importable while papermill itself is still importing.

papermill loads the ``papermill.engine`` entry points at the end of importing
``papermill.engines``, and :mod:`alliance_fin.run.warm` imports papermill: were the entry point
to name a class there, importing that module first would import itself half-built. So this
module imports nothing heavy; :class:`WarmEngine` forwards every attribute papermill asks for
(``execute_notebook``, ``nb_kernel_name``, ``nb_language``...) to the real engine,
:class:`alliance_fin.run.warm.InProcessEngine`, imported on first use.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["WarmEngine"]


@functools.cache
def _engine() -> type:
    from alliance_fin.run.warm import InProcessEngine

    return InProcessEngine


class _Forward(type):
    def __getattr__(cls, name: str) -> Any:
        return getattr(_engine(), name)


class WarmEngine(metaclass=_Forward):
    """papermill's engine ``warm``: the notebook is executed in this process (see :mod:`alliance_fin.run.warm`)."""
