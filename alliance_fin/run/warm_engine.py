"""papermill's ``warm`` engine, importable while papermill itself is still importing.

papermill loads the ``papermill.engine`` entry points at the end of importing
``papermill.engines``, and :mod:`alliance_fin.run.warm` imports papermill: were the entry point
to name a class there, importing that module first would import itself half-built. So this
module imports nothing heavy; :class:`WarmEngine` forwards every attribute papermill asks for
(``execute_notebook``, ``nb_kernel_name``, ``nb_language``...) to the real engine, built on first
use: papermill's ``NBClientEngine`` with :class:`alliance_fin.run.warm.WarmKernelManager`
kernels.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["WarmEngine"]


@functools.cache
def _engine() -> type:
    from papermill.engines import NBClientEngine

    from alliance_fin.run.warm import WarmKernelManager

    class _WarmNBClientEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            kwargs["kernel_manager_class"] = WarmKernelManager
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return _WarmNBClientEngine


class _Forward(type):
    def __getattr__(cls, name: str) -> Any:
        return getattr(_engine(), name)


class WarmEngine(metaclass=_Forward):
    """papermill's nbclient engine with kernels forked by the warm zygote (engine name ``warm``)."""
