"""The warm engine (reports run in processes forked from a zygote) writes what the kernel engine writes, and isolates as well."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from alliance_fin.errors import ParameterError
from alliance_fin.registry import REPORT_SPECS
from alliance_fin.run import runner
from alliance_fin.run.executors import ProcessPool
from alliance_fin.run.params import COMMON_PARAMS, ReportSpec
from alliance_fin.run.zygote import PROCESS_NAME
from alliance_fin.run.zygote_client import Zygote

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
EPOCH = "1600000000"
_OK = nbformat.read(str(FIXTURES / "ok.ipynb"), as_version=4)
_PARAMS = _OK.cells[1].source
ECHOES = 12


def _fixture(folder: Path, name: str, *cells: str) -> None:
    """A fixture notebook: the fixtures' parameters cell, then ``cells``."""
    nb = nbformat.v4.new_notebook(metadata=_OK.metadata)
    params = nbformat.v4.new_code_cell(_PARAMS.replace("factor: float = 1.0  # multiplier of the headline value", ""))
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(nb, str(folder / f"{name}.ipynb"))


_WRITE = """\
import json, pathlib, zipfile
out = pathlib.Path(output_dir)
with zipfile.ZipFile(out / "{name}.xlsx", "w") as zf:
    zf.writestr(zipfile.ZipInfo("[Content_Types].xml", date_time=(2020, 1, 1, 0, 0, 0)), "<Types/>")
(out / "{name}.headline.json").write_text(json.dumps({{"value": 1}}))
"""
# Each check fails if an earlier report (in the same zygote) left its state behind, then leaves some.
_LEAK = """\
import os, sys
import matplotlib as mpl
import matplotlib.pyplot as plt
import alliance_fin
assert mpl.rcParams["lines.linewidth"] == 1.5, mpl.rcParams["lines.linewidth"]
assert plt.get_fignums() == [], plt.get_fignums()
assert not hasattr(alliance_fin, "_left_by_a_report")
assert os.getcwd() == os.path.realpath(output_dir), (os.getcwd(), output_dir)
assert "leak_marker" not in globals()
if sys.platform.startswith("linux"):  # this process was forked by the zygote, not started afresh
    assert b"alliance_fin.run.zygote" in open(f"/proc/{os.getppid()}/cmdline", "rb").read()
mpl.rcParams["lines.linewidth"] = 9
plt.figure()
alliance_fin._left_by_a_report = True
leak_marker = 1
os.chdir("/")
"""


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> tuple[Path, dict[str, ReportSpec]]:
    folder = tmp_path_factory.mktemp("notebooks")
    for name in ("ok", "fails", "hangs"):
        shutil.copy(FIXTURES / f"{name}.ipynb", folder)
    _fixture(folder, "aborts", "import os\nos.abort()")
    _fixture(folder, "swallows", "import time\ntry:\n    time.sleep(600)\nexcept Exception:\n    pass")
    _fixture(folder, "alarms", "import signal, time\nsignal.signal(signal.SIGALRM, lambda *a: None)\ntime.sleep(8)")
    _fixture(folder, "stuck", "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except BaseException:\n"
                              "        pass")
    _fixture(folder, "awaits", "import asyncio\nawait asyncio.sleep(0)\nprint('awaited')", _WRITE.format(name="awaits"))
    # The sleep lets a kernel process's watcher thread forward the descriptor's output before the
    # cell ends (ipykernel's own race); the warm engine drains it, which "echoes" checks.
    _fixture(folder, "prints", "import os, sys, time\nprint('to stdout')\n_ = os.system('echo from the file descriptor')"
             "\ntime.sleep(1)", _WRITE.format(name="prints"))
    _fixture(folder, "echoes", *(f"import os\n_ = os.system('echo out {n}; echo err {n} >&2')\n_ = os.write(1, b'raw {n}\\n')"
                                 for n in range(ECHOES)), _WRITE.format(name="echoes"))
    # does to descriptors 1 and 2 what a cell may: points 1 at a file, back, merges 2 into 1, closes 2
    _fixture(folder, "descriptors",
             "import os\nsaved = os.dup(1)\nlog = os.open(os.environ['AF_TEST_LOG'], os.O_WRONLY | os.O_CREAT)\n"
             "os.dup2(log, 1)\n_ = os.system('echo into the file')",
             "print('shown all the same')",
             "os.dup2(saved, 1)\n_ = os.system('echo back on the pipe')",
             "os.dup2(1, 2)\n_ = os.system('echo merged >&2')",
             "os.close(2)\nprint('after closing 2')", _WRITE.format(name="descriptors"))
    # leaves its files open, unflushed: a kernel's exit closes them before the outputs are checked
    _fixture(folder, "unclosed", _WRITE.format(name="unclosed").replace(
        'with zipfile.ZipFile(out / "unclosed.xlsx", "w") as zf:',
        'zf = zipfile.ZipFile(open(out / "unclosed.xlsx", "wb"), "w")\nif True:')
        .replace('(out / "unclosed.headline.json").write_text(json.dumps({"value": 1}))',
                 'kept = open(out / "unclosed.headline.json", "w")\nkept.write(json.dumps({"value": 1}))'))
    _fixture(folder, "spawns", "import subprocess\nsubprocess.Popen(['sleep', '4321'])", _WRITE.format(name="spawns"))
    _fixture(folder, "leaks", _LEAK, _WRITE.format(name="leaks"))
    # what a kernel process does that an in-process kernel did not: a forked process's prints, an
    # in-memory history, a kernel log of its own, comms (widget state), non-daemon threads and
    # atexit handlers waited for at the end
    _fixture(folder, "kernelish",
             "import os\npid = os.fork()\nif pid == 0:\n    print('from a fork', flush=True)\n    os._exit(0)\n"
             "_ = os.waitpid(pid, 0)",
             "import multiprocessing\nwith multiprocessing.get_context('fork').Pool(1) as pool:\n"
             "    pool.map(print, ['from a pool worker'])",
             "str(get_ipython().history_manager.hist_file)",
             "import logging, sys\nlogging.basicConfig(level=logging.DEBUG, stream=sys.stdout, force=True)",
             "print('a cell')",
             "import ipywidgets\nipywidgets.IntSlider(value=3)",
             "import atexit, threading, time\nW = " + repr(_WRITE.format(name="kernelish")) + "\n"
             "def later():\n    time.sleep(1)\n    exec(W, {'output_dir': output_dir})\n"
             "threading.Thread(target=later).start()\n"
             "atexit.register(lambda: open(os.path.join(output_dir, 'atexit.txt'), 'w').write('ran'))")
    specs = {name: ReportSpec(name, name, f"{name}.ipynb", COMMON_PARAMS, ()) for name in
             ("fails", "hangs", "aborts", "swallows", "alarms", "stuck")}
    specs["ok"] = ReportSpec("ok", "OK fixture", "ok.ipynb", COMMON_PARAMS + _ok_params(), ("value", "flag"))
    for name in ("leaks", "awaits", "prints", "echoes", "descriptors", "unclosed", "spawns", "kernelish"):
        specs[name] = ReportSpec(name, name, f"{name}.ipynb", COMMON_PARAMS, ("value",))
    return folder, specs


