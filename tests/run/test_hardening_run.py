"""Hardening, runs: unwritable output, kernels that will not start, SIGKILL, Ctrl-C, parallel runs.

Real ``alliance-fin run`` processes (``python -m alliance_fin``) are started, interrupted and
compared; each holds its kernels' connection files under a private ``TMPDIR`` so that every
process it started can be found (psutil) and, on failure, ended by its own pid. Runs on the
fixture notebooks of ``tests/fixtures/notebooks`` are covered in test_runner.py (cell raising,
timeout, Ctrl-C of ``run_reports``); this file adds the CLI and the real report notebooks.
See docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psutil
import pytest
from conftest import ctrl_c_as_in_a_terminal  # tests/conftest.py
from openpyxl import load_workbook

from alliance_fin.cli import main
from alliance_fin.present.milestones import build_milestones_report
from alliance_fin.run import publish, runner
from alliance_fin.run.execute import run_report_job
from alliance_fin.run.outputs import write_report_outputs
from alliance_fin.run.params import COMMON_PARAMS, REPORT_SPECS, ReportSpec

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
EPOCH = "1600000000"
REPORTS = tuple(REPORT_SPECS)  # `run all` on the packaged data: every report, plan_vs_actual included


# -- helpers ------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def previous_bundle(out: Path) -> dict[str, str]:
    """A previous, valid report in ``out`` (written by the library, no kernel)."""
    out.mkdir(parents=True)
    write_report_outputs(build_milestones_report(), output_dir=out, run_id="previous")
    (out / "manifest.json").write_text('{"run_id": "previous"}\n', encoding="utf-8")
    return snapshot(out)


def assert_workbooks_sound(folder: Path) -> None:
    for path in folder.glob("*.xlsx"):
        assert zipfile.is_zipfile(path), path
        load_workbook(path).close()


def start_cli(args: list[str], tmpdir: Path, **env: str) -> subprocess.Popen:
    tmpdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "alliance_fin", *args], cwd=str(ROOT),
                            env={**os.environ, "TMPDIR": str(tmpdir), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_in_a_terminal)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def has_kernel(procs: list[psutil.Process]) -> bool:
    for p in procs:
        try:
            if "ipykernel" in " ".join(p.cmdline()) or p.name() == "af-report":  # a kernel, or a warm report
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return False


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def end_all(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Kill what is still alive among processes this test started; return those that were alive."""
    alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
    return alive


def staging_dirs(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".staging-" in p.name)


# -- the output folder cannot be written -------------------------------------------------------


def _under_file(tmp: Path) -> str:
    (tmp / "a-file").write_text("x")
    return str(tmp / "a-file" / "sub")


def _is_file(tmp: Path) -> str:
    (tmp / "a-file").write_text("x")
    return str(tmp / "a-file")


