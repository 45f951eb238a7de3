"""Command line: ``alliance-fin list | run | sweep | compare | pack | validate | template``.

Argument parsing, messages and exit codes only: 0 success, 1 a report failed while
executing, 2 bad input, bad parameters or bad usage (nothing written).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from alliance_fin import __version__
from alliance_fin.errors import AllianceFinError, InputError
from alliance_fin.registry import REPORTS as REPORT_NAMES

_SCHEDULER_HELP = ("run the report jobs on a Dask cluster: tcp://HOST:PORT of its scheduler, or 'local' for a "
                   "LocalCluster of one single-threaded worker per job slot (pip install 'alliance_fin[dask]'); "
                   "default: the built-in process pool")

_ENGINE_HELP = ("how each notebook is executed: 'warm' (default) runs every report in a process forked from one "
                "that imported the reports' libraries once, with an in-process kernel; 'kernel' starts a fresh "
                "Jupyter kernel per report. "
                "Both write the same notebooks and workbooks; Dask workers (--scheduler) always use 'kernel'")
ENGINES = ("warm", "kernel")  # alliance_fin.run.executors.ENGINES (not imported: it pulls in tqdm)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alliance-fin",
        description="Reports on the Renault-Nissan-Mitsubishi Alliance leader-follower plan: "
                    "savings, model-range trimming and 2025 milestones, as Excel and HTML.",
    )
    parser.add_argument("--version", action="version", version=f"alliance-fin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("list", help="every report with its parameters (name, type, default, range, help)")

    run = sub.add_parser("run", help="execute reports into a folder of Excel, HTML and notebooks")
    run.add_argument("reports", nargs="*", metavar="REPORT",
                     help=f"reports to run: {', '.join(REPORT_NAMES)} or all (default: all)")
    run.add_argument("--data", metavar="FILE", help="input line-up (.xlsx sheet 'models', or .csv); "
                     "default: the packaged Alliance line-up")
    run.add_argument("--params", metavar="FILE.yaml", help="parameters as a YAML mapping name: value")
    run.add_argument("-p", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                     help="set one parameter (repeatable; wins over --params)")
    run.add_argument("--out", metavar="DIR", help="output folder (default: reports/<timestamp>_<scenario>/)")
    run.add_argument("--jobs", type=int, metavar="N",
                     help="reports run at once (default: every selected report, at most 2 per core)")
    run.add_argument("--force", action="store_true", help="write into an existing non-empty --out")
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="execution timeout per notebook cell (default 600)")
    run.add_argument("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
    run.add_argument("--engine", choices=ENGINES, default="warm", help=_ENGINE_HELP)

    sw = sub.add_parser("sweep", help="run every scenario of a parameter grid (YAML), several at a time")
    sw.add_argument("grid", metavar="GRID.yaml", help="report, base parameters and grid of values (see docs)")
    sw.add_argument("--data", metavar="FILE", help="input line-up (default: the packaged Alliance line-up)")
    sw.add_argument("--out", metavar="DIR", help="sweep folder (default: reports/sweep_<grid name>/)")
    sw.add_argument("--jobs", type=int, metavar="N", help="scenarios run at once (default: cores)")
    sw.add_argument("--force", action="store_true",
                    help="rerun every scenario (default: skip a scenario whose bundle in --out is complete and current)")
    sw.add_argument("--timeout", type=float, metavar="SECONDS", help="execution timeout per notebook cell")
    sw.add_argument("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
    sw.add_argument("--engine", choices=ENGINES, default="warm", help=_ENGINE_HELP)
    sw.add_argument("--headlines-only", action="store_true",
                    help="only every scenario's headline figures, computed in-process with no kernels: "
                         "sweep.csv, sweep.xlsx (scenario picker) and sweep.html (heatmaps)")

    cmp_ = sub.add_parser("compare", help="two or more run bundles side by side: compare.xlsx and compare.html")
    cmp_.add_argument("runs", nargs="+", metavar="RUN_DIR",
                      help="run bundles (folders written by `alliance-fin run`); the first is the reference")
    cmp_.add_argument("--out", metavar="DIR", help="folder for compare.xlsx and compare.html "
                      "(default: reports/compare_<first run>_vs_<last run>/)")

    pk = sub.add_parser("pack", help="one print-ready A4 landscape PDF of a run bundle (needs Chromium and LibreOffice)")
    pk.add_argument("run", metavar="RUN_DIR", help="run bundle (folder written by `alliance-fin run`)")
    pk.add_argument("--out", metavar="FILE.pdf", help="the PDF to write (default: RUN_DIR/pack.pdf)")

    val = sub.add_parser("validate", help="check an input file (sheets models, plan, assumptions); "
                         "lists every problem")
    val.add_argument("file", metavar="FILE",
                     help="the input line-up to check: an .xlsx with a sheet 'models' (optional sheets 'plan' "
                          "and 'assumptions'), or a .csv with the same columns as 'models'")

    tpl = sub.add_parser("template", help="write the blank input workbook (or the default line-up in it)")
    tpl.add_argument("out", metavar="OUT.xlsx",
                     help="where to write the input workbook (a new .xlsx file: sheets models, assumptions and "
                          "notes, plus plan with --example; an existing file is kept unless --force)")
    tpl.add_argument("--example", action="store_true",
                     help="fill in the packaged Alliance line-up (sheet models) and plan (sheet plan)")
    tpl.add_argument("--force", action="store_true", help="replace an existing file")
    return parser


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean savings?)`` for a near miss, else empty."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _cmd_list(_: argparse.Namespace) -> int:
    from alliance_fin.run.params import describe_reports

    rows = describe_reports()
    current = None
    for row in rows:
        if row["report"] != current:
            print(f"{'' if current is None else chr(10)}{row['report']}")
            current = row["report"]
        print(f"  {row['name']:<24} {row['type']:<6} default={row['default']!s:<8} "
              f"allowed={row['allowed']}\n      {row['help']}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: must be a whole number >= 1")
    if args.timeout is not None and args.timeout <= 0:
        raise InputError(f"--timeout {args.timeout}: must be a number of seconds > 0")
    reports = list(args.reports)
    if not reports or "all" in reports:
        reports = list(REPORT_NAMES)
    unknown = [r for r in reports if r not in REPORT_NAMES]
    if unknown:
        raise InputError("; ".join(f"unknown report {r}{_did_you_mean(r, [*REPORT_NAMES, 'all'])}"
                                   for r in unknown) + f"; choose from {', '.join(REPORT_NAMES)} or all")
    from alliance_fin.run.zygote_client import start_for

    zygote = start_for(args.engine, args.scheduler)  # first: its imports are the run's critical path
    try:
        from alliance_fin.run.runner import run_cli
    except BaseException:
        if zygote is not None:
            zygote.close()
        raise
    return run_cli(reports, data=args.data, params_file=args.params, overrides=args.overrides,
                   out=args.out, jobs=args.jobs, force=args.force, timeout=args.timeout,
                   scheduler=args.scheduler, engine=args.engine, zygote=zygote)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from alliance_fin.run.sweep import run_sweep

    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: must be a whole number >= 1")
    if args.headlines_only and args.scheduler:
        raise InputError("--headlines-only computes in-process: it takes no --scheduler")
    if args.headlines_only:
        from alliance_fin.run.sweep_headlines import run_headline_sweep

        return run_headline_sweep(args.grid, data=args.data, out=args.out, force=args.force)
    return run_sweep(args.grid, data=args.data, out=args.out, jobs=args.jobs, force=args.force,
                     timeout=args.timeout, scheduler=args.scheduler, engine=args.engine)


def _cmd_compare(args: argparse.Namespace) -> int:
    from alliance_fin.run.compare import write_compare

    if len(args.runs) < 2:
        raise InputError(f"compare needs at least two run folders, got {len(args.runs)}; "
                         "e.g. alliance-fin compare reports/A reports/B")
    written = write_compare(args.runs, out=args.out)
    for path in written.files:
        print(f"wrote {path}")
    for note in written.notes:
        print(f"note: {note}")
    return 0


def _cmd_pack(args: argparse.Namespace) -> int:
    from alliance_fin.run.pack import write_pack

    print(f"wrote {write_pack(args.run, out=args.out)}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from alliance_fin.inputs.load import load_inputs

    lineup, assumptions, plan = load_inputs(args.file)
    families = lineup.loc[lineup["family_id"] != "", "family_id"].nunique()
    overridden = int((assumptions["provenance"] == "input file").sum())
    planned = "no plan sheet" if plan is None else f"plan: {len(plan)} models"
    print(f"{args.file}: valid - {len(lineup)} models, {families} families, "
          f"{overridden} assumption(s) overridden; {planned}")
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from alliance_fin.inputs.template import write_template

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out}: the template is an Excel workbook; give a name ending in .xlsx")
    if not out.parent.is_dir():
        raise InputError(f"{out}: folder {out.parent} does not exist")
    if out.exists() and not args.force:
        raise InputError(f"{out}: exists; it may be your edited line-up. Choose another name or add --force")
    write_template(out, example=args.example)
    print(f"wrote {out}" + (" (with the packaged Alliance line-up and plan)" if args.example else ""))
    return 0


COMMANDS = {"list": _cmd_list, "run": _cmd_run, "sweep": _cmd_sweep, "compare": _cmd_compare,
            "pack": _cmd_pack, "validate": _cmd_validate, "template": _cmd_template}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``alliance-fin``; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except AllianceFinError as err:
        print(f"error: {err.report()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `alliance-fin list | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
