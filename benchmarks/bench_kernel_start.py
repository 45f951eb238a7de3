"""Kernel start-up alone, by engine: a fresh kernel (``kernel``) against the warm engine's start.

Each figure is the median of ``--repeat`` runs of: start a kernel, wait until it answers, run
the reports' imports in it (``run_all.FLOOR_IMPORTS``), shut it down. For the warm engine this
process first imports what the zygote imports (``zygote.preload``, before the clock starts, as in
a sweep after the first job); each run then forks it and executes a one-cell notebook of those
imports with papermill's ``warm`` engine in the child, as a warm report process does
(:mod:`alliance_fin.run.warm`): papermill, the in-process kernel, the notebook written.

Usage::

    .venv/bin/python benchmarks/bench_kernel_start.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import FLOOR_IMPORTS  # noqa: E402


def _one(manager_class) -> float:
    """Start a kernel of ``manager_class`` (an AsyncKernelManager), import, shut down: seconds."""
    import asyncio

    async def run() -> float:
        t0 = time.perf_counter()
        km = manager_class(kernel_name="python3")
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=300)
            reply = await kc.execute_interactive(FLOOR_IMPORTS, timeout=300, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", reply["content"]
            return time.perf_counter() - t0
        finally:
            kc.stop_channels()
            await km.shutdown_kernel()

    return asyncio.run(run())


def _in_process(notebook: str, folder: Path) -> float:
    """Fork this (preloaded) process; in the child, execute ``notebook`` with the ``warm`` engine: seconds."""
    read, write = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            import papermill

            import alliance_fin.run.warm  # noqa: F401  (registers the engine)

            papermill.execute_notebook(notebook, str(folder / "warm.out.ipynb"), engine_name="warm",
                                       progress_bar=False, request_save_on_cell_execute=False)
            code = 0
        finally:
            os.write(write, bytes([code]))
            os._exit(code)
    os.close(write)
    ok = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    if ok != b"\x00":
        raise RuntimeError("the warm engine failed to execute the imports")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from alliance_fin.run.execute import KERNEL_DIR_ENV, IPCKernelManager
    from alliance_fin.run.zygote import preload

    folder = Path(tempfile.mkdtemp(prefix="afb-"))
    os.environ[KERNEL_DIR_ENV] = str(folder)
    times: dict[str, list[float]] = {"fresh kernel (kernel engine)": [],
                                     "in-process kernel in a fork of the zygote (warm engine)": []}
    preload()  # this process is now what the zygote is
    import nbformat

    notebook = folder / "imports.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_IMPORTS)], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), str(notebook))
    for _ in range(args.repeat):  # interleaved, so load changes hit both alike
        times["fresh kernel (kernel engine)"].append(_one(IPCKernelManager))
        times["in-process kernel in a fork of the zygote (warm engine)"].append(_in_process(str(notebook), folder))
    print(f"load average {os.getloadavg()[0]:.2f}; start + imports + shutdown, median of {args.repeat}")
    for name, values in times.items():
        print(f"{name:<56} {statistics.median(values):6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
