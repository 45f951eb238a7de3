"""Run the four performance benchmarks and print one table: figure, ratio, target, pass/fail.

Usage (``make bench`` runs it with no arguments)::

    .venv/bin/python benchmarks/run_all.py [--repeat 3] [--only suite,warm,scale,engine,scenarios,dask,headlines]
        [--sizes 1000,10000] [--naive-repeat 1] [--seq 6] [--json FILE]

1. suite: wall time of ``alliance-fin run`` (three reports, default data) against, in the same
   invocation, the naive pipeline (``papermill`` CLI then ``jupyter nbconvert --to html
   --no-input`` per notebook, one after another) and the floor (one kernel per report that
   starts and imports the reports' libraries, as many at once as the runner runs reports).
   warm: ``alliance-fin run --engine warm`` against ``--engine kernel`` and the floor, runs
   interleaved, and the 20-scenario sweep of ``grid.yaml`` with each engine (issue 18).
2. scale: the suite on synthetic line-ups (``synthetic.make_lineup``, written as CSV and checked
   with ``alliance-fin validate``): time, peak RSS of the whole process tree (kernels included),
   readable HTML (tables cut, no per-model timeline) and workbooks holding every model.
3. engine: savings, trimming and milestones engines on 100,000 models, in-process.
4. scenarios: the 20 scenarios of ``benchmarks/grid.yaml`` as ``alliance-fin run`` calls, one
   after another (the first ``--seq`` of them, throughput extrapolated) and two at a time.

Every figure is the median of ``--repeat`` runs unless the table says otherwise. Timings on a
shared machine are noisy; the table also prints the load average when the benchmark started.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from alliance_fin.registry import REPORT_SPECS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
#: What ``alliance-fin run`` runs on the packaged data: every report of the registry.
REPORTS = tuple(REPORT_SPECS)
#: The reports that run on a line-up alone (a synthetic CSV has no ``plan`` sheet).
LINEUP_REPORTS = tuple(r for r, spec in REPORT_SPECS.items() if not spec.needs_plan)
MAX_TABLE_ROWS = 60  # alliance_fin.present.display.MAX_ROWS
#: What a report kernel imports before its work: the libraries, then every report's builder and writer.
FLOOR_IMPORTS = (
    "import numpy, pandas, pandera.pandas, matplotlib, matplotlib.pyplot, seaborn, openpyxl, IPython.display\n"
    "import alliance_fin.run.outputs\n"
    + "".join(f"import {spec.builder.split(':')[0]}, {spec.writer.split(':')[0]}\n" for spec in REPORT_SPECS.values())
)
sys.path.insert(0, str(HERE))


@dataclass
class Row:
    """One line of the result table."""

    benchmark: str
    figure: str
    value: str
    ratio: str = ""
    target: str = ""
    ok: bool | None = None


# -- measuring ------------------------------------------------------------------------------------


def measure(cmd: list[str], *, cwd: Path | None = None) -> tuple[float, int]:
    """Run ``cmd``; return wall seconds and peak RSS in bytes summed over its process tree.

    RSS is sampled every 50 ms (kernels and workers are children of the command).
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = psutil.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)
        peak = 0
        while proc.poll() is None:
            total = 0
            try:
                family = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                family = []
            for p in family:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, total)
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{tail}")
    return seconds, peak


def median(values: list[float]) -> float:
    return statistics.median(values)


def _fmt_runs(values: list[float]) -> str:
    return f"{median(values):.2f} s" + (f" (runs {', '.join(f'{v:.1f}' for v in values)})" if len(values) > 1 else "")


# -- 1. suite -------------------------------------------------------------------------------------


