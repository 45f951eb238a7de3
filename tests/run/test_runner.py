"""The runner: refusals before any kernel, and real papermill runs of tiny fixture notebooks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from alliance_fin.errors import InputError, ParameterError
from alliance_fin.run import publish, runner
from alliance_fin.run.params import COMMON_PARAMS, ParamSpec, ReportSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
EPOCH = "1600000000"  # 2020-09-13T12:26:40Z
SPECS = {
    "ok": ReportSpec("ok", "OK fixture", "ok.ipynb",
                     COMMON_PARAMS + (ParamSpec("factor", "float", 1.0, "multiplier", min=0, max=10),),
                     ("value", "flag")),
    "fails": ReportSpec("fails", "Failing fixture", "fails.ipynb", COMMON_PARAMS),
    "noheadline": ReportSpec("noheadline", "No headline", "noheadline.ipynb", COMMON_PARAMS),
    "hangs": ReportSpec("hangs", "Hanging fixture", "hangs.ipynb", COMMON_PARAMS),
}


def run(reports, **kw):
    kw.setdefault("timeout", 60)
    return runner.run_reports(reports, specs=SPECS, notebooks_dir=FIXTURES, stream=None, **kw)


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def kernels_under(folder: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(folder in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture
def kernel_tmp(monkeypatch):
    """A private temp folder, so kernels started by this test can be found by their cmdline."""
    folder = tempfile.mkdtemp(prefix="aft-")
    monkeypatch.setattr(tempfile, "tempdir", folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# -- refusals: nothing written, no kernel ------------------------------------------------------


@pytest.mark.parametrize(
    "reports, options, error, expected",
    [
        (["nope"], {}, ParameterError, "unknown report nope"),
        (["ok"], {"overrides": ["factor=abc"]}, ParameterError, "factor (-p): value 'abc'"),
        (["ok"], {"overrides": ["factor=11"]}, ParameterError, "expected number from 0 to 10"),
        (["fails"], {"overrides": ["factor=1"]}, ParameterError, "no selected report (fails) declares it"),
        (["ok"], {"overrides": ["scenario=../evil"]}, ParameterError, "scenario (-p)"),
        (["ok"], {"data": "missing.csv"}, InputError, "data file missing.csv: not found"),
        (["ok"], {"jobs": 0}, ParameterError, "--jobs 0"),
        (["ok"], {"timeout": 0}, ParameterError, "--timeout 0"),
    ],
    ids=["unknown-report", "wrong-type", "out-of-range", "undeclared", "unsafe-scenario", "missing-data",
         "jobs", "timeout"],
)
def test_refusals_write_nothing(tmp_path, monkeypatch, reports, options, error, expected):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(error) as info:
        run(reports, out=str(out), **options)
    assert expected in info.value.report()
    assert tree(tmp_path) == []


def test_all_problems_in_one_refusal(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("factor: [1\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        run(["ok", "nope"], params_file=str(params), data=str(tmp_path / "x.csv"), jobs=0)
    text = info.value.report()
    for part in ("x.csv: not found", "unknown report nope", "line 2", "--jobs 0"):
        assert part in text
    assert tree(tmp_path) == ["p.yaml"]


def test_invalid_data_file_refused(tmp_path):
    pytest.importorskip("alliance_fin.inputs.load")
    bad = tmp_path / "bad.csv"
    bad.write_text("model_id,member\nX1,Toyota\n", encoding="utf-8")
    with pytest.raises(InputError):
        run(["ok"], data=str(bad), out=str(tmp_path / "out"))
    assert tree(tmp_path) == ["bad.csv"]


def test_non_empty_out_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(ParameterError) as info:
        run(["ok"], out=str(out))
    assert "not empty (use --force" in info.value.report()
    assert tree(tmp_path) == ["out", "out/keep.txt"]
    plan = runner.plan_run(["ok"], specs=SPECS, notebooks_dir=FIXTURES, out=str(out), force=True)
    assert plan.out == out.resolve()


def test_plan_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(runner.paths, "REPORTS_DIR", tmp_path)
    (tmp_path / "20200913-122640_low").mkdir()
    plan = runner.plan_run([], specs={"ok": SPECS["ok"]}, notebooks_dir=FIXTURES, overrides=["scenario=low"])
    assert plan.reports == ["ok"] and plan.jobs == 1 and plan.timeout == runner.DEFAULT_TIMEOUT_S
    assert plan.created == "2020-09-13T12:26:40Z" and plan.run_id == "20200913-122640_low"
    assert plan.out == tmp_path / "20200913-122640_low-2"  # an existing default folder is never reused
    assert plan.parameters["ok"]["scenario"] == "low" and plan.reproducible


def test_publish_with_force_replaces_only_bundle_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("ok.failed.ipynb", "fails.html", "manifest.json", "notes.txt", "pack.pdf"):  # pack.pdf: of the old run
        (out / name).write_text("old")
    staging = tmp_path / ".staging"
    staging.mkdir()
    for name in ("ok.xlsx", "ok.html", "manifest.json", ".ok.running.ipynb"):
        (staging / name).write_text("new")
    plan = runner.plan_run(["ok"], specs=SPECS, notebooks_dir=FIXTURES, out=str(out), force=True)
    publish.publish_bundle(staging, plan.out, ["ok.xlsx", "ok.html", "manifest.json"], plan.specs)
    assert tree(tmp_path) == ["out", "out/manifest.json", "out/notes.txt", "out/ok.html", "out/ok.xlsx"]
    assert (out / "manifest.json").read_text() == "new"


# -- real kernels -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """One run of ok + fails + noheadline in parallel, reproducible time."""
    out = tmp_path_factory.mktemp("bundle") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        result = run(["ok", "fails", "noheadline"], out=str(out), jobs=2, overrides=["factor=2.5"])
    return result


@pytest.mark.slow
def test_bundle_contents(bundle):
    out = bundle.out
    assert bundle.exit_code == 1
    assert sorted(os.listdir(out)) == ["fails.failed.ipynb", "index.html", "manifest.json",
                                       "noheadline.failed.ipynb", "ok.html", "ok.ipynb", "ok.xlsx"]
    assert [p.name for p in out.parent.iterdir()] == ["run"]  # staging removed
    assert zipfile.is_zipfile(out / "ok.xlsx")


@pytest.mark.slow
def test_manifest(bundle):
    manifest = json.loads((bundle.out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest) >= {"run_id", "created", "alliance_fin_version", "parameters", "data", "reports"}
    assert manifest["created"] == "2020-09-13T12:26:40Z"
    assert manifest["run_id"] == "20200913-122640_base-" + runner.parameters_hash({"factor": 2.5})
    assert set(manifest["data"]) == {"path", "sha256", "rows"} and len(manifest["data"]["sha256"]) == 64
    assert manifest["parameters"]["ok"]["factor"] == 2.5
    ok = manifest["reports"]["ok"]
    assert ok["status"] == "ok" and ok["headline"] == {"value": 5.0, "flag": True, "years": 5}
    assert set(ok["outputs"]) == {"ok.xlsx", "ok.ipynb", "ok.html"}
    assert all(len(h) == 64 for h in ok["outputs"].values())
    assert manifest["reports"]["fails"]["status"] == "failed"
    assert manifest["reports"]["fails"]["outputs"].keys() == {"fails.failed.ipynb"}


@pytest.mark.slow
def test_failure_message_and_failed_notebook(bundle):
    fails = next(r for r in bundle.results if r["report"] == "fails")
    assert fails["error"] == "fails: cell 5 (In [5]) raised ValueError: boom from fixture"
    nb = json.loads((bundle.out / "fails.failed.ipynb").read_text(encoding="utf-8"))
    assert any("papermill-error-cell-tag" in c["metadata"].get("tags", []) for c in nb["cells"])
    noheadline = next(r for r in bundle.results if r["report"] == "noheadline")
    assert "wrote no noheadline.headline.json" in noheadline["error"]


@pytest.mark.slow
def test_executed_notebook_points_at_final_folder(bundle):
    text = (bundle.out / "ok.ipynb").read_text(encoding="utf-8")
    assert ".staging-" not in text and str(bundle.out) in text
    nb = json.loads(text)
    injected = next(c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    source = "".join(injected["source"])
    for name in ("factor = 2.5", "output_dir = ", "run_id = ", "created = ", "data_path = "):
        assert name in source
    assert "start_time" not in json.dumps(nb["metadata"])  # SOURCE_DATE_EPOCH: no timings


@pytest.mark.slow
def test_html_report_from_real_run(bundle):
    from test_html_export import assert_self_contained, scan

    for name in ("ok.html", "index.html"):
        text = (bundle.out / name).read_text(encoding="utf-8")
        assert_self_contained(text)
    text = (bundle.out / "ok.html").read_text(encoding="utf-8")
    assert "pathlib.Path(output_dir)" not in text and "a warning" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert any(t == "img" for t, _ in scan(text).tags)


@pytest.mark.slow
def test_jobs_one_gives_same_outputs(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    again = run(["ok", "fails", "noheadline"], out=str(tmp_path / "run"), jobs=1, overrides=["factor=2.5"])
    first = json.loads((bundle.out / "manifest.json").read_text(encoding="utf-8"))
    second = json.loads((again.out / "manifest.json").read_text(encoding="utf-8"))
    for manifest in (first, second):
        for rep in manifest["reports"].values():
            rep.pop("seconds")
            rep["outputs"].pop("ok.ipynb", None)  # holds its own output folder
            rep["outputs"].pop("fails.failed.ipynb", None)
            rep["outputs"].pop("noheadline.failed.ipynb", None)
    assert first == second  # same headline numbers, same xlsx and html bytes


@pytest.mark.slow
def test_kernel_engine_timeout_is_said_once_with_its_report(tmp_path):
    """nbclient's own "Timeout waiting for execute reply" names no report; the runner's line does.
    (A process of its own: under pytest, log records go to pytest's handler, not to stderr.)"""
    script = (
        "import sys\n"
        "from alliance_fin.run import runner\n"
        "from alliance_fin.run.params import COMMON_PARAMS, ReportSpec\n"
        "specs = {'hangs': ReportSpec('hangs', 'hangs', 'hangs.ipynb', COMMON_PARAMS)}\n"
        f"runner.run_reports(['hangs'], specs=specs, notebooks_dir={str(FIXTURES)!r}, out={str(tmp_path / 'run')!r},\n"
        "                   timeout=2, engine='kernel', stream=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "hangs: cell 3 timed out after 2 s" in done.stderr, done.stderr
    assert "Timeout waiting for execute reply" not in done.stderr and "Kernel died" not in done.stderr, done.stderr


@pytest.mark.slow
def test_timeout_kills_nothing_left(tmp_path, kernel_tmp):
    start = time.monotonic()
    result = run(["hangs", "ok"], out=str(tmp_path / "run"), timeout=3, jobs=2)
    assert time.monotonic() - start < 40
    hangs = next(r for r in result.results if r["report"] == "hangs")
    assert hangs["status"] == "failed" and "timed out after 3 s" in hangs["error"]
    assert "cell 3" in hangs["error"]
    assert result.exit_code == 1 and (result.out / "hangs.failed.ipynb").is_file()
    assert (result.out / "ok.html").is_file()
    time.sleep(0.5)
    assert kernels_under(kernel_tmp) == []


@pytest.mark.slow
def test_ctrl_c_kills_kernels_and_removes_staging(tmp_path):
    from conftest import ctrl_c_as_in_a_terminal  # here: go.py imports this module without tests/ on its path
    folder = tempfile.mkdtemp(prefix="afc-")
    script = tmp_path / "go.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_runner import run
        run(["hangs"], out={str(tmp_path / "out" / "run")!r}, timeout=120)
    """), encoding="utf-8")
    env = {**os.environ, "TMPDIR": folder}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE,
                            preexec_fn=ctrl_c_as_in_a_terminal)
    try:
        deadline = time.monotonic() + 60
        while not any("ipykernel" in " ".join(p.cmdline()) or p.name() == "af-report"  # kernel or warm
                      for p in kernels_under(folder)):
            assert time.monotonic() < deadline, "kernel did not start"
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        assert proc.returncode != 0
        assert b"KeyboardInterrupt" in proc.stderr.read()
        time.sleep(0.5)
        assert kernels_under(folder) == []
        out_parent = tmp_path / "out"
        assert not out_parent.exists() or list(out_parent.iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


# -- the folder says when the parameters are not the defaults (issue 15) -------------------------


@pytest.mark.parametrize(("overrides", "differ"), [
    pytest.param([], {}, id="defaults-no-hash"),
    pytest.param(["scenario=low"], {}, id="scenario-alone-is-a-label"),
    pytest.param(["factor=2", "currency=gbp"], {"currency": "GBP", "factor": 2.0}, id="two-differ"),
    pytest.param(["factor=1.0"], {}, id="default-value-given"),
])
def test_folder_and_run_id_name_differing_parameters(tmp_path, monkeypatch, overrides, differ):
    monkeypatch.setattr(runner.paths, "REPORTS_DIR", tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    plan = runner.plan_run(["ok"], overrides=overrides, specs=SPECS, notebooks_dir=FIXTURES)
    scenario = "low" if "scenario=low" in overrides else "base"
    assert plan.parameters_differ == differ
    expected = f"20200913-122640_{scenario}" + (f"-{runner.parameters_hash(differ)}" if differ else "")
    assert plan.out == tmp_path / expected and plan.run_id == expected
    assert list(tmp_path.iterdir()) == []  # planning writes nothing


def test_parameters_hash_is_short_and_depends_on_the_values():
    a = runner.parameters_hash({"currency": "GBP", "max_saving_rate": 0.3})
    assert len(a) == 8 and a == runner.parameters_hash({"max_saving_rate": 0.3, "currency": "GBP"})
    assert a != runner.parameters_hash({"currency": "GBP", "max_saving_rate": 0.35})


def test_manifest_records_what_differs(tmp_path):
    out = tmp_path / "b"
    run(["ok"], out=str(out), overrides=["factor=3"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters_differ"] == {"factor": 3.0}
    assert manifest["parameters_hash"] == runner.parameters_hash({"factor": 3.0})
    assert "differ from the defaults: factor=3.0" in (out / "index.html").read_text()


def test_a_mistyped_report_gets_a_did_you_mean(tmp_path):
    with pytest.raises(ParameterError) as err:
        runner.plan_run(["okay"], out=str(tmp_path / "x"), specs=SPECS, notebooks_dir=FIXTURES)
    assert "unknown report okay (did you mean ok?)" in " ".join(err.value.problems)
