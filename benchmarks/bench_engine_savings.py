"""Time the savings engine on a synthetic line-up.

Usage: ``.venv/bin/python benchmarks/bench_engine_savings.py [N] [--repeat R]``
Prints ``savings_engine n=N seconds=S`` (best of R runs of: per-model savings, phasing over
2020-2025, aggregation by member and year, and the headline figures).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import make_lineup  # noqa: E402

from alliance_fin.engines import savings, sensitivity  # noqa: E402
from alliance_fin.inputs import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    lineup = make_lineup(args.n)
    assumptions = load.assumption_values(load.load_assumptions())
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        models = savings.calc_model_savings(lineup, assumptions)
        by_year = savings.calc_savings_by_year(models, assumptions, start_year=2020, end_year=2025)
        savings.calc_savings_by(by_year, ["member", "year"])
        savings.calc_headline(models, by_year, assumptions, start_year=2020)
        best = min(best, time.perf_counter() - t0)
    print(f"savings_engine n={args.n} seconds={best:.3f}")
    best_models = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        savings.calc_model_savings(lineup, assumptions)
        best_models = min(best_models, time.perf_counter() - t0)
    print(f"savings_model_only n={args.n} seconds={best_models:.3f}")
    t0 = time.perf_counter()
    sensitivity.calc_sensitivity_grid(lineup, assumptions, start_year=2020, end_year=2025)
    print(f"savings_sensitivity_grid_5x5 n={args.n} seconds={time.perf_counter() - t0:.3f}")
    t0 = time.perf_counter()
    sensitivity.calc_tornado(lineup, assumptions, start_year=2020, end_year=2025)
    print(f"savings_tornado n={args.n} seconds={time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