def _ok_params():
    from alliance_fin.run.params import ParamSpec

    return (ParamSpec("factor", "float", 1.0, "multiplier", min=0, max=10),)


def _cells(path: Path) -> list[dict]:
    """Cell type, source and outputs (execution counts and metadata dropped)."""
    nb = nbformat.read(str(path), as_version=4)
    return [{"type": c.cell_type, "source": c.source, "tags": c.metadata.get("tags", []),
             "outputs": [{k: v for k, v in o.items() if k != "execution_count"} for o in c.get("outputs", [])]}
            for c in nb.cells]


def _descendants() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


def _run(reports, out: Path, *, engine: str, executor=None, specs=None, notebooks_dir=None, **kw):
    plan = runner.plan_run(reports, out=str(out), force=True, engine=engine, specs=specs,
                           notebooks_dir=notebooks_dir, **kw)
    return runner.execute_plan(plan, stream=None, executor=executor)


def _run_both(reports, tmp_path: Path, **kw) -> dict[str, Path]:
    """Run ``reports`` with each engine into the same ``--out`` (so paths match); return engine -> copy."""
    out = tmp_path / "out"
    copies = {}
    for engine in ("kernel", "warm"):
        _run(reports, out, engine=engine, **kw)
        copies[engine] = tmp_path / engine
        shutil.move(out, copies[engine])
    return copies


