"""The package's one exception hierarchy.

The CLI turns each into a message and an exit code: ``InputError`` and ``ParameterError``
exit 2 (nothing is written), ``ReportError`` exits 1.
"""

from __future__ import annotations


class AllianceFinError(Exception):
    """Base class of every error a user can cause."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.message = message
        self.problems = list(problems or [])
        super().__init__(message)

    def __str__(self) -> str:
        # one line with every problem, so that a message passed on as text (e.g. the error
        # value of a failed notebook cell) still says what was wrong
        return self.message + (": " + "; ".join(self.problems) if self.problems else "")

    def report(self) -> str:
        """The message with every problem on its own line."""
        lines = [self.message]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InputError(AllianceFinError):
    """An input file is missing, unreadable or breaks a rule."""


class ParameterError(AllianceFinError):
    """A report parameter is unknown, of the wrong type or out of range."""


class ReportError(AllianceFinError):
    """A report failed while executing."""

    exit_code = 1
