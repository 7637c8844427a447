"""Fitting the serving model to published measurements (docs/serving.md, C1-C3).

Free parameters, all physical and few:

- a default FLOP fraction e_f, bandwidth fraction e_bw and per-layer launch floor tau;
- the fixed cost tau_x of each expert a part reads in a step and the share e_x of the dense
  kernels' efficiency grouped expert GEMMs reach, and the memory bandwidth b_unit one SM can
  pull (one each for all parts);
- per part family with rows (e.g. NVIDIA Hopper): log offsets of e_f and e_bw from the default;
- per software stack with rows: log offsets of tau and of delta from the default, delta the
  synchronisation each further peer adds to one collective of the stack's library (a
  synchronisation over t parts waits alpha + delta (t - 1), alpha sourced; a one-shot
  all-reduce waits one, a two-shot one two);
- per serving engine on a stack (e.g. SGLang on CANN) other than the stack's reference engine
  (`reference_engines` in the table): a log speed factor s, the engine's kernels reaching s times
  the reference's fractions of peak with fixed costs 1 / s as long.

(C1) They minimise the sum over rows of log(model / measured)^2 plus (C2) weak pulls
0.1 x log(e_f / 0.5), 0.1 x log(e_bw / 0.7), 0.1 x log(tau / 20 us), 0.1 x log(tau_x / 2 us),
0.1 x log(e_x), 0.1 x log(b_unit / 20 GB/s), 0.1 x log(delta / 0.5 us) and 0.1 x each offset
(0.5 x a family's bandwidth offset, `PRIOR_WEIGHT_BANDWIDTH`): a parameter the rows barely reach
stays near its anchor instead of wandering (regularisation, not figures). The collectives'
latencies alpha and the interconnect fraction are sourced, not fitted.
`write_calibration` turns a fit into the calibration table (`fitted.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import least_squares

from planner.catalogue.parts import Catalogue, Part
from planner.errors import PlannerError
from planner.serving.efficiency import Efficiency, efficiency_for
from planner.serving.measurements import Measurement
from planner.serving.model import estimate
from planner.serving.request import ServingEstimate, WorkloadLike

PRIOR_FLOP_FRACTION = 0.5
PRIOR_BANDWIDTH_FRACTION = 0.7
PRIOR_LAYER_FLOOR_S = 20e-6
PRIOR_EXPERT_FLOOR_S = 2e-6
PRIOR_UNIT_BANDWIDTH = 20e9  # B/s per SM
# Each further peer of a collective: NVLink's custom all-reduce grows from 3.7-4.5 us at TP2 to
# 5.7-7.8 us at TP8 (SGLang PR 2904), about 0.44 us a peer; the anchor, not a figure.
PRIOR_PEER_LATENCY_S = 0.5e-6
PRIOR_WEIGHT = 0.1
# A family's bandwidth offset is pulled 5x as hard: most families' rows run at large batch, where
# the launch floor and the bandwidth share trade freely, and at 0.1 the CDNA 3 pair drifted to
# 0.40 of its HBM with a 107 us floor (docs/serving.md, Validation item 28), which cut the MI300X's
# chat rate in the national case by 71%; at 0.5 it was 0.78 and 62 us, and with AMD's low-batch
# rows (item 29), which see both ends, 0.57 and 48 us.
PRIOR_WEIGHT_BANDWIDTH = 0.5
FRACTION_BOUNDS = (0.02, 1.0)
FLOOR_BOUNDS_S = (1e-7, 1e-3)
FAILED_LOG_ERROR = math.log(1e-3)  # a row the model cannot serve counts as 1000x too slow
# The fit's vector and residuals are snapped to these grids at every evaluation, and its steps are
# exact (SVD), so rounding that differs between machines (BLAS kernels) cannot steer its path
# across the model's kinks: with LSMR's steps, CI's machine scored leave-one-part-out 12.3 % and
# ours 11.0 % from the same rows (docs/serving.md, Validation item 23).
X_DECIMALS = 9
RESIDUAL_DECIMALS = 12
DIFF_STEP = 1e-3  # relative forward-difference step: wide enough to see past the model's kinks
# Global parameters, in the fit's vector: log e_f, log e_bw, log tau, log tau_x, log e_x,
# log per-unit bandwidth, log delta.
ANCHORS = (
    math.log(PRIOR_FLOP_FRACTION),
    math.log(PRIOR_BANDWIDTH_FRACTION),
    math.log(PRIOR_LAYER_FLOOR_S),
    math.log(PRIOR_EXPERT_FLOOR_S),
    0.0,
    math.log(PRIOR_UNIT_BANDWIDTH),
    math.log(PRIOR_PEER_LATENCY_S),
)
GLOBALS = len(ANCHORS)


@dataclass(frozen=True)
class Case:
    """A measurement resolved to its part, workload, family and starting efficiency."""

    part: Part
    workload: WorkloadLike
    m: Measurement
    family: str | None
    base: Efficiency
    engine: str | None = None  # "stack/engine" when not the stack's reference engine

    @property
    def stack(self) -> str:
        """The part's software stack, whose layer floor the row fits."""
        return self.part.software_stack


