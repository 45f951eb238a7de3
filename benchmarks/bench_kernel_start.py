"""Kernel start-up alone, by way of starting it: fresh kernel, kernel forked from the zygote, in-process.

Each figure is the median of ``--repeat`` runs of: start a kernel, wait until it answers, run
the reports' imports in it (``run_all.FLOOR_IMPORTS``), shut it down. The zygote is started (and
its imports finished) before the clock starts, as in a sweep after the first job. The in-process
figure forks this (already warm) process and starts ipykernel's ``InProcessKernelManager`` in the
child: the cost of the alternative with no kernel process at all.

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
    from alliance_fin.run.warm import ZYGOTE_ENV, WarmKernelManager, request_kernel
    from alliance_fin.run.zygote import Zygote

    folder = Path(tempfile.mkdtemp(prefix="afb-"))
    os.environ[KERNEL_DIR_ENV] = str(folder)
    zygote = Zygote(folder)
    os.environ[ZYGOTE_ENV] = zygote.address
    request_kernel(zygote.address, ["--version"], str(folder), dict(os.environ)).wait(300)  # imports done
    times: dict[str, list[float]] = {"fresh kernel (kernel engine)": [], "forked from the zygote (warm)": [],
                                     "in-process kernel, forked warm parent": []}
    exec(FLOOR_IMPORTS)  # warm this process for the in-process figure
    try:
        for _ in range(args.repeat):  # interleaved, so load changes hit all three alike
            times["fresh kernel (kernel engine)"].append(_one(IPCKernelManager))
            times["forked from the zygote (warm)"].append(_one(WarmKernelManager))
            times["in-process kernel, forked warm parent"].append(_in_process())
    finally:
        zygote.close()
    print(f"load average {os.getloadavg()[0]:.2f}; start + imports + shutdown, median of {args.repeat}")
    for name, values in times.items():
        print(f"{name:<40} {statistics.median(values):6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