@pytest.mark.parametrize("make_out, words", [
    (_under_file, ["cannot create folders in", "a-file"]),
    (_is_file, ["exists and is not a folder"]),
    (lambda tmp: "/dev/null/reports", ["cannot create folders in /dev/null"]),
    (lambda tmp: f"/proc/af-hardening-{os.getpid()}", ["--out /proc/af-hardening"]),
], ids=["under-a-regular-file", "is-a-regular-file", "under-dev-null", "in-proc-root-cannot-write"])
def test_unwritable_out_is_refused_cleanly(tmp_path, capsys, make_out, words):
    """Root ignores permission bits, so these fail for root too. Nothing runs, nothing is written."""
    out = make_out(tmp_path)
    before = snapshot(tmp_path)
    code = main(["run", "milestones", "--out", out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "nothing was written" in err
    for word in words:
        assert word in err, err
    assert snapshot(tmp_path) == before and staging_dirs(tmp_path) == []


def test_kernel_that_will_not_start(tmp_path):
    """A missing kernel: a failed result naming it, the notebook kept as .failed.ipynb, nothing else."""
    staging = tmp_path / "staging"
    staging.mkdir()
    params = {p.name: p.default for p in COMMON_PARAMS}
    params.update(factor=1.0, data_path="", output_dir=str(staging), run_id="r", created="2020-01-01T00:00:00Z")
    job = {"report": "ok", "notebook": str(FIXTURES / "ok.ipynb"), "parameters": params,
           "staging": str(staging), "final_dir": str(tmp_path / "final"), "timeout": 30, "title": "OK",
           "headline_keys": [], "header": {}, "kernel_name": "no-such-kernel-af"}
    result = run_report_job(job)
    assert result["status"] == "failed" and result["headline"] == {}
    assert "no-such-kernel-af" in result["error"] and result["error"].startswith("ok: ")
    assert result["outputs"] == ["ok.failed.ipynb"]
    assert sorted(p.name for p in staging.iterdir()) == ["ok.failed.ipynb"]


def _publish_setup(tmp_path):
    specs = {"ok": ReportSpec("ok", "OK", "ok.ipynb", COMMON_PARAMS)}
    out = tmp_path / "out"
    out.mkdir()
    for name in ("ok.xlsx", "ok.html", "manifest.json", "my-notes.txt"):
        (out / name).write_text("old")
    staging = tmp_path / ".out.staging-x"
    staging.mkdir()
    for name in ("ok.xlsx", "ok.html", "manifest.json"):
        (staging / name).write_text("new")
    plan = runner.plan_run(["ok"], specs=specs, notebooks_dir=FIXTURES, out=str(out), force=True)
    return plan, out, staging


def test_crash_before_the_swap_leaves_the_old_bundle(tmp_path, monkeypatch):
    """``--force`` publishing swaps whole folders in one step: a crash before it changes nothing."""
    plan, out, staging = _publish_setup(tmp_path)
    old = snapshot(out)

    def crash(a, b):
        raise OSError("simulated crash (power cut, SIGKILL) at the swap")

    monkeypatch.setattr(publish, "exchange_folders", crash)
    with pytest.raises(OSError):
        publish.publish_bundle(staging, plan.out, ["ok.xlsx", "ok.html", "manifest.json"], plan.specs)
    assert snapshot(out) == old


def test_force_publish_swaps_in_the_new_bundle_and_keeps_user_files(tmp_path):
    plan, out, staging = _publish_setup(tmp_path)
    publish.publish_bundle(staging, plan.out, ["ok.xlsx", "ok.html", "manifest.json"], plan.specs)
    contents = {p.name: p.read_text() for p in out.iterdir()}
    assert contents == {"ok.xlsx": "new", "ok.html": "new", "manifest.json": "new", "my-notes.txt": "old"}
    assert not staging.exists()


# -- interruptions of real runs ------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_mid_write_keeps_previous_out(tmp_path):
    out = tmp_path / "out"
    before = previous_bundle(out)
    proc = start_cli(["run", "milestones", "--out", str(out), "--force"], tmp_path / "tmp")
    started: list[psutil.Process] = []
    try:
        def notebook_wrote_workbook() -> bool:
            started[:] = {p.pid: p for p in started + descendants(proc.pid)}.values()
            return any((tmp_path / d / "milestones.xlsx").exists() for d in staging_dirs(tmp_path))
        wait_for(notebook_wrote_workbook, 240, "the notebook to write milestones.xlsx into staging")
        started[:] = {p.pid: p for p in started + descendants(proc.pid)}.values()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
        assert snapshot(out) == before  # the previous report, byte for byte
        assert_workbooks_sound(out)
        # The staging folder is hidden and never replaces --out; its workbook, if any, is whole.
        assert all(name.startswith(".out.staging-") for name in staging_dirs(tmp_path))
        for d in staging_dirs(tmp_path):
            assert_workbooks_sound(tmp_path / d)
        # Orphaned workers finish their notebook and shut their kernel down on their own.
        gone, alive = psutil.wait_procs(started, timeout=90)
        assert alive == [], f"processes left running after SIGKILL: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        end_all(started)


@pytest.mark.slow
def test_ctrl_c_via_cli_stops_kernels_removes_staging_keeps_out(tmp_path):
    out = tmp_path / "out"
    before = previous_bundle(out)
    tmpdir = tmp_path / "tmp"
    proc = start_cli(["run", "savings", "--out", str(out), "--force"], tmpdir)
    started: list[psutil.Process] = []
    try:
        def kernel_running() -> bool:
            started[:] = {p.pid: p for p in started + descendants(proc.pid)}.values()
            return has_kernel(started)
        wait_for(kernel_running, 120, "a kernel to start")
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err[-2000:]
        assert "interrupted" in err and "Traceback" not in err
        gone, alive = psutil.wait_procs(started, timeout=10)
        assert alive == [], f"left running after Ctrl-C: {[(p.pid, p.name()) for p in alive]}"
        assert snapshot(out) == before
        assert staging_dirs(tmp_path) == []
        assert [p.name for p in tmpdir.iterdir() if p.name.startswith("afk-")] == []  # kernel folder removed
    finally:
        if proc.poll() is None:
            proc.kill()
        end_all(started)


# -- two runs at once, and determinism ------------------------------------------------------------


@pytest.fixture(scope="module")
def twin_runs(tmp_path_factory):
    """The same reports twice, at the same time, into two folders: hash seed 0 / --jobs 1, then
    (3 s later, so wall-clock time would differ) hash seed 1 / --jobs 2."""
    base = tmp_path_factory.mktemp("twins")
    runs = {}
    for key, seed, jobs in (("a", "0", "1"), ("b", "1", "2")):
        out = base / f"out-{key}"
        runs[key] = (out, start_cli(["run", "all", "--out", str(out), "--jobs", jobs], base / f"tmp-{key}",
                                    SOURCE_DATE_EPOCH=EPOCH, PYTHONHASHSEED=seed))
        time.sleep(3)
    results = {}
    for key, (out, proc) in runs.items():
        try:
            stdout, stderr = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
        results[key] = (out, proc.returncode, stderr)
    return results


@pytest.mark.slow
def test_two_runs_at_once_into_different_folders_both_succeed(twin_runs):
    for out, code, err in twin_runs.values():
        assert code == 0, err[-3000:]
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert {r: v["status"] for r, v in manifest["reports"].items()} == dict.fromkeys(REPORTS, "ok")
        assert_workbooks_sound(out)
        assert staging_dirs(out.parent) == []


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_same_inputs_give_identical_workbooks(twin_runs, report):
    (a, _, _), (b, _, _) = twin_runs["a"], twin_runs["b"]
    assert (a / f"{report}.xlsx").read_bytes() == (b / f"{report}.xlsx").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_same_inputs_give_identical_html(twin_runs, report):
    (a, _, _), (b, _, _) = twin_runs["a"], twin_runs["b"]
    assert (a / f"{report}.html").read_bytes() == (b / f"{report}.html").read_bytes()


@pytest.mark.slow
def test_same_inputs_give_identical_headline_numbers(twin_runs):
    (a, _, _), (b, _, _) = twin_runs["a"], twin_runs["b"]
    first, second = (json.loads((o / "manifest.json").read_text(encoding="utf-8")) for o in (a, b))
    for report in REPORTS:
        assert first["reports"][report]["headline"] == second["reports"][report]["headline"], report
    assert first["reports"]["savings"]["headline"]["total_savings_eur_m"] > 0


@pytest.mark.slow
def test_same_inputs_give_identical_manifest(twin_runs):
    manifests = []
    for out, _, _ in twin_runs.values():
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        for rep in manifest["reports"].values():
            rep.pop("seconds")
            rep["outputs"] = {k: v for k, v in rep["outputs"].items() if not k.endswith(".ipynb")}
        manifests.append(manifest)
    assert manifests[0] == manifests[1]  # parameters, data, statuses, xlsx and html hashes


@pytest.mark.slow
def test_two_runs_into_the_same_folder_one_wins_other_refused(tmp_path):
    out = tmp_path / "shared"
    first = start_cli(["run", "milestones", "--out", str(out)], tmp_path / "tmp-1")
    second = None
    try:
        wait_for(lambda: staging_dirs(tmp_path) != [], 120, "the first run to start staging")
        second = start_cli(["run", "milestones", "--out", str(out)], tmp_path / "tmp-2")
        _, err1 = first.communicate(timeout=300)
        _, err2 = second.communicate(timeout=300)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    # Whatever happened, the folder holds one complete, consistent bundle.
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = snapshot(out)
    for name, digest in manifest["reports"]["milestones"]["outputs"].items():
        assert files[name] == digest, name
    assert_workbooks_sound(out)
    assert staging_dirs(tmp_path) == []
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 2], f"both runs wrote into {out} (exit codes {codes}); the second must be refused:\n{err2}"
    loser = err2 if second.returncode == 2 else err1
    assert "--out" in loser and "nothing was written" in loser
