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
import sys
from typing import Any

__all__ = ["WarmEngine", "check_kernel"]


@functools.cache
def _engine() -> type:
    from alliance_fin.run.warm import InProcessEngine

    return InProcessEngine


class _Forward(type):
    def __getattr__(cls, name: str) -> Any:
        return getattr(_engine(), name)


class WarmEngine(metaclass=_Forward):
    """papermill's engine ``warm``: the notebook is executed in this process (see :mod:`alliance_fin.run.warm`)."""


def check_kernel(kernel_name: str | None) -> None:
    """Refuse a kernel the warm engine cannot stand in for: one of another language than Python.

    The warm engine executes in this interpreter whatever Python the kernel spec names (the
    runner's report processes are this Python by construction); a name with no kernel spec is
    no obstacle, since no kernel is started.

    Raises
    ------
    ValueError
        The kernel spec is for another language.
    """
    if not kernel_name:
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return
    if spec.language.lower() != "python":
        raise ValueError(f"the warm engine executes notebooks in this Python ({sys.executable}); kernel "
                         f"{kernel_name!r} is for {spec.language}: use another papermill engine")
