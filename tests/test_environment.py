"""environment.yml and pyproject.toml list the same dependencies; layout is as the contract says."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("test", "dask"):  # make setup installs both; the conda route lists them too
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert conda == wanted
    assert "-e ." in pip


def test_required_layout():
    for name in ["notebooks", "alliance_fin", "templates", "reports", "tests", "environment.yml",
                 "README.md", "pyproject.toml", "Makefile", ".ci/run", "docs", "benchmarks"]:
        assert (ROOT / name).exists(), name
    assert (ROOT / "reports" / ".gitkeep").exists()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
