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
import os
import sys
from typing import Any

__all__ = ["WarmEngine", "check_kernel", "kernel_problems"]


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
    """Refuse a kernel the warm engine cannot stand in for: one that is not this Python's ipykernel.

    The warm engine executes in this interpreter, so it can honour a kernel spec only when that
    kernel would run this same Python.

    Raises
    ------
    jupyter_client.kernelspec.NoSuchKernel
        No kernel spec of that name (as the kernel engine would raise).
    ValueError
        The kernel is another language or another interpreter.
    """
    if not kernel_name:
        return
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(kernel_name)
    program = spec.argv[0] if spec.argv else ""
    try:
        same = os.path.samefile(program, sys.executable)
    except OSError:
        same = program in ("python", "python3") and spec.language.lower() == "python"
    if spec.language.lower() != "python" or not same:
        raise ValueError(f"the warm engine executes notebooks in this Python ({sys.executable}); kernel "
                         f"{kernel_name!r} runs {program or '?'} ({spec.language}): use the kernel engine")


def kernel_problems(kernel_name: str) -> list[str]:
    """:func:`check_kernel` as the runner's problem list: empty, or one sentence."""
    from jupyter_client.kernelspec import NoSuchKernel

    try:
        check_kernel(kernel_name)
    except NoSuchKernel:
        return [f"--engine warm: no Jupyter kernel named {kernel_name!r} (run `make setup`, or use --engine kernel)"]
    except ValueError as exc:
        return [f"--engine warm: {exc}"]
    return []
