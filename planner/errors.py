"""User-facing errors: each names the file, the field and the fix, and maps to exit code 2."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        text = f"{where}: {self.problem}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class InputError(PlannerError):
    """Bad input: one or more problems, all reported at once."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, file: str | Path, field: str, problem: str, fix: str = "") -> InputError:
        return cls(Problem(str(file), field, problem, fix))


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
