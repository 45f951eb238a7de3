"""The line-up's rules as structured problems: which rows, which column, what is wrong.

A :class:`Problem` names frame rows (0-based index labels), not message text, so each caller
renders it in its own words: the loader as Excel rows of a file (``lineup.xlsx [models] row 3,
column 'role': ...``), the scenario helpers as models (``scenario model N01 Qashqai J11, ...``).
Cell rules are :func:`alliance_fin.inputs.schema.lineup_cell_rules`, which pandera checks and
describes (:func:`~alliance_fin.inputs.schema.lineup_schema`) when a cell breaks one; the
cross-row rules (unique ids, one leader per family, ...) are here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from alliance_fin.inputs.schema import MEMBERS

if TYPE_CHECKING:
    import pandera.pandas as pa

#: Cell problems listed per (column, rule); the rest are counted in one line.
MAX_PROBLEMS_PER_RULE = 20


def excel_row(index: int) -> int:
    """The Excel row number of frame row ``index`` (the header is row 1)."""
    return int(index) + 2


def short(text: str, limit: int = 80) -> str:
    """Long cell values shortened for messages: the start, then the length."""
    return text if len(text) <= limit else f"{text[:60]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Problem:
    """One broken rule.

    Attributes
    ----------
    rows : tuple of int
        Frame index labels of the rows involved (empty for a whole-column problem).
    column : str
        The column the rule is about.
    text : str
        What is wrong and what is allowed, e.g. ``"value 'x' must be one of ..."``.
    """

    rows: tuple[int, ...]
    column: str
    text: str

    def render(self, where: str, label: Callable[[int], str] | None = None) -> str:
        """The message: rows as Excel rows of ``where``, or as ``label(row)`` (e.g. a model name)."""
        if not self.rows:
            return f"{where}: column '{self.column}': {self.text}"
        plural = "s" if len(self.rows) > 1 else ""
        if label is None:
            return f"{where} row{plural} {', '.join(str(excel_row(i)) for i in self.rows)}, column '{self.column}': {self.text}"
        return f"{where} model{plural} {', '.join(label(i) for i in self.rows)}, column '{self.column}': {self.text}"


def cell_problems(err: pa.errors.SchemaErrors, frame: pd.DataFrame) -> list[Problem]:
    """pandera's failure cases as problems, at most :data:`MAX_PROBLEMS_PER_RULE` per rule."""
    problems: list[Problem] = []
    counts: dict[tuple[str, str], int] = {}
    for row in err.failure_cases.itertuples(index=False):
        column, rule, idx = str(row.column), str(row.check), row.index
        if idx is None or (isinstance(idx, float) and math.isnan(idx)):
            problems.append(Problem((), column, rule))
            continue
        key = (column, rule)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > MAX_PROBLEMS_PER_RULE:
            continue
        value = frame.at[idx, column]
        hint = ""
        if column == "member" and value.strip():
            close = difflib.get_close_matches(value.strip().title(), MEMBERS, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
        shown = repr(value) if len(value) <= 80 else short(value)
        problems.append(Problem((int(idx),), column, f"value {shown} {rule}{hint}"))
    for (column, rule), n in counts.items():
        if n > MAX_PROBLEMS_PER_RULE:
            problems.append(Problem((), column, f"{n - MAX_PROBLEMS_PER_RULE} more rows where the value {rule}"))
    return problems


def cross_row_problems(df: pd.DataFrame, segments: set[str] | None) -> list[Problem]:
    """Rules across rows of a typed line-up: unique ids, years in order, known segments, families.

    Parameters
    ----------
    df : DataFrame
        Typed line-up (``launch_year``/``end_year`` numbers), any index.
    segments : set of str, optional
        Segments with cost assumptions; ``None`` skips that rule.
    """
    problems: list[Problem] = []
    # Unique ids, also after ignoring case and surrounding spaces.
    norm = df["model_id"].str.strip().str.lower()
    repeated = norm.duplicated(keep=False)  # group only the repeated ids: fast on large line-ups
    for _, group in df[repeated].groupby(norm[repeated], sort=True):
        if len(group) > 1:
            ids = ", ".join(repr(v) for v in group["model_id"])
            problems.append(Problem(tuple(group.index), "model_id",
                                    f"duplicate id {ids} (ids must be unique, ignoring case and spaces)"))
    for i in df.index[(df["launch_year"] > df["end_year"]).fillna(False)]:
        problems.append(Problem((i,), "launch_year", f"value {df.at[i, 'launch_year']} is after end_year "
                                f"{df.at[i, 'end_year']} (launch_year must be <= end_year)"))
    if segments is not None:
        for i in df.index[~df["segment"].isin(sorted(segments))]:
            problems.append(Problem((i,), "segment", f"value {df.at[i, 'segment']!r} has no cost assumptions "
                                    f"(known segments: {', '.join(sorted(segments))}); use a known segment"))
    fam = df["family_id"].str.strip()
    for i in df.index[(fam == "") & df["role"].isin(["leader", "follower"])]:
        problems.append(Problem((i,), "family_id", f"a {df.at[i, 'role']} must belong to a family "
                                "(empty family_id); give it a family_id or make it standalone"))
    for i in df.index[(fam != "") & (df["role"] == "standalone")]:
        problems.append(Problem((i,), "role", f"model in family {df.at[i, 'family_id']!r} is 'standalone'; "
                                "family models are leader or follower"))
    in_family = df[fam != ""]
    leader_count = (in_family["role"] == "leader").groupby(fam[fam != ""]).sum()
    bad_rows = fam.isin(set(leader_count.index[leader_count != 1])) & (fam != "")
    for family, group in df[bad_rows].groupby(fam[bad_rows], sort=True):
        leaders = group.index[group["role"] == "leader"]
        if len(leaders) == 0:
            problems.append(Problem(tuple(group.index), "role",
                                    f"family {family!r} has no leader (each family needs exactly one leader)"))
        elif len(leaders) > 1:
            problems.append(Problem(tuple(leaders), "role", f"family {family!r} has {len(leaders)} leaders "
                                    "(each family needs exactly one leader)"))
    return problems + changeover_problems(df)


def changeover_problems(df: pd.DataFrame) -> list[Problem]:
    """Rules of the changeover columns: ``replaces`` and ``scheme_since``.

    * ``replaces`` names the ``model_id`` of another model of the same member (compared after
      trimming spaces); a model may not replace itself, and no chain of ``replaces`` may close
      into a cycle (each cycle is reported once, on all its rows).
    * ``scheme_since`` (a whole year, checked per cell) is not after ``launch_year``: a
      programme is decided before the car it gives is sold.

    Parameters
    ----------
    df : DataFrame
        Typed line-up (``launch_year`` a number, ``scheme_since`` text or number), any index;
        absent columns are not checked.
    """
    problems: list[Problem] = []
    if "replaces" in df.columns:
        problems += _replaces_problems(df)
    if "scheme_since" in df.columns:
        since = pd.to_numeric(df["scheme_since"].astype(str).str.strip().replace("", float("nan")),
                              errors="coerce")
        after = (since > pd.to_numeric(df["launch_year"], errors="coerce")).fillna(False)
        for i in df.index[after.to_numpy(dtype=bool)]:
            problems.append(Problem((i,), "scheme_since", f"value {df.at[i, 'scheme_since']!s} is after "
                                    f"launch_year {df.at[i, 'launch_year']} (the programme must be "
                                    "decided by the launch: scheme_since <= launch_year)"))
    return problems


def _replaces_problems(df: pd.DataFrame) -> list[Problem]:
    ids = df["model_id"].astype(str).str.strip()
    pred = df["replaces"].fillna("").astype(str).str.strip()
    member_of = dict(zip(ids, df["member"].astype(str).str.strip(), strict=True))
    known = set(ids)
    repeated = set(ids[ids.duplicated()])  # reported as duplicates; which one is meant is unclear
    problems: list[Problem] = []
    edges: dict[str, str] = {}
    for i in df.index[pred.ne("").to_numpy()]:
        own, target = ids[i], pred[i]
        if target == own:
            problems.append(Problem((i,), "replaces", f"value {target!r} is the model's own id "
                                    "(a model cannot replace itself)"))
        elif target not in known:
            same_case = [m for m in sorted(known) if m.lower() == target.lower()]
            close = same_case or difflib.get_close_matches(target, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem((i,), "replaces", f"value {target!r} names no model_id of the "
                                    f"line-up{hint}; give the predecessor's model_id or leave it empty"))
        elif target in repeated or own in repeated:
            continue
        elif member_of[target] != member_of[own]:
            problems.append(Problem((i,), "replaces", f"value {target!r} is a {member_of[target]} model, "
                                    f"this one is {member_of[own]} (a successor replaces a model of "
                                    "its own member)"))
        else:
            edges.setdefault(own, target)
    row_of = {m: i for i, m in zip(df.index, ids, strict=True)}
    seen: set[str] = set()
    for start in edges:
        path: list[str] = []
        node = start
        while node in edges and node not in seen and node not in path:
            path.append(node)
            node = edges[node]
        if node in path:  # the walk came back to itself: a cycle
            cycle = path[path.index(node):]
            chain = " -> ".join([*cycle, cycle[0]])
            problems.append(Problem(tuple(sorted(row_of[m] for m in cycle)), "replaces",
                                    f"values make a cycle {chain} (a chain of successors must end)"))
        seen.update(path)
    return problems