def resolve_case(
    m: Measurement,
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
) -> Case | str:
    """The case for a row, or why it cannot be modelled: an unknown part or workload, conditions
    the model does not cover, or a part figure it needs missing (the model's own error)."""
    if m.part not in catalogue.parts:
        return f"part '{m.part}' is not in the catalogue"
    if m.workload not in workloads:
        return f"workload '{m.workload}' is not in the library"
    if m.unmodelled is not None:
        return f"not modelled: {m.unmodelled}"
    part = catalogue[m.part]
    table = getattr(stacks, "calibration", None)
    family = None if table is None else table.family_of.get(part.id)
    engine = None if table is None else table.engine_key(part.software_stack, m.engine)
    case = Case(part, workloads[m.workload], m, family, efficiency_for(part, stacks), engine)
    got = model_for(case, case.base)
    return got if isinstance(got, str) else case


@dataclass(frozen=True)
class Parameters:
    """Fitted figures: fractions and floors by family / stack, with a default for the rest."""

    flop: Mapping[str, float]  # "default" and families
    bandwidth: Mapping[str, float]
    floor_s: Mapping[str, float]  # "default" and stacks
    peer_latency_s: Mapping[str, float]  # delta: "default" and stacks
    expert_floor_s: float
    expert_fraction: float
    unit_bandwidth_bytes_per_s: float
    engine_speed: Mapping[str, float] = field(default_factory=dict)  # "stack/engine" -> s

    def efficiency(self, case: Case) -> Efficiency:
        """The case's starting efficiency with these fitted figures."""
        return self.efficiency_of(case.base, case.family, case.stack, case.engine)

    def efficiency_of(
        self, base: Efficiency, family: str | None, stack: str, engine: str | None
    ) -> Efficiency:
        """`base` with the fitted figures of its family, stack and engine ("stack/engine")."""
        family = family if family is not None and family in self.flop else "default"
        stack = stack if stack in self.floor_s else "default"
        speed = self.engine_speed.get(engine or "", 1.0)
        return replace(
            base,
            flop_fraction=min(1.0, self.flop[family] * speed),
            bandwidth_fraction=min(1.0, self.bandwidth[family] * speed),
            layer_floor_s=self.floor_s[stack] / speed,
            # the stack's collective library's, not the engine's: no speed factor
            collective_peer_latency_s=self.peer_latency_s[stack],
            expert_floor_s=self.expert_floor_s,
            expert_fraction=self.expert_fraction,
            unit_bandwidth_bytes_per_s=self.unit_bandwidth_bytes_per_s,
        )


def model_for(case: Case, eff: Efficiency) -> ServingEstimate | str:
    """The model's estimate under the row's conditions, or why it has none."""
    try:
        return estimate(case.part, case.workload, case.m.request(), eff)
    except PlannerError as exc:
        return str(exc)


def log_error(case: Case, eff: Efficiency) -> float:
    """log(model / measured) for one row; FAILED_LOG_ERROR when the model cannot serve it."""
    got = model_for(case, eff)
    if isinstance(got, str):
        return FAILED_LOG_ERROR
    return math.log(got.output_tokens_per_s_per_part / case.m.output_tokens_per_s_per_part)


