"""The Benders master's cuts as data: each cut row's block, columns, coefficients and right-hand
side, in the order of the master's last rows, how many rounds running each has been slack, and
the pool of cuts retired from the master (models/benders_master.py).

Why retire: the LP master's interior point grows with its cuts, 480 a round on p20y10s20d12 (79 s
at 2,391 cuts, 172 s at 7,646), while a block's theta rests on one or two of its cuts at any
point. A cut slack for `rounds` rounds running leaves the master for the pool; the master with
fewer valid cuts is still a relaxation, so its optimum stays a lower bound. A pooled cut that the
master's next point violates comes back, so the master does not wander back into a region it
had already cut off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

SLACK_RELATIVE = 1e-4  # a cut is slack when its row clears theta's level by this share or more


@dataclass(frozen=True)
class Cut:
    """One cut row: sum coef[i] v[cols[i]] >= rhs; `theta` the column of its block's cost
    (-1 for a feasibility cut, scaled to coefficients of at most 1)."""

    theta: int
    cols: np.ndarray
    coef: np.ndarray
    rhs: float


@dataclass
class CutBook:
    """The master's cut rows in row order, their slack ages, and the retired pool."""

    rows: list[Cut] = field(default_factory=list)
    age: list[int] = field(default_factory=list)
    pool: list[Cut] = field(default_factory=list)

    def add(self, cut: Cut) -> None:
        """A cut appended as the master's last row, binding until a solution says otherwise."""
        self.rows.append(cut)
        self.age.append(0)

    def keep(self, mask: np.ndarray) -> None:
        """Keep the rows where `mask` is True (the master deleted the others, order kept)."""
        self.rows = [c for c, on in zip(self.rows, mask, strict=True) if on]
        self.age = [a for a, on in zip(self.age, mask, strict=True) if on]

    def grow_older(self, values: np.ndarray) -> None:
        """One round at the master's solution `values`: a cut whose row clears its right-hand
        side by SLACK_RELATIVE of its level or more is a round older, a binding one young
        again."""
        short = shortfall(self.rows, values)
        loose = -short > SLACK_RELATIVE * level(self.rows, values)
        self.age = [a + 1 if on else 0 for a, on in zip(self.age, loose, strict=True)]

    def retire(self, rounds: int) -> np.ndarray:
        """Move the cuts slack `rounds` rounds running to the pool; returns the mask of the
        rows kept (the master deletes the others)."""
        keep = np.array([a < rounds for a in self.age], dtype=bool)
        self.pool.extend(c for c, on in zip(self.rows, keep, strict=True) if not on)
        self.keep(keep)
        return keep

    def violated(self, values: np.ndarray) -> list[Cut]:
        """Take from the pool the cuts `values` violates (short of the right-hand side by
        SLACK_RELATIVE of their level or more): they go back into the master."""
        if not self.pool:
            return []
        back = shortfall(self.pool, values) > SLACK_RELATIVE * level(self.pool, values)
        out = [c for c, on in zip(self.pool, back, strict=True) if on]
        self.pool = [c for c, on in zip(self.pool, back, strict=True) if not on]
        return out


def shortfall(cuts: list[Cut], values: np.ndarray) -> np.ndarray:
    """rhs - row activity of each cut at `values` (positive: violated, negative: slack)."""
    if not cuts:
        return np.zeros(0)
    data = np.concatenate([c.coef for c in cuts])
    indices = np.concatenate([c.cols for c in cuts])
    indptr = np.cumsum([0, *(c.cols.size for c in cuts)])
    a = sp.csr_matrix((data, indices, indptr), shape=(len(cuts), values.size))
    return np.array([c.rhs for c in cuts]) - a @ values


def level(cuts: list[Cut], values: np.ndarray) -> np.ndarray:
    """The size a cut's slack is measured against: its block's cost theta at `values` or its
    right-hand side, whichever is larger, and at least 1."""
    theta = np.array([abs(values[c.theta]) if c.theta >= 0 else 0.0 for c in cuts])
    rhs = np.array([abs(c.rhs) for c in cuts])
    return np.maximum(np.maximum(theta, rhs), 1.0)
