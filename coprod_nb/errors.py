"""Exceptions raised by coprod_nb.

Every error a user can cause derives from :class:`CoprodError`, so the CLI and the
widgets can show a one-line message instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "CoprodError",
    "InvalidInput",
    "DuplicateSource",
    "NotFound",
    "Forbidden",
    "OutOfOrder",
]


class CoprodError(Exception):
    """Root of every error that coprod_nb raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: in a notebook cell a user's mistake
        # (a study not found, a step out of order) reads as one plain line, like on the
        # command line. Programming errors (any other exception) keep their traceback.
        return [f"{type(self).__name__}: {self}"]


class InvalidInput(CoprodError, ValueError):
    """Input that cannot be used: names the file, the place in it and the problem.

    Parameters
    ----------
    problem : str
        What is wrong, in words a researcher understands.
    file : str, optional
        The file (its name or path) the problem was found in.
    place : str, optional
        Where in the file, e.g. ``"line 12"`` or ``"paragraph 4"``.
    """

    def __init__(self, problem: str, *, file: str | None = None, place: str | None = None):
        self.problem = problem
        self.file = file
        self.place = place
        super().__init__(self._format())

    def _format(self) -> str:
        where = ", ".join(p for p in (self.file, self.place) if p)
        return f"{where}: {self.problem}" if where else self.problem


class DuplicateSource(InvalidInput):
    """A transcript whose content is already in the study."""


class NotFound(CoprodError, LookupError):
    """A named object (study, partnership, researcher, ...) does not exist."""


class Forbidden(CoprodError, PermissionError):
    """An action the method does not allow at this point (e.g. reading others' notes in step 1)."""


class OutOfOrder(Forbidden):
    """A step taken out of the method's order: freezing a framework while step 1 is still
    open, or changing the decisions of a workshop whose result is already frozen.

    The message says what is wrong and what to do instead.
    """
