"""Reuse cvxpy's compilation of an LP across problems that one builder made with other numbers.

A sweep builds the same cvxpy problem many times (models/capacity_cvxpy.py): the same atoms,
variables and constraints in the same order, and constants that differ in a few leaves (the
prices and demand levels a case perturbs). cvxpy compiles every new problem from scratch, which
is about half of a sweep case's work. Here the first problem of a shape (`tree_of`: its tree
apart from the constants' values) is kept as the base; when a later problem of the same shape
differs in some constant leaves, a template is made once from the base with exactly those leaves
turned into cvxpy Parameters (a dense Parameter for a sparse constant, signed as the values seen),
and it is solved by setting the Parameters to the later problem's values: cvxpy then applies its
cached parameter map (DPP) instead of re-running its reductions. The template's solution
(values, duals, status, statistics) is copied into the later problem by position, so callers read
the problem they built as if it had been solved itself.

Only exact sameness is reused: every constant that is not a Parameter must equal the base's
value, every atom's data (indices, shapes) and every variable's attributes must be the same.
Anything else (a new shape, a constant that differs outside the template's Parameters, a
template that is not DPP, a value a Parameter's sign refuses) compiles the problem as cvxpy does;
the numbers HiGHS receives are the same LP either way (tests/test_cvxpy_reuse.py).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from cvxpy.expressions.constants.constant import Constant
from cvxpy.expressions.constants.parameter import Parameter
from cvxpy.expressions.leaf import Leaf
from cvxpy.expressions.variable import Variable
from cvxpy.reductions.solution import Solution


class NotReusable(Exception):
    """A problem whose tree holds something `tree_of` cannot compare (it compiles as usual)."""


@dataclass
class Tree:
    """A problem's shape (a digest of everything but the constants' values) and its leaves in
    walk order: the objective's, then each constraint's."""

    shape: str
    leaves: list[Leaf]


def _data_key(data: Any) -> Any:
    """A comparable form of an atom's data (index keys, shapes, axes)."""
    if isinstance(data, np.ndarray):
        return ("array", data.dtype.str, data.shape, hashlib.sha256(data.tobytes()).hexdigest())
    if isinstance(data, list | tuple):
        return (type(data).__name__, tuple(_data_key(v) for v in data))
    if isinstance(data, slice):
        return ("slice", _data_key(data.start), _data_key(data.stop), _data_key(data.step))
    if data is None or isinstance(data, bool | int | float | str | np.integer | np.floating):
        return repr(data)
    raise NotReusable(f"atom data of type {type(data).__name__}")


def _leaf_key(leaf: Leaf, order: dict[int, int]) -> Any:
    if isinstance(leaf, Parameter):
        raise NotReusable("the problem has its own Parameters")
    if isinstance(leaf, Variable):
        # a variable is known by where it first appears; its attributes (bounds) must match
        first = order.get(id(leaf))
        if first is not None:
            return first
        order[id(leaf)] = len(order)
        return ("var", leaf.shape, _data_key(sorted(leaf.attributes.items())))
    if isinstance(leaf, Constant):
        return ("const", leaf.shape, sp.issparse(leaf.value))
    raise NotReusable(f"a leaf of type {type(leaf).__name__}")


def tree_of(problem: cp.Problem) -> Tree:
    """The problem's shape and leaves; raises NotReusable for a tree it cannot compare."""
    keys: list[Any] = [type(problem.objective).__name__]
    leaves: list[Leaf] = []
    order: dict[int, int] = {}

    def walk(expr: Any) -> None:
        if isinstance(expr, Leaf):
            leaves.append(expr)
            keys.append(_leaf_key(expr, order))
            return
        keys.append((type(expr).__name__, expr.shape, _data_key(expr.get_data()), len(expr.args)))
        for arg in expr.args:
            walk(arg)

    walk(problem.objective.expr)
    for constraint in problem.constraints:
        keys.append(("constraint", type(constraint).__name__, len(constraint.args)))
        for arg in constraint.args:
            walk(arg)
    return Tree(hashlib.sha256(repr(keys).encode()).hexdigest(), leaves)


def _dense(value: Any) -> np.ndarray:
    return np.asarray(value.toarray() if sp.issparse(value) else value, dtype=float)


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if sp.issparse(a) or sp.issparse(b):
        if not (sp.issparse(a) and sp.issparse(b)) or a.shape != b.shape:
            return False
        if a.format == b.format in ("csr", "csc") and a.nnz == b.nnz:
            same = (a.indptr, a.indices, a.data), (b.indptr, b.indices, b.data)
            if all(np.array_equal(x, y) for x, y in zip(*same, strict=True)):
                return True  # the same stored entries (else compare by value below)
        return (sp.csr_matrix(a) != sp.csr_matrix(b)).nnz == 0
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def differing(base: Sequence[Leaf], other: Sequence[Leaf]) -> set[int]:
    """Positions of the constant leaves whose values differ between two trees of one shape."""
    return {
        i
        for i, (a, b) in enumerate(zip(base, other, strict=True))
        if isinstance(a, Constant) and not _same_value(a.value, b.value)
    }


