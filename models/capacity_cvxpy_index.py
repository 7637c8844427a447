"""Index algebra of the cvxpy capacity model: sparse matrices over flattened (w, p, s, y) axes.

Purchase and build decisions are flat vectors in C order (models/capacity_cvxpy.py); the sums
over lifetimes, lead times and rules are the sparse matrices built here, once, with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def selector(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Sparse (rows x cols) matrix with the given entries (duplicates add up)."""
    return sp.csr_matrix((values.ravel(), (rows.ravel(), cols.ravel())), shape=shape)


def within_site_matrix(link: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """(G*Y, G*Y) block-diagonal matrix with link[g, y', y] at row (g, y), column (g, y')."""
    g, y_from, y_to = np.nonzero(link)
    n_y = link.shape[1]
    return selector(
        g * n_y + y_to, g * n_y + y_from, link[g, y_from, y_to], (n_groups * n_y, n_groups * n_y)
    )


@dataclass(frozen=True)
class Index:
    """Flat positions of every (w, p, s, y) and the sparse sums the constraints use."""

    psy: tuple[np.ndarray, np.ndarray, np.ndarray]  # p, s, y of each flat (p, s, y) entry
    wpsy: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # w, p, s, y of each row of u

    @staticmethod
    def of(n_w: int, n_p: int, n_s: int, n_y: int) -> Index:
        """The flat (p, s, y) and (w, p, s, y) positions, C order, of a plan's axes."""
        p, s, y = np.unravel_index(np.arange(n_p * n_s * n_y), (n_p, n_s, n_y))
        w4, p4, s4, y4 = np.unravel_index(np.arange(n_w * n_p * n_s * n_y), (n_w, n_p, n_s, n_y))
        return Index(psy=(p, s, y), wpsy=(w4, p4, s4, y4))
