"""The cohort step as one compiled pass over (draw, place, sex, age).

numpy would need a pass per operation (the factor, the shifted product, the open last
age, the clamp at zero, the sum of what the clamp removed); numba fuses them. The kernel
releases the GIL, so the projection's chunks of draws run on every core side by side
(threads, not numba's own parallelism, which is not safe to call from several threads).
Compiled once per machine (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def cohort_step(
    pop: np.ndarray,
    survival: np.ndarray,
    mobility: np.ndarray,
    q_local: np.ndarray,
    shift: np.ndarray,
    excess: np.ndarray,
    newborn: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """Age ``pop`` (D, P, S, A) by one year into ``out``; returns the shortfall (D, P).

    Each cohort moves up one age (the last age is open) multiplied by
    ``survival[p] + shift[d, p] * mobility + excess[d, p] * q_local[p]``: survivors and
    usual net migrants, the migrants beyond the usual ones on the mobile ages, and the
    deaths beyond the point ratio's in proportion to q. Age 0 is ``newborn`` (D, P, S).
    Cohorts that would turn negative are set to 0; the shortfall is the (negative) sum of
    what that removed, so the caller can take those leavers elsewhere.
    """
    d, p, n_sex, n_age = pop.shape
    zero = np.float32(0.0)
    shortfall = np.zeros((d, p))
    for i in range(d):
        for j in range(p):
            up, extra = np.float32(shift[i, j]), np.float32(excess[i, j])
            lack = 0.0
            for s in range(n_sex):
                src, dst = pop[i, j, s], out[i, j, s]
                surv, mob, q = survival[j, s], mobility[s], q_local[j, s]
                dst[0] = newborn[i, j, s]
                for a in range(1, n_age):  # loops without branches vectorise
                    dst[a] = src[a - 1] * (surv[a - 1] + up * mob[a - 1] + extra * q[a - 1])
                last = n_age - 1
                dst[last] += src[last] * (surv[last] + up * mob[last] + extra * q[last])
                removed = zero
                for a in range(n_age):
                    removed += min(dst[a], zero)
                    dst[a] = max(dst[a], zero)
                lack += removed
            shortfall[i, j] = lack
    return shortfall


@numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def weighted_sums(pop: np.ndarray, common: np.ndarray, by_place: np.ndarray) -> np.ndarray:
    """Linear summaries of ``pop`` (D, P, S, A) in one pass: ``out[d, p, k]`` is the sum
    over sexes and ages of ``pop[d, p] * common[k]`` for the K rows of ``common`` (K, S,
    A), then of ``pop[d, p] * by_place[p, m]`` for the M rows of ``by_place`` (P, M, S,
    A): what several skinny matrix products would give in as many passes. Each sex's
    sum over ages is float32 (106 terms), the sums over sexes float64."""
    d, p, n_sex, n_age = pop.shape
    k, m = common.shape[0], by_place.shape[1]
    out = np.zeros((d, p, k + m))
    for i in range(d):
        for j in range(p):
            for s in range(n_sex):
                src = pop[i, j, s]
                for c in range(k):
                    weights, acc = common[c, s], np.float32(0.0)
                    for a in range(n_age):
                        acc += src[a] * weights[a]
                    out[i, j, c] += acc
                for c in range(m):
                    weights, acc = by_place[j, c, s], np.float32(0.0)
                    for a in range(n_age):
                        acc += src[a] * weights[a]
                    out[i, j, k + c] += acc
    return out