# -- same documents ----------------------------------------------------------------------------


@pytest.mark.slow
def test_each_report_same_notebook_workbook_and_page(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    copies = _run_both(list(REPORT_SPECS), tmp_path)
    for report in REPORT_SPECS:
        kernel, warm = (copies[e] for e in ("kernel", "warm"))
        assert (warm / f"{report}.ipynb").is_file(), report
        assert _cells(warm / f"{report}.ipynb") == _cells(kernel / f"{report}.ipynb"), report
        pngs = [o for c in _cells(warm / f"{report}.ipynb") for o in c["outputs"] if "image/png" in o.get("data", {})]
        assert pngs, f"{report}: no figure in the executed notebook"
        assert (warm / f"{report}.xlsx").read_bytes() == (kernel / f"{report}.xlsx").read_bytes(), report
        assert (warm / f"{report}.html").read_bytes() == (kernel / f"{report}.html").read_bytes(), report


@pytest.mark.slow
def test_fixtures_same_notebooks_and_error_banner(tmp_path, monkeypatch, notebooks):
    folder, specs = notebooks
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    copies = _run_both(["ok", "fails"], tmp_path, specs=specs, notebooks_dir=folder)
    assert _cells(copies["warm"] / "ok.ipynb") == _cells(copies["kernel"] / "ok.ipynb")
    failed = _cells(copies["warm"] / "fails.failed.ipynb")
    assert failed == _cells(copies["kernel"] / "fails.failed.ipynb")
    assert any("papermill-error-cell-tag" in c["tags"] for c in failed)
    assert any("injected-parameters" in c["tags"] for c in failed)


# -- isolation ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_raise_hang_and_abort_leave_the_others_complete(tmp_path, notebooks):
    folder, specs = notebooks
    before = {p.pid for p in _descendants()}
    result = _run(["ok", "fails", "hangs", "aborts", "swallows", "alarms"], tmp_path / "out", engine="warm",
                  specs=specs, notebooks_dir=folder, timeout=5, jobs=6)
    status = {r["report"]: (r["status"], r["error"] or "") for r in result.results}
    assert result.exit_code == 1
    assert status["ok"] == ("ok", "")
    assert status["fails"][0] == "failed" and "raised ValueError: boom from fixture" in status["fails"][1]
    assert status["hangs"][0] == "failed" and "timed out after 5 s" in status["hangs"][1]
    assert status["aborts"] == ("failed", "aborts: cell 3 (In [3]) ended the report's process (SIGABRT)")
    # the timeout is not an Exception a cell's `except Exception` could swallow
    assert status["swallows"] == ("failed", "swallows: cell 3 timed out after 5 s")
    # a cell that took SIGALRM over is not interrupted, but ran past the timeout all the same
    assert status["alarms"] == ("failed", "alarms: cell 3 timed out after 5 s")
    assert sorted(os.listdir(result.out)) == ["aborts.failed.ipynb", "alarms.failed.ipynb", "fails.failed.ipynb",
                                              "hangs.failed.ipynb", "index.html", "manifest.json", "ok.html",
                                              "ok.ipynb", "ok.xlsx", "swallows.failed.ipynb"]
    assert {p.pid for p in _descendants()} <= before  # zygote and every report process gone


@pytest.mark.slow
def test_a_cell_stuck_past_every_interrupt_is_killed_with_its_cell_named(tmp_path, notebooks, monkeypatch):
    from alliance_fin.run import executors

    folder, specs = notebooks
    monkeypatch.setattr(executors, "KILL_GRACE_S", 2.0)
    result = _run(["stuck"], tmp_path / "out", engine="warm", specs=specs, notebooks_dir=folder, timeout=2)
    error = result.results[0]["error"]
    assert result.exit_code == 1
    assert error.startswith("stuck: cell 3 (In [3]) was killed after ") and error.endswith(" s (timeout 2 s)"), error
    assert sorted(os.listdir(result.out)) == ["index.html", "manifest.json", "stuck.failed.ipynb"]


@pytest.mark.slow
def test_processes_a_report_started_end_with_it(tmp_path, notebooks):
    """A report's own background process goes with the report (a kernel's shutdown takes its group too)."""
    folder, specs = notebooks

    def sleepers() -> list[psutil.Process]:
        return [p for p in psutil.process_iter(["cmdline", "status"])
                if (p.info["cmdline"] or [])[-2:] == ["sleep", "4321"] and p.info["status"] != psutil.STATUS_ZOMBIE]

    result = _run(["spawns"], tmp_path / "out", engine="warm", specs=specs, notebooks_dir=folder)
    assert result.exit_code == 0, result.results[0]["error"]
    deadline = time.monotonic() + 5
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers() == []


@pytest.mark.slow
def test_a_zygote_that_dies_mid_run_is_named_not_the_cell(tmp_path, notebooks):
    import threading

    folder, specs = notebooks
    plan = runner.plan_run(["hangs"], out=str(tmp_path / "out"), force=True, specs=specs, notebooks_dir=folder)
    (tmp_path / "staging").mkdir()
    jobs = runner.build_jobs(plan, tmp_path / "staging")
    pool = ProcessPool(1, 600, engine="warm")
    results: list[dict] = []
    worker = threading.Thread(target=lambda: results.extend(pool.run(jobs, lambda text: None)))
    try:
        worker.start()
        zygote = psutil.Process(pool.zygote.proc.pid)
        deadline = time.monotonic() + 120
        while not any(p.name() == PROCESS_NAME for p in zygote.children()):
            assert time.monotonic() < deadline, "the report did not start"
            time.sleep(0.05)
        zygote.kill()
        worker.join(30)
    finally:
        pool.close()
    assert [r["error"] for r in results] == ["hangs: the warm engine's zygote died while the report ran"]


@pytest.mark.slow
def test_fixtures_await_and_print_as_in_a_kernel(tmp_path, monkeypatch, notebooks):
    """Top-level await, and output written to the file descriptors (os.system), as the kernel engine has them."""
    folder, specs = notebooks
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # ipykernel leaves the descriptors alone under pytest
    copies = _run_both(["awaits", "prints"], tmp_path, specs=specs, notebooks_dir=folder)
    assert _cells(copies["warm"] / "awaits.ipynb") == _cells(copies["kernel"] / "awaits.ipynb")

    def streams(path: Path) -> list[str]:  # how a process's writes are cut into messages is timing
        return ["".join(o.get("text", "") for o in c["outputs"] if o.get("output_type") == "stream")
                for c in _cells(path)]

    assert streams(copies["warm"] / "prints.ipynb") == streams(copies["kernel"] / "prints.ipynb")
    texts = "".join(streams(copies["warm"] / "prints.ipynb"))
    assert "to stdout" in texts and "from the file descriptor" in texts
    assert "awaited" in "".join(o.get("text", "") for c in _cells(copies["warm"] / "awaits.ipynb") for o in c["outputs"])


@pytest.mark.slow
def test_what_a_kernel_process_does_the_warm_engine_does(tmp_path, monkeypatch, notebooks):
    """Forked processes' output, history in memory, no kernel log in the cells, widget state, and a
    notebook's non-daemon threads and atexit handlers waited for, as a kernel's exit waits."""
    import re

    folder, specs = notebooks
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    copies = _run_both(["kernelish"], tmp_path, specs=specs, notebooks_dir=folder)

    def cells(engine: str) -> list[dict]:
        for c in (cells := _cells(copies[engine] / "kernelish.ipynb")):
            c["outputs"] = [o for o in c["outputs"] if "DEBUG:matplotlib" not in o.get("text", "")]  # imported earlier
        return json.loads(re.sub(r'"model_id": "[0-9a-f]+"', '"model_id": ""', json.dumps(cells)))

    assert cells("warm") == cells("kernel")
    texts = json.dumps(cells("warm"))
    assert "from a fork" in texts and "from a pool worker" in texts and ":memory:" in texts
    assert "ipykernel" not in texts
    for engine, copy in copies.items():
        nb = nbformat.read(str(copy / "kernelish.ipynb"), as_version=4)
        state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        assert any(m["model_name"] == "IntSliderModel" for m in state.values()), engine


@pytest.mark.slow
def test_each_cell_keeps_what_it_wrote_to_the_descriptors(tmp_path, monkeypatch, notebooks):
    """Output written to descriptors 1 and 2 just before a cell ends is that cell's, every time."""
    folder, specs = notebooks
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    _run(["echoes"], tmp_path / "out", engine="warm", specs=specs, notebooks_dir=folder)
    cells = [c for c in _cells(tmp_path / "out" / "echoes.ipynb") if "os.system" in c["source"]]

    def text(cell: dict, name: str) -> str:
        return "".join(o["text"] for o in cell["outputs"] if o.get("output_type") == "stream" and o["name"] == name)

    assert [(text(c, "stdout"), text(c, "stderr")) for c in cells] == [
        (f"out {n}\nraw {n}\n", f"err {n}\n") for n in range(ECHOES)]


def test_a_relative_notebooks_folder_is_found_from_the_report_process(tmp_path, monkeypatch, notebooks):
    """A report process works in its staging folder: the plan holds the notebook's absolute path."""
    folder, specs = notebooks
    monkeypatch.chdir(folder.parent)
    result = _run(["ok"], tmp_path / "out", engine="warm", specs=specs, notebooks_dir=folder.name)
    assert [r["status"] for r in result.results] == ["ok"], [r["error"] for r in result.results]


@pytest.mark.slow
def test_cells_that_move_the_descriptors_keep_their_output(tmp_path, monkeypatch, notebooks):
    """Draining writes its markers to the pipe itself, never to what descriptor 1 or 2 became."""
    folder, specs = notebooks
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.setenv("AF_TEST_LOG", str(tmp_path / "cell.log"))
    result = _run(["descriptors"], tmp_path / "out", engine="warm", specs=specs, notebooks_dir=folder)
    assert [r["status"] for r in result.results] == ["ok"], [r["error"] for r in result.results]
    assert (tmp_path / "cell.log").read_bytes() == b"into the file\n"  # no marker in the cell's file
    streams = ["".join(o["text"] for o in c["outputs"] if o.get("output_type") == "stream")
               for c in _cells(tmp_path / "out" / "descriptors.ipynb")[3:8]]
    assert streams == ["", "shown all the same\n", "back on the pipe\n", "merged\n", "after closing 2\n"]


@pytest.mark.slow
def test_files_a_notebook_left_open_are_closed_before_its_outputs_are_checked(tmp_path, notebooks):
    """As a kernel's exit closes them: the workbook and headline a notebook never closed are whole."""
    folder, specs = notebooks
    copies = _run_both(["unclosed"], tmp_path, specs=specs, notebooks_dir=folder)
    for engine, copy in copies.items():
        manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["reports"]["unclosed"]["status"] == "ok", (engine, manifest["reports"]["unclosed"])
        assert manifest["reports"]["unclosed"]["headline"] == {"value": 1}, engine


@pytest.mark.slow
def test_no_state_passes_between_reports(tmp_path, notebooks):
    """One zygote, one slot: the second report starts from a clean state (rcParams, figures, globals, cwd)."""
    folder, specs = notebooks
    pool = ProcessPool(1, 60, engine="warm")
    try:
        for n in range(2):
            result = _run(["leaks"], tmp_path / f"out{n}", engine="warm", specs=specs, notebooks_dir=folder,
                          executor=pool)
            assert result.exit_code == 0, result.results[0]["error"]
    finally:
        pool.close()


@pytest.mark.slow
def test_two_currencies_back_to_back_equal_each_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "out"

    def savings(currency: str, pool: ProcessPool, name: str) -> Path:
        _run(["savings"], out, engine="warm", executor=pool, overrides=[f"currency={currency}"])
        shutil.move(out, tmp_path / name)
        return tmp_path / name

    shared, alone = ProcessPool(1, 600, engine="warm"), ProcessPool(1, 600, engine="warm")
    try:
        gbp_first, jpy_after = savings("GBP", shared, "gbp1"), savings("JPY", shared, "jpy2")
        jpy_alone, gbp_after = savings("JPY", alone, "jpy1"), savings("GBP", alone, "gbp2")
    finally:
        shared.close()
        alone.close()
    for a, b in ((gbp_first, gbp_after), (jpy_alone, jpy_after)):
        assert (a / "savings.xlsx").read_bytes() == (b / "savings.xlsx").read_bytes()
        assert _cells(a / "savings.ipynb") == _cells(b / "savings.ipynb")
    assert (gbp_first / "savings.xlsx").read_bytes() != (jpy_alone / "savings.xlsx").read_bytes()


# -- the zygote ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_zygote_kills_a_report_whose_client_left_and_exits_on_close(tmp_path, notebooks):
    folder, specs = notebooks
    plan = runner.plan_run(["hangs"], out=str(tmp_path / "out"), force=True, specs=specs, notebooks_dir=folder)
    (tmp_path / "staging").mkdir()
    job = runner.build_jobs(plan, tmp_path / "staging")[0]
    zygote = Zygote(Path(tempfile.mkdtemp(prefix="afz-")))
    try:
        child = zygote.submit(job, str(tmp_path / "1.json"))
        report = psutil.Process(child.pid)
        deadline = time.monotonic() + 10
        while report.name() != PROCESS_NAME and time.monotonic() < deadline:  # named just after the fork
            time.sleep(0.02)
        assert report.name() == PROCESS_NAME
        assert child.poll() is None
        child.conn.close()  # the pool was killed
        report.wait(10)
        assert not report.is_running() or report.status() == psutil.STATUS_ZOMBIE
        second = zygote.submit(job, str(tmp_path / "2.json"))
        pid = second.pid
    finally:
        zygote.close()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert zygote.proc.poll() is not None
    shutil.rmtree(zygote.folder, ignore_errors=True)


def test_engine_is_checked_with_the_plan(tmp_path):
    assert runner.plan_run(["savings"], engine="kernel", out=str(tmp_path / "a")).engine == "kernel"
    assert runner.plan_run(["savings"], out=str(tmp_path / "b")).engine == "warm"
    with pytest.raises(ParameterError, match="--engine fast: choose from warm, kernel"):
        runner.plan_run(["savings"], engine="fast", out=str(tmp_path / "c"))
    assert not any(tmp_path.iterdir())


def test_cli_engine_flag():
    from alliance_fin.cli import _parser

    assert _parser().parse_args(["run"]).engine == "warm"
    assert _parser().parse_args(["sweep", "g.yaml", "--engine", "kernel"]).engine == "kernel"


@pytest.mark.slow
def test_papermill_cli_runs_the_warm_engine_in_its_own_process(tmp_path):
    """``papermill --engine warm`` (the entry point) executes in papermill's process: no kernel starts."""
    import subprocess

    out = tmp_path / "ok.ipynb"
    cmd = [sys.executable, "-m", "papermill", "--engine", "warm", str(FIXTURES / "ok.ipynb"), str(out),
           "-p", "output_dir", str(tmp_path), "-p", "factor", "2.0"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path, timeout=300)
    nb = nbformat.read(str(out), as_version=4)
    assert nb.metadata.papermill.parameters["factor"] == 2.0
    assert nb.metadata.language_info.name == "python"
    assert all(c.metadata.papermill.status == "completed" for c in nb.cells)
    assert (tmp_path / "ok.headline.json").is_file()


_API_SCRIPT = """\
import asyncio, os, sys, threading, time
import nbformat, papermill as pm
nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
cell = nbformat.v4.new_code_cell("x = 1")
cell.metadata["tags"] = ["parameters"]
# a kernel's streams have a descriptor (faulthandler takes sys.stderr's)
fault = nbformat.v4.new_code_cell("import faulthandler\\nfaulthandler.enable()\\nfaulthandler.disable()")
nb.cells = [cell, fault, nbformat.v4.new_code_cell("print(x * 2)")]
nbformat.write(nb, "in.ipynb")

def run(case):
    out = pm.execute_notebook("in.ipynb", case + ".ipynb", parameters={"x": 21}, engine_name="warm",
                              progress_bar=False, execution_timeout=30)
    print(case, out.cells[-1].outputs[0]["text"].strip(), "MPLBACKEND" in os.environ, flush=True)

main = sys.modules["__main__"]
run("main")
print("__main__ kept", sys.modules["__main__"] is main, flush=True)
from ipykernel.inprocess.ipkernel import InProcessKernel
from ipykernel.kernelbase import Kernel
print("kernel singleton left", Kernel.initialized() or InProcessKernel.initialized(), flush=True)
thread = threading.Thread(target=run, args=("thread",))
thread.start()
thread.join()

async def from_async_code():
    run("loop")

asyncio.run(from_async_code())

slow = nbformat.v4.new_notebook(metadata=nb.metadata)
slow.cells = [cell, nbformat.v4.new_code_cell("import time\\ntime.sleep(4)\\nprint(x * 2, type(get_ipython()).__name__)")]
nbformat.write(slow, "slow.ipynb")
texts = {}

def at_once(x):
    out = pm.execute_notebook("slow.ipynb", f"at-once-{x}.ipynb", parameters={"x": x}, engine_name="warm",
                              progress_bar=False)
    texts[x] = "".join(o["text"] for o in out.cells[-1].outputs if o.get("name") == "stdout").strip()

first = threading.Thread(target=at_once, args=(1,))
second = threading.Thread(target=at_once, args=(2,))
first.start()
time.sleep(1)
second.start()
first.join()
second.join()
print("at once", texts[1], texts[2], flush=True)
"""


def test_through_papermill_api_anywhere_it_is_called(tmp_path):
    """papermill's API with the warm engine: in the main thread it executes in-process and leaves
    nothing behind (no MPLBACKEND, the caller's __main__, no asyncio or debugger noise); from
    another thread with a timeout, from async code, or while another thread's notebook executes
    in-process, it says why not and executes in a kernel process instead. A cell's streams have a
    descriptor, as a kernel's do; the kernel singleton (comms publish through it) is gone after."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", _API_SCRIPT], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["main 42 False", "__main__ kept True", "kernel singleton left False",
                                        "thread 42 False", "loop 42 False",
                                        "at once 2 InProcessInteractiveShell 4 ZMQInteractiveShell"]
    assert "Task was destroyed" not in done.stderr and "debugger" not in done.stderr, done.stderr
    assert "warm engine: execution_timeout is enforced with SIGALRM, which only the main thread receives" in done.stderr
    assert "warm engine: this thread runs an asyncio event loop" in done.stderr
    nb = nbformat.read(str(tmp_path / "main.ipynb"), as_version=4)
    assert nb.metadata.papermill.parameters == {"x": 21}


@pytest.mark.slow
def test_through_papermill_api_from_a_jupyter_kernel(tmp_path):
    """A notebook that calls papermill with the warm engine (the kernel has a shell of its own)."""
    from nbclient import NotebookClient

    _fixture(tmp_path, "inner", "print(factor_x * 2)")
    inner = nbformat.read(str(tmp_path / "inner.ipynb"), as_version=4)
    inner.cells[1].source = "factor_x = 1"
    nbformat.write(inner, str(tmp_path / "inner.ipynb"))
    outer = nbformat.v4.new_notebook(metadata=_OK.metadata)
    outer.cells = [nbformat.v4.new_code_cell(
        "import papermill as pm\n"
        "nb = pm.execute_notebook('inner.ipynb', 'inner-out.ipynb', parameters={'factor_x': 21}, engine_name='warm',"
        " progress_bar=False)\n"
        "print(nb.cells[-1].outputs[0]['text'].strip())")]
    NotebookClient(outer, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = "".join(o.get("text", "") for o in outer.cells[0].outputs)
    assert "42" in texts.splitlines(), outer.cells[0].outputs


def test_the_warm_engine_stands_in_only_for_a_python_kernel(tmp_path, monkeypatch):
    import json as _json

    from alliance_fin.run.warm_engine import check_kernel

    kernels = tmp_path / "kernels"
    for name, argv, language in (("other-python", ["/usr/bin/python-elsewhere", "-m", "ipykernel_launcher"], "python"),
                                 ("ir", ["R", "--slave"], "R")):
        (kernels / name).mkdir(parents=True)
        (kernels / name / "kernel.json").write_text(_json.dumps({"argv": argv, "display_name": name,
                                                                 "language": language}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    for name in (None, "other-python", "no-such-kernel"):  # executed in this Python all the same
        check_kernel(name)
    with pytest.raises(ValueError, match="kernel 'ir' is for R: use another papermill engine"):
        check_kernel("ir")


def test_zygote_preloads_every_report_of_the_registry():
    """A report forked from the zygote must not pay a report's imports (the fourth report once did)."""
    import subprocess

    code = ("import sys; from alliance_fin.run.zygote import preload; preload(); "
            "from alliance_fin.registry import REPORT_SPECS; "
            "missing = [t.split(':')[0] for s in REPORT_SPECS.values() for t in (s.builder, s.writer) "
            "if t.split(':')[0] not in sys.modules]; "
            "missing += [m for m in ('matplotlib.backends.backend_agg', 'matplotlib_inline.backend_inline') "
            "if m not in sys.modules]; print(missing)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_a_report_process_imports_nothing_the_zygote_did_not(tmp_path):
    """What running a whole job imports (papermill, the in-process kernel, the report, the page) is preloaded."""
    import subprocess

    plan = runner.plan_run(["savings"], out=str(tmp_path / "out"), force=True)
    (tmp_path / "staging").mkdir()
    job = runner.build_jobs(plan, tmp_path / "staging")[0]
    code = ("import json, sys; from alliance_fin.run.zygote import preload; preload(); before = set(sys.modules); "
            "from alliance_fin.run.execute import run_report_job; "
            f"result = run_report_job({{**json.loads({json.dumps(json.dumps(job))}), 'engine': 'warm'}}); "
            "print(json.dumps([result['status'], sorted(set(sys.modules) - before)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path / "staging", timeout=300).stdout
    assert json.loads(out.strip().splitlines()[-1]) == ["ok", []]


def test_end_of_cell_markers_are_cut_out_even_when_a_read_splits_one():
    from alliance_fin.run.warm_kernel import DRAINED, cut_at_markers

    assert cut_at_markers(b"a\nb") == ([], b"a\nb", b"")
    assert cut_at_markers(b"a" + DRAINED + b"b" + DRAINED) == ([b"a", b"b"], b"", b"")
    head, tail = DRAINED[:5], DRAINED[5:]
    assert cut_at_markers(b"out" + head) == ([], b"out", head)  # kept for the next read
    assert cut_at_markers(head + tail + b"next") == ([b""], b"next", b"")
    assert cut_at_markers(b"ends with \x00") == ([], b"ends with ", b"\x00")


def test_readable_takes_descriptors_past_fd_setsize():
    """select.select refuses a descriptor number of 1024 or more; the zygote's loops must not."""
    import resource
    import socket

    from alliance_fin.run.zygote import readable

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    number = 2050 if hard == resource.RLIM_INFINITY else min(2050, hard - 1)
    if number < 1024:
        pytest.skip(f"this machine allows {hard} descriptors a process: none is past FD_SETSIZE")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, number + 1), hard))
    a, b = socket.socketpair()
    high = socket.socket(fileno=os.dup2(a.fileno(), number))
    try:
        assert readable([high, b.fileno()], 0.05) == []
        assert readable([high], 0.0001) == []  # under a millisecond: a poll, not a wait forever
        b.sendall(b"x")
        assert readable([high, b.fileno()], 1.0) == [high]
        assert high.recv(1) == b"x"
        b.close()  # the peer hangs up: readable, and the read finds the end
        assert readable([high], 1.0) == [high] and high.recv(1) == b""
    finally:
        for sock in (high, a, b):
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