@dataclass(frozen=True)
class Layout:
    """Where each parameter sits in the fit's vector x (log values and log offsets)."""

    families: tuple[str, ...]
    stacks: tuple[str, ...]
    engines: tuple[str, ...] = ()  # "stack/engine" keys with rows, reference engines excluded

    @property
    def size(self) -> int:
        """The length of x: global anchors, two per family, two per stack, one per engine."""
        return GLOBALS + 2 * len(self.families) + 2 * len(self.stacks) + len(self.engines)

    def engine_column(self, engine: str) -> int:
        """Where an engine's log speed factor sits in x."""
        start = GLOBALS + 2 * len(self.families) + 2 * len(self.stacks)
        return start + self.engines.index(engine)

    def family_column(self, family: str) -> int:
        """Where a family's log FLOP and bandwidth offsets sit in x (two columns)."""
        return GLOBALS + 2 * self.families.index(family)

    def stack_column(self, stack: str) -> int:
        """Where a stack's log layer-floor and peer-latency offsets sit in x (two columns)."""
        return GLOBALS + 2 * len(self.families) + 2 * self.stacks.index(stack)

    def columns(self, case: Case) -> list[int]:
        """The parameters one row depends on."""
        cols = list(range(GLOBALS))
        if case.family in self.families:
            i = self.family_column(case.family)
            cols += [i, i + 1]
        if case.stack in self.stacks:
            i = self.stack_column(case.stack)
            cols += [i, i + 1]
        if case.engine in self.engines:
            cols.append(self.engine_column(case.engine))
        return cols

    def parameters(self, x: np.ndarray) -> Parameters:
        """The fitted figures a vector x of log values and log offsets stands for."""
        flop, bandwidth, floor = {"default": x[0]}, {"default": x[1]}, {"default": x[2]}
        peer = {"default": x[6]}
        for family in self.families:
            i = self.family_column(family)
            flop[family], bandwidth[family] = x[0] + x[i], x[1] + x[i + 1]
        for stack in self.stacks:
            i = self.stack_column(stack)
            floor[stack], peer[stack] = x[2] + x[i], x[6] + x[i + 1]

        def clip(v: dict[str, float], low: float, high: float) -> dict[str, float]:
            return {k: min(high, max(low, math.exp(value))) for k, value in v.items()}

        return Parameters(
            clip(flop, *FRACTION_BOUNDS),
            clip(bandwidth, *FRACTION_BOUNDS),
            clip(floor, 0.0, 1.0),
            clip(peer, 0.0, 1.0),
            expert_floor_s=math.exp(x[3]),
            expert_fraction=min(1.0, math.exp(x[4])),
            unit_bandwidth_bytes_per_s=math.exp(x[5]),
            engine_speed={e: math.exp(x[self.engine_column(e)]) for e in self.engines},
        )

    def priors(self, x: np.ndarray) -> list[float]:
        """(C2) the weak pulls, one residual per parameter."""
        bandwidth = {self.family_column(f) + 1 for f in self.families}
        return [PRIOR_WEIGHT * (x[i] - a) for i, a in enumerate(ANCHORS)] + [
            (PRIOR_WEIGHT_BANDWIDTH if j in bandwidth else PRIOR_WEIGHT) * x[j]
            for j in range(GLOBALS, x.size)
        ]


@dataclass(frozen=True)
class Fit:
    """A fitted parameter set, the rows it used and the Jacobian at the optimum."""

    layout: Layout
    x: np.ndarray
    params: Parameters
    cases: tuple[Case, ...]
    residuals: np.ndarray  # log errors of the cases, then the prior pulls
    jacobian: np.ndarray  # dense, rows as residuals


def _layout(cases: Sequence[Case]) -> Layout:
    families = tuple(sorted({c.family for c in cases if c.family is not None}))
    engines = tuple(sorted({c.engine for c in cases if c.engine is not None}))
    return Layout(families, tuple(sorted({c.stack for c in cases})), engines)


def _start(layout: Layout) -> np.ndarray:
    """The anchors, every offset at 0: where every fit starts (C2)."""
    x0 = np.zeros(layout.size)
    x0[:GLOBALS] = ANCHORS
    return x0


