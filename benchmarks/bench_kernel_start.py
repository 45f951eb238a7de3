"""Kernel start-up alone, by engine: a fresh kernel (``kernel``) against the warm engine's start.

Each figure is the median of ``--repeat`` runs of: start a kernel, wait until it answers, run
the reports' imports in it (``run_all.FLOOR_IMPORTS``), shut it down. For the warm engine this
process first imports what the zygote imports (``zygote.preload``, before the clock starts, as in
a sweep after the first job); each run then forks it and starts ipykernel's in-process kernel in
the child, as a warm report process does (:mod:`alliance_fin.run.warm`).

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


def _in_process() -> float:
    read, write = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        from ipykernel.inprocess.manager import InProcessKernelManager

        km = InProcessKernelManager()
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.execute(FLOOR_IMPORTS)
        os.write(write, b"x")
        os._exit(0)
    os.read(read, 1)
    os.waitpid(pid, 0)
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
    exec(FLOOR_IMPORTS)
    for _ in range(args.repeat):  # interleaved, so load changes hit both alike
        times["fresh kernel (kernel engine)"].append(_one(IPCKernelManager))
        times["in-process kernel in a fork of the zygote (warm engine)"].append(_in_process())
    print(f"load average {os.getloadavg()[0]:.2f}; start + imports + shutdown, median of {args.repeat}")
    for name, values in times.items():
        print(f"{name:<56} {statistics.median(values):6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
