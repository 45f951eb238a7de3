"""Time each report's own in-process work, phase by phase, as its notebook does it.

Usage::

    .venv/bin/python benchmarks/bench_report_work.py [--repeat N] [--only REPORT ...]
    .venv/bin/python benchmarks/bench_report_work.py --profile savings [--top 40]

For every report of :data:`alliance_fin.registry.REPORT_SPECS`, in one process, the best of N
(default 5) ``time.process_time()`` of each phase of its notebook, without IPython's display:

- ``build``: the report's builder with its defaults (the notebook's ``build_*_report`` cell);
- ``tables``: every section's table HTML (``section_tables_html``, what ``show`` displays);
- ``charts``: every section's chart drawn (``section_figure``) and rendered to a PNG as
  ``display_figure`` renders it (``figure_png``), then closed;
- ``workbook``: ``write_report_outputs`` into a temporary folder; ``(eval)`` is the part of it
  spent in ``evaluate_workbook`` (computing the formulas' cached values).

Each phase's minimum is taken on its own, so ``sum`` is the sum of the best phases. matplotlib
uses the inline backend, as in a kernel (``MPLBACKEND``, set before matplotlib is imported).
``--profile REPORT`` runs that report's phases once under cProfile (after one warm-up run) and
prints the top of the profile by cumulative and by own time. The package is imported from the
checkout the script sits in (not the installed one), so a copy of the script in another
checkout (e.g. of ``main``) measures that code in the same sitting.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package, not an installed one

PHASES = ("build", "tables", "charts", "workbook", "eval")


class _Timed:
    """Wraps a function, adding its process time to ``total`` (the evaluator inside the writer)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.total = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.total += time.process_time() - t0


def _phases(name: str, out_dir: Path, timed_eval: _Timed) -> dict[str, float]:
    """One pass of a report's notebook work; process seconds per phase (and the charts' count)."""
    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure

    from alliance_fin.present import display
    from alliance_fin.registry import REPORT_SPECS
    from alliance_fin.run.outputs import write_report_outputs

    spec = REPORT_SPECS[name]
    times: dict[str, float] = {}
    t0 = time.process_time()
    report = spec.build_function()()
    times["build"] = time.process_time() - t0

    t0 = time.process_time()
    for section in report.sections:
        display.section_tables_html(report, section)
    times["tables"] = time.process_time() - t0

    t0 = time.process_time()
    charts = 0
    for section in report.sections:
        fig = display.section_figure(report, section)
        if fig is not None:
            # display_figure's PNG (as in main, before figure_png existed: IPython's print_figure)
            png = display.figure_png(fig) if hasattr(display, "figure_png") else \
                print_figure(fig, "png", bbox_inches=None, base64=True)
            assert png, f"{name}:{section}: empty PNG"
            repr(fig)
            plt.close(fig)
            charts += 1
    times["charts"] = time.process_time() - t0
    times["n_charts"] = charts

    timed_eval.total = 0.0
    t0 = time.process_time()
    write_report_outputs(report, output_dir=out_dir / name, run_id="bench", created="2026-01-01T00:00:00")
    times["workbook"] = time.process_time() - t0
    times["eval"] = timed_eval.total
    return times


def _install_eval_timer() -> _Timed:
    from alliance_fin.excel import core

    timed = _Timed(core.evaluate_workbook)
    core.evaluate_workbook = timed
    return timed


def main() -> None:
    from alliance_fin.registry import REPORT_SPECS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes per report; the best of each phase is shown")
    parser.add_argument("--only", nargs="+", choices=list(REPORT_SPECS), help="these reports only")
    parser.add_argument("--profile", choices=list(REPORT_SPECS), help="profile one pass of this report")
    parser.add_argument("--top", type=int, default=35, help="rows of the profile to print")
    args = parser.parse_args()
    timed_eval = _install_eval_timer()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.profile:
            _phases(args.profile, out, timed_eval)  # imports and first-use caches out of the profile
            prof = cProfile.Profile()
            prof.enable()
            _phases(args.profile, out, timed_eval)
            prof.disable()
            stats = pstats.Stats(prof, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
            return
        names = args.only or list(REPORT_SPECS)
        print(f"process time, best of {args.repeat}, seconds")
        print(f"{'report':<16}{'build':>8}{'tables':>8}{'charts':>8}{'(n)':>5}{'workbook':>10}{'(eval)':>8}"
              f"{'sum':>8}")
        for name in names:
            best = {p: float("inf") for p in PHASES}
            n_charts = 0
            for _ in range(args.repeat):
                times = _phases(name, out, timed_eval)
                n_charts = int(times["n_charts"])
                best = {p: min(best[p], times[p]) for p in PHASES}
            total = best["build"] + best["tables"] + best["charts"] + best["workbook"]
            print(f"{name:<16}{best['build']:>8.2f}{best['tables']:>8.2f}{best['charts']:>8.2f}{n_charts:>5}"
                  f"{best['workbook']:>10.2f}{best['eval']:>8.2f}{total:>8.2f}")


if __name__ == "__main__":
    main()
