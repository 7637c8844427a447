"""User-facing errors: each names the file, the field and the fix, and maps to exit code 2.

A problem with a value the caller passed rather than a file's field (an output folder, a time
resolution, a date) names the parameter in domain words (`hours`, `out`) with `option=True`;
the CLI, which alone knows its flags, renames it to the flag a user typed (`--hours`) through
`InputError.with_flags`. Nothing in `planner/` names a CLI flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


class PlannerError(Exception):
    """A problem the user can fix; the CLI prints `str(error)` and exits with code 2."""


@dataclass
class Problem:
    """One thing wrong with one field of one input file."""

    file: str
    field: str
    problem: str
    fix: str = ""
    option: bool = False  # `field` is a parameter the caller passed, not a field of `file`
    options: tuple[str, ...] = ()  # parameters the fix speaks of (`skip_damaged`), named after it

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        text = f"{where}: {self.problem}"
        if self.fix:
            named = f" ({', '.join(self.options)})" if self.options else ""
            text += f" Fix: {self.fix.removesuffix('.')}{named}." if named else f" Fix: {self.fix}"
        return text

    def with_flags(self, flags: Mapping[str, str]) -> Problem:
        """This problem with its parameters named as the caller spells them (`--hours`)."""
        field = flags.get(self.field, self.field) if self.option else self.field
        return replace(self, field=field, options=tuple(flags.get(o, o) for o in self.options))


class InputError(PlannerError):
    """Bad input: one or more problems, all reported at once."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, file: str | Path, field: str, problem: str, fix: str = "") -> InputError:
        """An error with one problem: `file`, the `field` in it, what is wrong and the fix."""
        return cls(Problem(str(file), field, problem, fix))

    @classmethod
    def option(
        cls, name: str, problem: str, fix: str = "", options: tuple[str, ...] = ()
    ) -> InputError:
        """A bad value of the parameter `name` (the domain's name: `hours`, `out`, `date`)."""
        return cls(Problem("", name, problem, fix, option=True, options=options))

    def with_flags(self, flags: Mapping[str, str]) -> InputError:
        """The same problems, each parameter named as the caller spells it (`--hours`)."""
        return InputError([p.with_flags(flags) for p in self.problems])


class InputWarning(UserWarning):
    """A figure that loads but lies outside its typical range: shown on stderr, never fatal.

    Raised with `warnings.warn(text, InputWarning)`; the text names the file, the field, the
    value and the typical range (planner.schema.Bounds)."""


class UnknownName(PlannerError):
    """A user named a part, workload, regime or site that does not exist."""

    def __init__(self, kind: str, name: str, known: list[str]):
        from difflib import get_close_matches

        self.kind, self.name = kind, name
        close = get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else "."
        super().__init__(
            f"unknown {kind} '{name}'{hint} Known {kind}s: {', '.join(sorted(known))}."
        )


@dataclass
class InfeasiblePlan(PlannerError):
    """An optimisation that cannot be satisfied, explained in domain words."""

    diagnosis: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__("the problem has no feasible solution:\n- " + "\n- ".join(self.diagnosis))
