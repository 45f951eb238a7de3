"""Sweeps on a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1.

The workers run under their nannies (daemonic worker processes), as a real cluster would. Every
process is started in its own session, bounded in time and killed at the end of the module.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from conftest import TESTS_DIR

from alliance_fin.cli import main
from alliance_fin.run import dask_executor
from alliance_fin.run.params import COMMON_PARAMS, ParamSpec, ReportSpec
from alliance_fin.run.sweep import run_sweep

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")  # installed by `make setup` (extra alliance_fin[dask])

SMALL = TESTS_DIR / "fixtures" / "small_lineup.csv"
FIXTURES = TESTS_DIR / "fixtures" / "notebooks"
EPOCH = "1700000000"
DASK = Path(sys.executable).with_name("dask")
SPECS = {
    "ok": ReportSpec("ok", "OK fixture", "ok.ipynb",
                     COMMON_PARAMS + (ParamSpec("factor", "float", 1.0, "multiplier", min=0, max=10),),
                     ("value", "flag")),
    "slow": ReportSpec("slow", "Slow fixture", "slow.ipynb",
                       COMMON_PARAMS + (ParamSpec("factor", "float", 1.0, "multiplier", min=0, max=10),),
                       ("value",)),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A scheduler and two workers, each its own process group."""

    def __init__(self, log_dir: Path) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.log_dir = log_dir
        self._start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                     "--no-dashboard"], "scheduler")
        self.workers = [self._start([str(DASK), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                                     "--nworkers", "1", "--no-dashboard", "--death-timeout", "60"], f"worker{i}")
                        for i in range(2)]
        with distributed.Client(self.address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)

    def _start(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "SOURCE_DATE_EPOCH": ""})
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL a process and its group (a worker's nanny, worker and kernels)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.kill(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask-logs"))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def notebooks(tmp_path):
    """The fixture notebooks plus ``slow.ipynb`` (a report that takes about 2 s)."""
    folder = tmp_path / "nb"
    shutil.copytree(FIXTURES, folder)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"},
                                            "language_info": {"name": "python"}})
    params = nbformat.v4.new_code_cell('scenario: str = "base"  # label\ncurrency: str = "EUR"  # currency\n'
                                       'start_year: int = 2020  # first\nend_year: int = 2025  # last\n'
                                       'data_path: str = ""  # data\noutput_dir: str = "."  # outputs\n'
                                       'run_id: str = "x"  # id\ncreated: str = ""  # time\nfactor: float = 1.0  # f')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import json, pathlib, time, zipfile\ntime.sleep(2)\nout = pathlib.Path(output_dir)\n"
        "zipfile.ZipFile(out / 'slow.xlsx', 'w').writestr(zipfile.ZipInfo('a.xml', (2020, 1, 1, 0, 0, 0)), 'x')\n"
        "(out / 'slow.headline.json').write_text(json.dumps({'value': factor}))")]
    nbformat.write(nb, str(folder / "slow.ipynb"))
    return folder


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "sweep.csv").open()))


def _manifest(path: Path) -> dict:
    data = json.loads(path.read_text())
    for entry in data["reports"].values():
        entry.pop("seconds")
        entry["outputs"].pop(next((n for n in entry["outputs"] if n.endswith(".ipynb")), ""), None)
    return data


def test_sweep_on_the_cluster_is_byte_identical_to_the_process_pool(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    grid = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.2, 0.3, 0.4], follower_diff_share: [0.1, 0.3]}\n")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["sweep", str(grid), "--data", str(SMALL), "--out", str(local), "--jobs", "2"]) == 0
    assert main(["sweep", str(grid), "--data", str(SMALL), "--out", str(remote), "--scheduler", cluster.address]) == 0
    rows = _rows(remote)
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    assert rows == _rows(local)
    for row in rows:
        a, b = local / row["folder"], remote / row["folder"]
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        for name in ("savings.xlsx", "savings.html", "index.html"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{row['folder']}/{name}"
        assert _manifest(a / "manifest.json") == _manifest(b / "manifest.json")
    assert (remote / "index.html").read_bytes() == (local / "index.html").read_bytes()


def test_rerun_skips_every_scenario_as_cached_and_force_reruns(cluster, tmp_path, notebooks, capsys):
    grid = _grid(tmp_path, "report: ok\ngrid: {factor: [1, 2, 3, 4, 5, 6]}\n")
    out = tmp_path / "out"
    options = dict(out=str(out), scheduler=cluster.address, specs=SPECS, notebooks_dir=notebooks, stream=None)
    assert run_sweep(grid, **options) == 0
    assert [r["status"] for r in _rows(out)] == ["ok"] * 6
    before = {p: p.stat().st_mtime_ns for p in out.rglob("ok.xlsx")}
    assert run_sweep(grid, **options) == 0
    assert [r["status"] for r in _rows(out)] == ["cached"] * 6
    assert {p: p.stat().st_mtime_ns for p in out.rglob("ok.xlsx")} == before  # nothing rewritten
    assert [float(r["ok.value"]) for r in _rows(out)] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    # an interrupted sweep: one bundle missing, one incomplete -> only those two run
    shutil.rmtree(out / "grid-02")
    (out / "grid-05" / "ok.html").unlink()
    assert run_sweep(grid, **options) == 0
    assert [r["status"] for r in _rows(out)] == ["cached", "ok", "cached", "cached", "ok", "cached"]
    assert run_sweep(grid, **options, force=True) == 0
    assert [r["status"] for r in _rows(out)] == ["ok"] * 6
    assert "cached" not in capsys.readouterr().out.split("(")[0]


def test_unreachable_scheduler_is_refused_and_nothing_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(dask_executor.CONNECT_TIMEOUT_ENV, "2")
    grid = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.2, 0.3]}\n")
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    assert main(["sweep", str(grid), "--out", str(tmp_path / "out"), "--scheduler", address]) == 2
    assert main(["run", "savings", "--out", str(tmp_path / "run"), "--scheduler", address]) == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert f"--scheduler {address}: cannot reach a Dask scheduler" in err and "nothing was written" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.yaml"]


def test_workers_with_another_version_are_refused(cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dask_executor, "__version__", "99.0")
    grid = _grid(tmp_path, "report: savings\ngrid: {max_saving_rate: [0.2]}\n")
    assert main(["sweep", str(grid), "--out", str(tmp_path / "out"), "--scheduler", cluster.address]) == 2
    err = capsys.readouterr().err
    assert "the workers do not match this client" in err and "the client has 99.0" in err
    assert not (tmp_path / "out").exists()


def test_a_worker_killed_mid_sweep_still_completes_every_scenario(cluster, tmp_path, notebooks):
    """Runs last in this module: it leaves the cluster with one worker."""
    grid = _grid(tmp_path, "report: slow\ngrid: {factor: [1, 2, 3, 4, 5, 6]}\n")
    out = tmp_path / "out"
    killer = threading.Timer(3.0, cluster.kill, args=(cluster.workers[1],))
    killer.start()
    try:
        code = run_sweep(grid, out=str(out), scheduler=cluster.address, specs=SPECS, notebooks_dir=notebooks,
                         stream=None)
    finally:
        killer.cancel()
    assert cluster.workers[1].poll() is not None  # the worker really was killed mid-sweep
    assert code == 0
    rows = _rows(out)
    assert [r["status"] for r in rows] == ["ok"] * 6
    assert [float(r["slow.value"]) for r in rows] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for row in rows:
        assert {"slow.xlsx", "slow.html", "slow.ipynb", "manifest.json", "index.html"} <= {
            p.name for p in (out / row["folder"]).iterdir()}