def _floor_one(_: int) -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute_interactive(FLOOR_IMPORTS, timeout=300, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"floor kernel failed to import: {reply['content']}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


def floor_main(n: int, jobs: int) -> None:
    """The floor: ``n`` kernels that start and import the reports' libraries, ``jobs`` at once."""
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        pool.map(_floor_one, range(n))


def naive_once(folder: Path) -> float:
    """papermill CLI then nbconvert CLI per notebook, one after another; total wall seconds."""
    folder.mkdir(parents=True)
    total = 0.0
    for report in REPORTS:
        out = folder / f"{report}.ipynb"
        total += measure([BIN / "papermill", ROOT / "notebooks" / REPORT_SPECS[report].notebook, out, "--cwd", folder,
                          "-p", "output_dir", folder, "--no-progress-bar"])[0]
        total += measure([BIN / "jupyter", "nbconvert", "--to", "html", "--no-input", out])[0]
    return total


def bench_suite(tmp: Path, repeat: int, naive_repeat: int) -> list[Row]:
    jobs = min(os.cpu_count() or 1, len(REPORTS))
    run, rss, floor, naive = [], [], [], []
    for i in range(repeat):
        seconds, peak = measure([BIN / "alliance-fin", "run", "--out", tmp / f"suite{i}"])
        run.append(seconds)
        rss.append(peak)
        floor.append(measure([sys.executable, __file__, "--floor", str(len(REPORTS)), str(jobs)], cwd=tmp)[0])
    for i in range(max(1, naive_repeat)):  # the ratio needs at least one
        naive.append(naive_once(tmp / f"naive{i}"))
    r, f, n = median(run), median(floor), median(naive)
    rows = [
        Row("suite", "alliance-fin run, default data", _fmt_runs(run)),
        Row("suite", "naive: papermill + nbconvert CLIs, sequential", _fmt_runs(naive), f"run/naive {r / n:.2f}",
            "<= 0.50", r / n <= 0.5),
        Row("suite", f"floor: {len(REPORTS)} kernels start + import, {jobs} at a time", _fmt_runs(floor),
            f"run/floor {r / f:.2f}", "<= 1.50", r / f <= 1.5),
        Row("suite", "peak RSS of the run (process tree)", f"{median(rss) / 2**20:.0f} MiB"),
    ]
    return rows


def bench_warm(tmp: Path, repeat: int, grid: Path, workers: int) -> list[Row]:
    """``alliance-fin run`` and a sweep with each engine, runs interleaved (issue 18).

    Per repeat, back to back: ``run --engine warm``, ``run --engine kernel``, the kernel floor.
    Then the sweep of ``grid`` (20 savings scenarios) with ``--jobs workers`` per engine.
    """
    jobs = min(os.cpu_count() or 1, len(REPORTS))
    times: dict[str, list[float]] = {"warm": [], "kernel": [], "floor": []}
    for i in range(repeat):
        for engine in ("warm", "kernel"):
            out = tmp / f"engine_{engine}{i}"
            times[engine].append(measure([BIN / "alliance-fin", "run", "--engine", engine, "--out", out])[0])
        times["floor"].append(measure([sys.executable, __file__, "--floor", str(len(REPORTS)), str(jobs)], cwd=tmp)[0])
    w, k, f = (median(times[e]) for e in ("warm", "kernel", "floor"))
    _, scenarios = expand_grid(grid)
    rate = {}
    for engine in ("warm", "kernel"):
        seconds, _ = measure([BIN / "alliance-fin", "sweep", grid, "--jobs", workers, "--engine", engine,
                              "--out", tmp / f"sweep_{engine}"])
        rate[engine] = 60 * len(scenarios) / seconds
    return [
        Row("warm", "alliance-fin run --engine warm, default data", _fmt_runs(times["warm"]),
            f"warm/floor {w / f:.2f}", "<= 1.00", w / f <= 1.0),
        Row("warm", "alliance-fin run --engine kernel", _fmt_runs(times["kernel"]), f"warm/kernel {w / k:.2f}"),
        Row("warm", f"floor: {len(REPORTS)} kernels start + import, {jobs} at a time", _fmt_runs(times["floor"]),
            f"kernel/floor {k / f:.2f}"),
        Row("warm", f"`sweep --jobs {workers} --engine warm`, {len(scenarios)} scenarios (1 run)",
            f"{rate['warm']:.1f} scenarios/min", f"x kernel {rate['warm'] / rate['kernel']:.2f}", ">= 2.5",
            rate["warm"] / rate["kernel"] >= 2.5),
        Row("warm", f"`sweep --jobs {workers} --engine kernel`, same grid (1 run)", f"{rate['kernel']:.1f} scenarios/min"),
    ]


# -- 2. scale -------------------------------------------------------------------------------------


def check_html(path: Path) -> list[str]:
    """Problems that make an HTML report unreadable: long tables, one bar per model at scale."""
    text = path.read_text(encoding="utf-8")
    problems = []
    for table in re.findall(r'<table class="af-table".*?</table>', text, flags=re.S):
        body_rows = len(re.findall(r"<tr", table.split("<tbody>", 1)[-1]))
        if body_rows > MAX_TABLE_ROWS:
            problems.append(f"{path.name}: a table shows {body_rows} rows")
    if len(text) > 5 * 2**20:
        problems.append(f"{path.name}: {len(text) / 2**20:.0f} MiB")
    return problems


def check_workbook(path: Path, n: int) -> list[str]:
    """The workbook's Data sheet holds every model (a header row plus ``n`` rows)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        rows = wb["Data"].max_row
    finally:
        wb.close()
    return [] if rows == n + 1 else [f"{path.name}: Data has {rows - 1} models, expected {n}"]


def bench_scale(tmp: Path, sizes: list[int]) -> list[Row]:
    from synthetic import make_lineup

    default_bytes = (ROOT / "alliance_fin" / "data" / "lineup.csv").stat().st_size
    # the reference: the same reports on the packaged data (the suite's run also has the plan report)
    base_seconds, base_rss = measure([BIN / "alliance-fin", "run", *LINEUP_REPORTS, "--out", tmp / "scale_base"])
    base = {"seconds": base_seconds, "rss": base_rss}
    rows = [Row("scale", f"packaged data: alliance-fin run {' '.join(LINEUP_REPORTS)} (1 run)", f"{base_seconds:.2f} s")]
    for n in sizes:
        csv = tmp / f"lineup_{n}.csv"
        make_lineup(n).to_csv(csv, index=False)
        done = subprocess.run([BIN / "alliance-fin", "validate", csv], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"synthetic line-up of {n} models is not valid:\n{done.stdout}{done.stderr}")
        out = tmp / f"scale{n}"
        seconds, peak = measure([BIN / "alliance-fin", "run", *LINEUP_REPORTS, "--data", csv, "--out", out])
        problems = [p for r in LINEUP_REPORTS for p in check_html(out / f"{r}.html")]
        problems += [p for r in LINEUP_REPORTS for p in check_workbook(out / f"{r}.xlsx", n)]
        t_ratio, m_ratio = seconds / base["seconds"], peak / base["rss"]
        d_ratio = csv.stat().st_size / default_bytes
        limit = 3.0 if n >= 10_000 else None
        rows += [
            Row("scale", f"{n:,} models: alliance-fin run (1 run)", f"{seconds:.2f} s", f"x default {t_ratio:.1f}",
                "< 3.0" if limit else "", (t_ratio < limit) if limit else None),
            Row("scale", f"{n:,} models: peak RSS (process tree)", f"{peak / 2**20:.0f} MiB",
                f"x default {m_ratio:.2f}", f"<= data x{d_ratio:.0f}", m_ratio <= d_ratio),
            Row("scale", f"{n:,} models: HTML readable, workbooks hold every model",
                "ok" if not problems else "; ".join(problems)[:120], ok=not problems),
        ]
    return rows


# -- 3. engine ------------------------------------------------------------------------------------


def bench_engine(n: int, repeat: int) -> list[Row]:
    from synthetic import make_lineup

    from alliance_fin.engines import milestones, savings, trimming
    from alliance_fin.inputs import load

    lineup = make_lineup(n)
    values = load.assumption_values(load.load_assumptions())

    def run_savings() -> None:
        models = savings.calc_model_savings(lineup, values)
        by_year = savings.calc_savings_by_year(models, values, start_year=2020, end_year=2025)
        savings.calc_headline(models, by_year, values, start_year=2020)

    engines = {
        "savings (models, by year, headline)": run_savings,
        "trimming (rules, migration, shares)": lambda: trimming.calc_trimming(lineup, values),
        "milestones (years, targets, delays)": lambda: milestones.calc_milestones(lineup, values),
    }
    rows = []
    for name, fn in engines.items():
        times: list[float] = []
        while len(times) < repeat and sum(times) < 5.0:  # a far-too-slow engine is timed once
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        m = median(times)
        rows.append(Row("engine", f"{name}, {n:,} models", f"{m:.3f} s", f"{len(times)} run(s)", "< 1.0 s",
                        m < 1.0))
    return rows


# -- 4. scenarios ---------------------------------------------------------------------------------


def expand_grid(path: Path) -> tuple[str, list[dict]]:
    """``(report, [flat parameter dicts])``: every combination of the grid, with ``scenario`` names."""
    import yaml

    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = list(spec["grid"])
    combos = itertools.product(*(spec["grid"][k] for k in names))
    scenarios = [{**spec.get("base", {}), **dict(zip(names, c, strict=True)), "scenario": f"g{i:02d}"}
                 for i, c in enumerate(combos, start=1)]
    return spec["report"], scenarios


def bench_scenarios(tmp: Path, grid: Path, seq: int, workers: int) -> list[Row]:
    import yaml

    report, scenarios = expand_grid(grid)
    files = []
    for params in scenarios:
        f = tmp / "grid" / f"{params['scenario']}.yaml"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(yaml.safe_dump(params), encoding="utf-8")
        files.append(f)

    def cmd(i: int, mode: str) -> list:
        return [BIN / "alliance-fin", "run", report, "--params", files[i], "--jobs", "1",
                "--out", tmp / mode / scenarios[i]["scenario"]]

    seq = min(seq, len(files))
    seq_total = sum(measure(cmd(i, "seq"))[0] for i in range(seq))
    # the parallel figure is the user-facing command: `alliance-fin sweep GRID --jobs N`
    par_total, _ = measure([BIN / "alliance-fin", "sweep", grid, "--jobs", workers, "--out", tmp / "sweep"])
    seq_rate, par_rate = 60 * seq / seq_total, 60 * len(files) / par_total
    return [
        Row("scenarios", f"sequential `alliance-fin run {report}` ({seq} of {len(files)} run, 1 run each)",
            f"{seq_rate:.1f} scenarios/min", f"20 in ~{len(files) / seq_rate * 60:.0f} s"),
        Row("scenarios", f"`alliance-fin sweep --jobs {workers}`, all {len(files)} (1 run)", f"{par_rate:.1f} scenarios/min",
            f"x sequential {par_rate / seq_rate:.2f}", ">= 1.5", par_rate / seq_rate >= 1.5),
    ]


def bench_dask(tmp: Path, n: int, workers: int) -> list[Row]:
    """A sweep of ``n`` savings scenarios on the process pool and on a Dask LocalCluster, same run."""
    grid = tmp / "dask_grid.yaml"
    grid.write_text(f"report: savings\ngrid: {{max_saving_rate: {[round(0.2 + 0.02 * i, 2) for i in range(n)]}}}\n")
    pool, _ = measure([BIN / "alliance-fin", "sweep", grid, "--jobs", workers, "--out", tmp / "pool"])
    dask, _ = measure([BIN / "alliance-fin", "sweep", grid, "--jobs", workers, "--scheduler", "local",
                       "--out", tmp / "dask"])
    sizes = [p.stat().st_size for p in (tmp / "dask").rglob("savings.*")]
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as c:
        c.submit(int, 0).result()
        t0 = time.perf_counter()
        c.gather(c.map(int, range(500)))
        per_task = (time.perf_counter() - t0) / 500
    return [
        Row("dask", f"`sweep --jobs {workers}` ({n} scenarios), process pool", f"{60 * n / pool:.1f} scenarios/min"),
        Row("dask", f"`sweep --jobs {workers} --scheduler local` (same grid)", f"{60 * n / dask:.1f} scenarios/min",
            f"x pool {pool / dask:.2f}"),
        Row("dask", "data returned per task (xlsx + ipynb + html)", f"{sum(sizes) / n / 1024:.0f} KiB"),
        Row("dask", "scheduler round trip per no-op task (500 tasks, 1 worker)", f"{per_task * 1000:.2f} ms"),
    ]


def bench_headlines(tmp: Path, n: int) -> list[Row]:
    """``sweep --headlines-only`` on ``n`` savings scenarios (three swept parameters)."""
    side = max(2, round(n ** (1 / 3)))
    rates = [round(0.10 + 0.5 * i / side, 4) for i in range(side)]
    shares = [round(0.05 + 0.5 * i / side, 4) for i in range(side)]
    discount = [round(0.01 + 0.1 * i / side, 4) for i in range(max(1, n // (side * side)))]
    grid = tmp / "headline_grid.yaml"
    grid.write_text(f"report: savings\ngrid: {{max_saving_rate: {rates}, follower_diff_share: {shares}, "
                    f"discount_rate: {discount}}}\n")
    count = len(rates) * len(shares) * len(discount)
    seconds, _ = measure([BIN / "alliance-fin", "sweep", grid, "--headlines-only", "--out", tmp / "headlines"])
    return [Row("headlines", f"`sweep --headlines-only`, {count} scenarios", f"{seconds:.1f} s",
                f"{1000 * seconds / count:.1f} ms/scenario", "< 10 s at 10,000", seconds < 10 if count >= 10_000 else None)]


# -- main -----------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    return (f"{os.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"load average {os.getloadavg()[0]:.2f} at start, Python {sys.version.split()[0]}")


def print_table(rows: list[Row]) -> None:
    cells = [(r.benchmark, r.figure, r.value, r.ratio, r.target,
              "" if r.ok is None else ("pass" if r.ok else "FAIL")) for r in rows]
    head = ("benchmark", "figure", "value", "ratio", "target", "result")
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(6)]
    for i, line in enumerate([head, *cells]):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per suite/engine figure (median)")
    parser.add_argument("--naive-repeat", type=int, default=1, help="runs of the naive pipeline (~30 s each)")
    parser.add_argument("--only", default="suite,warm,scale,engine,scenarios,dask,headlines")
    parser.add_argument("--dask-n", type=int, default=8, help="scenarios of the Dask-vs-pool sweep")
    parser.add_argument("--headline-n", type=int, default=10_000, help="scenarios of the --headlines-only sweep")
    parser.add_argument("--sizes", default="1000,10000", help="synthetic line-up sizes for the scale benchmark")
    parser.add_argument("--engine-n", type=int, default=100_000)
    parser.add_argument("--seq", type=int, default=6, help="scenarios run one after another (20 = all)")
    parser.add_argument("--workers", type=int, default=2, help="scenario runs at a time")
    parser.add_argument("--grid", type=Path, default=HERE / "grid.yaml")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--floor", nargs=2, type=int, metavar=("N", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        floor_main(*args.floor)
        return 0
    only = set(args.only.split(","))
    print(f"machine: {machine()}", flush=True)
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="af-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if "suite" in only:
            rows += bench_suite(tmp, args.repeat, args.naive_repeat)
            print(f"suite done ({time.perf_counter() - started:.0f} s)", flush=True)
        if "warm" in only:
            rows += bench_warm(tmp, args.repeat, args.grid, args.workers)
            print(f"warm done ({time.perf_counter() - started:.0f} s)", flush=True)
        if "scale" in only:
            rows += bench_scale(tmp, [int(s) for s in args.sizes.split(",") if s])
            print(f"scale done ({time.perf_counter() - started:.0f} s)", flush=True)
        if "engine" in only:
            rows += bench_engine(args.engine_n, args.repeat)
            print(f"engine done ({time.perf_counter() - started:.0f} s)", flush=True)
        if "scenarios" in only:
            rows += bench_scenarios(tmp, args.grid, args.seq, args.workers)
            print(f"scenarios done ({time.perf_counter() - started:.0f} s)", flush=True)
        if "dask" in only:
            rows += bench_dask(tmp, args.dask_n, args.workers)
            print(f"dask done ({time.perf_counter() - started:.0f} s)", flush=True)
        if "headlines" in only:
            rows += bench_headlines(tmp, args.headline_n)
            print(f"headlines done ({time.perf_counter() - started:.0f} s)", flush=True)
    print()
    print_table(rows)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
