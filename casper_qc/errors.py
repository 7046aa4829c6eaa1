"""Exceptions casper-qc raises on purpose.

Every error a user can cause derives from :class:`InputError`; its ``str()`` is one line that
says *where* (file, task, region, line…) and *what* is wrong, so a CLI or an HTTP handler can
show it as it is. Anything else escaping the library is a bug.

Locations nest from the inside out: a record validator raises ``InputError("end 3.2 s is not
after start 4.0 s", where="region 'r7'")``; the Label Studio reader re-raises it with
``err.at("task 12")``; the CLI adds the file name. The message then reads
``export.json: task 12: region 'r7': end 3.2 s is not after start 4.0 s``.
"""

from __future__ import annotations

__all__ = [
    "CasperError",
    "InputError",
    "ModelError",
    "FormatError",
    "ConfigError",
    "AudioError",
]


class CasperError(Exception):
    """Base class of every exception casper-qc raises on purpose."""


class InputError(CasperError, ValueError):
    """Input casper-qc cannot accept.

    Attributes:
        problem: what is wrong, one line, without the location.
        where: the location, outermost first (``"file.json: task 3: region 'a'"``), or None.
    """

    def __init__(self, problem: str, *, where: str | None = None) -> None:
        self.problem = " ".join(str(problem).split())  # one line, whatever the cause said
        self.where = where or None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one-line message: ``"<where>: <problem>"`` or just the problem."""
        return f"{self.where}: {self.problem}" if self.where else self.problem

    def at(self, outer: str) -> "InputError":
        """A copy of this error located one level further out (``outer`` goes first)."""
        where = f"{outer}: {self.where}" if self.where else outer
        clone = type(self).__new__(type(self))
        InputError.__init__(clone, self.problem, where=where)
        clone.__cause__ = self.__cause__
        return clone

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep location across process boundaries (worker pools)
        return (_rebuild, (type(self), self.problem, self.where))


def _rebuild(cls: type, problem: str, where: str | None) -> InputError:
    err = cls.__new__(cls)
    InputError.__init__(err, problem, where=where)
    return err


class ModelError(InputError):
    """A record of the core model would be invalid (times, ranges, overlaps)."""


class FormatError(InputError):
    """A file or payload cannot be read as the format it claims to be."""


class ConfigError(InputError):
    """A Label Studio label config lacks what is needed, or a value is not in it."""


class AudioError(InputError):
    """Audio that cannot be read or does not fit the request (codec, channels, length)."""