def _bounds(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on x: fractions within FRACTION_BOUNDS, floors within FLOOR_BOUNDS_S, offsets and
    speed factors within e^+-3."""
    lower = np.full(layout.size, -3.0)
    upper = np.full(layout.size, 3.0)
    floor_low, floor_high = (math.log(v) for v in FLOOR_BOUNDS_S)
    fraction_low = math.log(FRACTION_BOUNDS[0])
    lower[:GLOBALS] = [
        fraction_low, fraction_low, floor_low, floor_low, math.log(0.05), 21.0, floor_low
    ]  # fmt: skip
    upper[:GLOBALS] = [0.0, 0.0, floor_high, floor_high, 0.0, math.log(1e12), floor_high]
    return lower, upper


def _rows_by_column(layout: Layout, cases: Sequence[Case]) -> list[np.ndarray]:
    """For each parameter, the residuals it moves: its rows' log errors and its own prior."""
    rows: list[list[int]] = [[] for _ in range(layout.size)]
    for i, case in enumerate(cases):
        for j in layout.columns(case):
            rows[j].append(i)
    for j in range(layout.size):
        rows[j].append(len(cases) + j)
    return [np.array(r) for r in rows]


def column_groups(rows: Sequence[np.ndarray]) -> list[list[int]]:
    """Parameters that move no residual in common, greedily grouped: one evaluation of the
    residuals differences a whole group (Curtis-Powell-Reid)."""
    groups: list[tuple[list[int], set[int]]] = []
    for j, r in enumerate(rows):
        touched = set(r.tolist())
        for columns, used in groups:
            if used.isdisjoint(touched):
                columns.append(j)
                used |= touched
                break
        else:
            groups.append(([j], touched))
    return [columns for columns, _ in groups]


def forward_jacobian(
    residuals: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    rows: Sequence[np.ndarray],
) -> np.ndarray:
    """Forward differences of `residuals` at x: a step of DIFF_STEP x max(1, |x_j|) in the sign
    of x_j, reversed where it would cross a bound; one evaluation per column group."""
    f0 = residuals(x)
    step = DIFF_STEP * np.where(x >= 0, 1.0, -1.0) * np.maximum(1.0, np.abs(x))
    lower, upper = bounds
    step = np.where((x + step > upper) | (x + step < lower), -step, step)
    jac = np.zeros((f0.size, x.size))
    for group in column_groups(rows):
        moved = x.copy()
        moved[group] += step[group]
        df = residuals(moved) - f0
        for j in group:
            jac[rows[j], j] = df[rows[j]] / (moved[j] - x[j])
    return jac


def fit(cases: Sequence[Case]) -> Fit:
    """(C1-C2) least squares on log(model / measured) over `cases`, from the anchors. A leave-out
    refits the same way: warm-started from the full fit, the trust region shrank to nothing on
    the model's kinks (integer batches and layouts) and returned the full fit unmoved, so a
    hidden part scored its in-sample error. The trust-region steps are dense and exact (SVD of
    a Jacobian of a few dozen columns), not LSMR's iterations, and x and the residuals are
    snapped to a grid: the same rows fit the same on every machine."""
    layout = _layout(cases)
    known: dict[tuple[int, Efficiency], float] = {}  # a Jacobian column moves few rows' figures

    def error(i: int, eff: Efficiency) -> float:
        if (i, eff) not in known:
            known[(i, eff)] = log_error(cases[i], eff)
        return known[(i, eff)]

    def residuals(x: np.ndarray) -> np.ndarray:
        x = np.round(x, X_DECIMALS)
        params = layout.parameters(x)
        errors = [error(i, params.efficiency(c)) for i, c in enumerate(cases)]
        return np.round(np.array(errors + layout.priors(x)), RESIDUAL_DECIMALS)

    bounds = _bounds(layout)
    rows = _rows_by_column(layout, cases)
    x0 = np.clip(_start(layout), bounds[0] + 1e-9, bounds[1] - 1e-9)
    result = least_squares(
        residuals,
        x0,
        jac=lambda x: forward_jacobian(residuals, x, bounds, rows),
        bounds=bounds,
        tr_solver="exact",
        x_scale=0.3,
    )
    x = np.round(result.x, X_DECIMALS)
    return Fit(layout, x, layout.parameters(x), tuple(cases), result.fun, np.asarray(result.jac))


def leave_one_out_log_errors(result: Fit) -> tuple[np.ndarray, np.ndarray]:
    """(V2) each row's log error had it been left out, by the leverage of the linearised fit:
    e_(-i) = e_i / (1 - h_ii), h = diag(J (J'J)^-1 J') (PRESS residuals); and the leverages."""
    jac = result.jacobian
    gram = jac.T @ jac
    inverse = np.linalg.pinv(gram)
    n = len(result.cases)
    leverage = np.einsum("ij,jk,ik->i", jac[:n], inverse, jac[:n])
    leverage = np.clip(leverage, 0.0, 0.99)
    return result.residuals[:n] / (1.0 - leverage), leverage
