"""The small typed hierarchy of errors users can see, and the exit code each maps to.

Every message here is safe to print: it names files, lines, fields and case refs, never a
household's details. The CLI maps these to exit codes in one place (`cli.app.main`).
"""
from __future__ import annotations

from dataclasses import dataclass


def printable(text: str) -> str:
    """`text` with every character a terminal could act on written as `\\uXXXX` (escape
    sequences, bell, carriage return, bidirectional overrides...); newlines and tabs stay. Every
    message and value the command line echoes goes through here (`cli.context` consoles), so a
    ref, a file name or a cell can never move the cursor, clear the screen or retitle a window."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\u{ord(c):04x}" for c in text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    source: str  # file name, or "--option" for a CLI argument
    message: str
    line: int | None = None
    field: str | None = None  # key path ("areas.cambridge.neighbours") or CSV column

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class ReciprocalError(Exception):
    """Base of every error the engine reports to a user."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProblemsError(ReciprocalError):
    """An input with one or more problems; all of them are listed at once."""

    exit_code = 2
    what = "input"

    def __init__(self, problems: list[Problem], summary: str | None = None):
        self.problems = list(problems)
        head = summary or f"{len(self.problems)} problem(s) in {self.what}; nothing was written"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


class ConfigError(ProblemsError):
    """MoU configs that do not validate."""

    what = "MoU configs"


class InputFileError(ProblemsError):
    """An offers or requests file (CSV/XLSX) or a CLI value that does not validate."""

    what = "input file"


class NotFoundError(ReciprocalError):
    """A round, proposal, offer, request or provider that does not exist."""

    exit_code = 3


class StateError(ReciprocalError):
    """The action does not fit the current state (a closed round, a pending proposal...)."""

    exit_code = 4


class DatabaseError(ReciprocalError):
    """The database is missing, not initialised, or in a state the engine does not expect."""

    exit_code = 5


class IntegrityError(ReciprocalError):
    """A safety net fired: a solution or ledger broke an invariant. Nothing was written."""

    exit_code = 6


class AuditFailed(ReciprocalError):
    """`audit verify` found the ledger changed behind the engine's back or an invariant broken."""

    exit_code = 7


class DeliveryError(ReciprocalError):
    """Files could not be sent: the mail server could not be reached or refused them."""

    exit_code = 8
