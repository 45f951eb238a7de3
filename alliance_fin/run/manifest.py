"""A bundle's ``manifest.json`` and ``index.html``, then publishing it (for ``run`` and ``sweep``).

The manifest records what a run was made from (version, notebook hashes, parameters, the data
file's name, hash and rows) and what it made (per report: status, seconds, output hashes,
headline); ``sweep`` reuses a complete bundle whose manifest matches. The index page is built
from the manifest alone, so ``pack`` can rewrite it later.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alliance_fin import __version__
from alliance_fin.files import sha256_file
from alliance_fin.run.publish import BUNDLE_FILES, publish_bundle, write_text_atomic

if TYPE_CHECKING:
    from alliance_fin.run.runner import RunPlan

__all__ = ["build_manifest", "finish_bundle", "notebook_hashes", "parameters_hash"]


def parameters_hash(differ: Mapping[str, Any]) -> str:
    """A short hash (8 hex digits) of the differing parameters, for folder names and run ids."""
    text = json.dumps(dict(differ), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def notebook_hashes(plan: RunPlan) -> dict[str, str]:
    """Report -> SHA-256 of the notebook it runs (recorded in the manifest; sweeps reuse bundles by it)."""
    return {r: _notebook_sha256(str(plan.notebooks_dir / plan.specs[r].notebook)) for r in plan.reports}


@functools.lru_cache(maxsize=64)
def _notebook_sha256(path: str) -> str:
    return sha256_file(path)


def build_manifest(plan: RunPlan, results: list[dict[str, Any]], staging: Path) -> dict[str, Any]:
    """The ``manifest.json`` content (hashes computed from the staged files)."""
    return {
        "run_id": plan.run_id,
        "created": plan.created,
        "alliance_fin_version": __version__,
        "notebooks": notebook_hashes(plan),
        "parameters": {r: plan.parameters[r] for r in plan.reports},
        # what differs from the defaults (empty for a default run): the folder's and run id's -<hash>
        "parameters_differ": dict(plan.parameters_differ),
        "parameters_hash": parameters_hash(plan.parameters_differ) if plan.parameters_differ else "",
        # the file name only (DESIGN section 2): a manifest should not leak the folders of the machine
        "data": {"path": os.path.basename(str(plan.data["path"])), "sha256": plan.data["sha256"],
                 "rows": plan.data["rows"]},
        # how the index page names the data ("packaged default line-up", or the file's name)
        "data_label": os.path.basename(str(plan.data["label"])),
        "reports": {
            res["report"]: {
                "status": res["status"],
                "seconds": res["seconds"],
                "outputs": {name: sha256_file(staging / name) for name in res["outputs"]},
                "headline": res["headline"],
                "error": res.get("error"),
            }
            for res in results
        },
    }


def finish_bundle(plan: RunPlan, results: list[dict[str, Any]], staging: Path) -> None:
    """Write ``manifest.json`` and ``index.html`` into ``staging`` and publish it as ``plan.out``."""
    from alliance_fin.run.index_page import build_index_html

    manifest = build_manifest(plan, results, staging)
    write_text_atomic(staging / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    titles = {r: plan.specs[r].title for r in plan.reports}
    write_text_atomic(staging / "index.html", build_index_html(manifest, titles=titles,
                                                         data_label=plan.data["label"]))
    files = [name for res in results for name in res["outputs"]] + list(BUNDLE_FILES)
    publish_bundle(staging, plan.out, files, plan.specs)