def _parameter(shape: tuple[int, ...], *values: Any) -> Parameter:
    """A Parameter of `shape`, nonneg or nonpos when every one of `values` is (a sign some
    atoms need to stay convex)."""
    dense = [_dense(v) for v in values]
    nonneg = all((d >= 0).all() for d in dense)
    nonpos = not nonneg and all((d <= 0).all() for d in dense)
    return Parameter(shape, nonneg=nonneg, nonpos=nonpos)


@dataclass
class Template:
    """The base problem with the leaves at `params`' positions made Parameters (DPP)."""

    problem: cp.Problem
    params: dict[int, Parameter]


def make_template(base: cp.Problem, tree: Tree, varying: set[int], current: Tree) -> Template:
    """The base problem with its constant leaves at `varying` made Parameters, each signed as
    both the base's and the current problem's values allow; raises NotReusable when the result
    is not DPP (cvxpy could not reuse its compilation)."""
    params: dict[int, Parameter] = {}
    position = iter(range(len(tree.leaves)))

    def rebuild(expr: Any) -> Any:
        if isinstance(expr, Leaf):
            i = next(position)
            if i not in varying:
                return expr
            params[i] = _parameter(expr.shape, expr.value, current.leaves[i].value)
            return params[i]
        args = [rebuild(arg) for arg in expr.args]
        same = all(new is old for new, old in zip(args, expr.args, strict=True))
        return expr if same else expr.copy(args)

    objective = type(base.objective)(rebuild(base.objective.expr))
    problem = cp.Problem(objective, [rebuild(c) for c in base.constraints])
    if not problem.is_dpp():
        raise NotReusable("the template is not DPP")
    return Template(problem, params)


@dataclass
class _Entry:
    base: cp.Problem
    tree: Tree
    template: Template | None = None
    refused: bool = False  # no template of this shape is DPP: compile each problem


@dataclass
class Compiled:
    """A problem compiled for HiGHS (`data`, `chain`, `inverse_data` of
    `Problem.get_problem_data`); `unpack` fills the problem that was asked for."""

    problem: cp.Problem
    solved: cp.Problem  # the problem itself, or the template that stood in for it
    data: dict[str, Any]
    chain: Any
    inverse_data: Any
    variable_ids: dict[int, int] = field(default_factory=dict)  # template's -> problem's

    def unpack(self, results: dict[str, Any]) -> None:
        """Fill the problem's status, value, variables, duals and solver statistics."""
        self.solved.unpack_results(results, self.chain, self.inverse_data)
        if self.solved is not self.problem:
            _transfer(self.solved, self.problem, self.variable_ids)


def _transfer(template: cp.Problem, problem: cp.Problem, ids: dict[int, int]) -> None:
    """Copy the template's solution into `problem`, which has the same shape: `ids` maps each
    template variable's id to the problem's variable at the same place; constraints match by
    order."""
    solution = template.solution
    primal = {ids[k]: v for k, v in solution.primal_vars.items() if k in ids}
    duals = {
        new.id: solution.dual_vars[old.id]
        for old, new in zip(template.constraints, problem.constraints, strict=True)
        if old.id in solution.dual_vars
    }
    copy = Solution(solution.status, solution.opt_val, primal, duals, solution.attr)
    problem.unpack(copy)
    problem._solver_stats = template.solver_stats


@dataclass
class ReuseStore:
    """Base problems and their templates by shape, the latest `limit` shapes kept; `reused`
    counts problems solved through a template, `compiled` those cvxpy compiled themselves."""

    limit: int = 4
    entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)
    reused: int = 0
    compiled: int = 0

    def compile(self, problem: cp.Problem, solver: str = cp.HIGHS) -> Compiled:
        """Compile `problem` for `solver`, through a template of its shape when one fits."""
        try:
            tree = tree_of(problem)
        except NotReusable:
            return self._own(problem, solver)
        entry = self.entries.get(tree.shape)
        if entry is not None and entry.refused:
            return self._own(problem, solver)
        if entry is None:
            self.entries[tree.shape] = _Entry(problem, tree)
            self.entries.move_to_end(tree.shape)
            while len(self.entries) > self.limit:
                self.entries.popitem(last=False)
            return self._own(problem, solver)
        try:
            template = self._template(entry, tree)
            for i, param in template.params.items():
                param.value = _dense(tree.leaves[i].value)
            data, chain, inverse = template.problem.get_problem_data(solver)
        except NotReusable:
            entry.refused = True
            return self._own(problem, solver)
        except (ValueError, cp.error.DPPError):  # e.g. a value a Parameter's sign refuses
            return self._own(problem, solver)
        self.reused += 1
        pairs = zip(entry.tree.leaves, tree.leaves, strict=True)
        ids = {
            old.id: new.id
            for old, new in pairs
            if isinstance(old, Variable) and isinstance(new, Variable)
        }
        return Compiled(problem, template.problem, data, chain, inverse, ids)

    def _template(self, entry: _Entry, tree: Tree) -> Template:
        varying = differing(entry.tree.leaves, tree.leaves)
        if entry.template is None or not varying <= set(entry.template.params):
            # the first template of this shape, or a constant the template holds fixed differs
            wanted = varying | set(entry.template.params if entry.template else ())
            entry.template = make_template(entry.base, entry.tree, wanted, tree)
        return entry.template

    def _own(self, problem: cp.Problem, solver: str) -> Compiled:
        self.compiled += 1
        data, chain, inverse = problem.get_problem_data(solver)
        return Compiled(problem, problem, data, chain, inverse)
