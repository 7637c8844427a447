"""Reading YAML input files and turning pydantic errors into file/field/fix problems.

PyYAML is imported on the first file read, so a command answered from the parsed-catalogue cache
(planner/cache.py) does not load it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from planner.errors import InputError, InputWarning, Problem
from planner.schema import check_bounds

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@cache
def safe_loader() -> Any:
    """libyaml's parser when PyYAML was built with it (about 10x faster than the pure-Python one;
    the catalogue's 26 files take 0.03 s instead of 0.3 s); same safe constructors, same error
    marks."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; a syntax error names the file and the line."""
    import yaml

    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=safe_loader())
    except FileNotFoundError:
        raise InputError.one(path, "", "file not found.", "check the path.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(syntax)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError.one(
            path, where, f"malformed YAML: {problem}.", "fix the YAML syntax at that line."
        ) from None
    except ValueError:  # a value PyYAML parses but cannot build, e.g. date 2027-13-01
        raise InputError(_bad_dates(path)) from None


def _bad_dates(path: Path) -> list[Problem]:
    """Every scalar YAML reads as a date but no calendar holds, with its field and line."""
    import yaml

    with path.open(encoding="utf-8") as fh:
        root = yaml.compose(fh, Loader=safe_loader())  # nodes only: no value is built
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, (*loc, key.value)) for key, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, i)) for i, item in reversed(list(enumerate(node.value))))
        elif node is not None and node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader(node.value).construct_yaml_timestamp(node)
            except ValueError as exc:
                problems.append(
                    Problem(
                        str(path),
                        f"{field_path(loc)} (line {node.start_mark.line + 1})",
                        f"'{node.value}' is not a date ({exc}).",
                        "write dates as YYYY-MM-DD with a real month and day.",
                    )
                )
    return problems or [
        Problem(str(path), "", "a value cannot be read.", "check the dates and numbers.")
    ]


def field_path(loc: tuple[Any, ...]) -> str:
    """('sites', 2, 'grid', 'import_cap') -> 'sites[2].grid.import_cap'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _fix_for(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "remove it, or check its spelling against the documented schema."
    if kind == "missing":
        return "add this field."
    if kind in ("finite_number", "not_finite"):
        return (
            "write a finite number (.nan and .inf are not figures); an unknown figure is "
            "'value: null' with a note saying what is missing."
        )
    if kind.startswith("literal_error"):
        return f"use one of: {error.get('ctx', {}).get('expected', '')}."
    return "see the schema in docs/."


def validate(model: type[M], data: Any, path: Path) -> M:
    """Validate `data` against `model`, reporting every error at once.

    Then every declared range (planner.schema.Bounds): a value outside its hard range is an
    error, one outside its typical range an `InputWarning`, each naming file, field and range.
    """
    validated, refused = validate_collecting(model, data, path)
    if refused:
        raise InputError(refused)
    return validated


def validate_collecting(model: type[M], data: Any, path: Path) -> tuple[M, list[Problem]]:
    """Validate like `validate`, but return the values outside their hard ranges instead of
    raising them, for a loader that reports them with its own problems, all at once (its
    reader must then not compute with the file: it starts from these problems)."""
    if not isinstance(data, dict):
        raise InputError.one(path, "", "expected a mapping at the top level.", "see docs/.")
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(str(path), field_path(loc), message + ".", _fix_for(err)))
        raise InputError(problems) from None
    report = check_bounds(validated, str(path))
    for warning in report.warnings:
        warnings.warn(str(warning), InputWarning, stacklevel=3)
    return validated, report.problems


class Identified(Protocol):
    """A loaded profile: its id and the file it came from."""

    @property
    def id(self) -> str:
        """The profile's id, unique in its library."""

    @property
    def path(self) -> Path:
        """The file the profile was read from."""


ItemT = TypeVar("ItemT", bound=Identified)


def by_id(layers: Sequence[tuple[Path, Sequence[ItemT]]], kind: str) -> dict[str, ItemT]:
    """Loaded profiles by id over the search folders (`(folder, items)`, lowest precedence
    first: the shipped folder, then each overlay).

    Two files of one folder with the same id are refused, naming both. A later folder replaces
    an id whole (an overlay, as documented); when the replacing file sits elsewhere in its folder
    than the one it replaces (another vendor), an InputWarning names both, so nothing is shadowed
    silently.
    """
    chosen: dict[str, ItemT] = {}
    origin: dict[str, Path] = {}  # id -> its file's place inside its folder
    problems: list[Problem] = []
    for folder, items in layers:
        seen: dict[str, ItemT] = {}
        for item in items:
            if item.id in seen:
                problems.append(
                    Problem(
                        str(item.path),
                        "id",
                        f"{kind} id '{item.id}' is also the id of {seen[item.id].path}.",
                        "give one of the two files another id (and file name), or remove one.",
                    )
                )
                continue
            seen[item.id] = item
            place = item.path.relative_to(folder)
            if item.id in chosen and origin[item.id] != place:
                warnings.warn(
                    f"{item.path}: id: replaces {kind} '{item.id}' of {chosen[item.id].path} "
                    f"(an overlay replaces an id whole). Fix: put the file at {origin[item.id]} "
                    "in the overlay if that is meant, or give it another id.",
                    InputWarning,
                    stacklevel=2,
                )
            chosen[item.id], origin[item.id] = item, place
    if problems:
        raise InputError(problems)
    return chosen


@contextmanager
def reading_past(refused: Sequence[Problem]) -> Iterator[None]:
    """Read on past figures refused for their range, so every problem is reported at once; a
    computation those figures break (a year no calendar holds) ends the reading with the
    refusals instead of a traceback."""
    try:
        yield
    except (ArithmeticError, ValueError):
        if not refused:
            raise
        raise InputError(list(refused)) from None


def load_layers(
    folders: Sequence[Path], files: Sequence[Sequence[Path]], load_one: Callable[[Path], T]
) -> list[tuple[Path, list[T]]]:
    """Each search folder with what its files load into (every file's problems at once)."""
    loaded = iter(load_each([path for layer in files for path in layer], load_one))
    return [(f, [next(loaded) for _ in layer]) for f, layer in zip(folders, files, strict=True)]


def load_each(paths: Iterable[Path], load_one: Callable[[Path], T]) -> list[T]:
    """Load every file, collecting the problems of all of them before raising once."""
    loaded: list[T] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded.append(load_one(path))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return loaded
