"""The one exception family of sopkit: messages a planner can act on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


class SopError(Exception):
    """Base class of every error sopkit raises on purpose.

    The CLI prints these without a traceback, so the message must say what is
    wrong, where, and how to fix it.
    """


class ConfigError(SopError):
    """A parameters file, a scenario or a command-line override is wrong."""


class StageError(SopError):
    """A stage of the monthly cycle failed or cannot start."""


@dataclass(frozen=True)
class Problem:
    """One problem found in the input data.

    ``row`` is the line of the file or sheet (header = line 1) for CSV and Excel
    sources, the 1-based result row for SQL sources, and ``None`` when the problem
    concerns a whole table or column.

    ``statement``, when given, is a whole sentence about the table (``"has a header but
    no rows; ..."``) printed after where it is instead of "got ...; expected ...": for
    problems that no single cell shows. ``expected`` still says what was expected. A
    statement about a column follows a colon (``"inventory.csv, column safety_stok: not a
    column of inventory; ..."``).
    """

    table: str
    row: int | None
    column: str | None
    value: object
    expected: str
    origin: str = ""
    detail: str = ""
    statement: str = ""

    def __str__(self) -> str:
        where = self.origin or self.table
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        if self.statement:
            return f"{where}{':' if self.column else ''} {self.statement}"
        got = "" if self.value is None else f"got {self.value!r}; "
        detail = f" ({self.detail})" if self.detail else ""
        return f"{where}: {got}expected {self.expected}{detail}"


class DataValidationError(SopError):
    """The input data breaks the contract; carries every problem found.

    ``warnings`` are what validation found suspicious but not wrong (the same ones a
    valid dataset carries in ``Dataset.warnings``); they are listed after the problems.
    """

    #: at most this many problems of one kind are printed; the rest are counted.
    SHOW_PER_KIND = 10

    def __init__(
        self, problems: list[Problem], source: str = "", warnings: Sequence[Problem] = ()
    ) -> None:
        self.problems = list(problems)
        self.source = source
        self.warnings = tuple(warnings)
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input data"
        head += f" ({self.source})" if self.source else ""
        lines = [head + ":", *self.listed(self.problems)]
        if self.warnings:
            n = len(self.warnings)
            lines.append(
                f"Also {n} warning{'s' if n != 1 else ''} (these alone would not stop a run):"
            )
            lines += self.listed(self.warnings)
        lines.append("Nothing was run. Fix the data and run `sop validate` again.")
        return "\n".join(lines)

    @classmethod
    def listed(cls, problems: Sequence[Problem]) -> list[str]:
        """The lines that list ``problems`` (or warnings), grouped and capped.

        Problems of one kind (same table, column and expectation) are listed together, at
        most :attr:`SHOW_PER_KIND` of them; the rest are counted ("... and 5 more like the
        above"). Kinds keep the order in which they first appear.

        Parameters
        ----------
        problems : sequence of Problem
            What to list, in order.

        Returns
        -------
        list of str
            One line per problem shown (``"  - ..."``) and one per group cut short.
        """
        groups: dict[tuple, list[Problem]] = defaultdict(list)
        for p in problems:
            groups[(p.origin or p.table, p.column, p.expected)].append(p)
        lines = []
        for group in groups.values():
            lines += [f"  - {p}" for p in group[: cls.SHOW_PER_KIND]]
            if len(group) > cls.SHOW_PER_KIND:
                rest = len(group) - cls.SHOW_PER_KIND
                lines.append(f"    ... and {rest} more like the above")
        return lines
