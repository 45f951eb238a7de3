"""Lists of model ids as users give them: ``"N01, R02"``, a YAML list, or empty."""

from __future__ import annotations

from collections.abc import Iterable


def parse_ids(value: str | Iterable[object] | None) -> list[str]:
    """The ids in ``value``, stripped, blanks dropped, first occurrence order kept.

    Examples
    --------
    >>> parse_ids(" N01, R02,,N01 ")
    ['N01', 'R02']
    >>> parse_ids(["N01", " M02"])
    ['N01', 'M02']
    >>> parse_ids(None)
    []
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return list(dict.fromkeys(s for s in (i.strip() for i in items) if s))
