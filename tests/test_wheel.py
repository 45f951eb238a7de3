"""A wheel built from the repository runs ``alliance-fin run`` from an unrelated folder.

The wheel is installed without ``-e`` into a fresh virtual environment. Its dependencies are
borrowed from the test environment through a ``.pth`` line (plain path entries, so the
editable install there is not picked up), which keeps the test to seconds; the test checks that
the package imported is the wheel's copy. The dependencies' data files (nbconvert's base templates
under ``share/jupyter``) are borrowed the same way, through ``JUPYTER_PATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import ROOT


def _site_packages(prefix: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))


@pytest.mark.slow
def test_wheel_runs_a_full_bundle_from_any_folder(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("alliance_fin-*.whl"))

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    (_site_packages(env_dir) / "borrowed_deps.pth").write_text(str(_site_packages(Path(sys.prefix))) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = subprocess.run([str(python), "-c", "import alliance_fin.paths as p; print(p.__file__, p.INSTALLED)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert str(env_dir) in where.stdout and where.stdout.split()[-1] == "True", where.stdout

    proc = subprocess.run([str(env_dir / "bin" / "alliance-fin"), "run"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (bundle,) = (elsewhere / "reports").iterdir()  # default output folder: ./reports/<run>
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert all(r["status"] == "ok" for r in manifest["reports"].values())
    for name in manifest["reports"]:
        for suffix in (".xlsx", ".html", ".ipynb"):
            assert (bundle / f"{name}{suffix}").stat().st_size > 0
    assert (bundle / "index.html").is_file()
