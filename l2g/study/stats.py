"""Statistics of a reader study: pure functions on counts and label lists.

* :func:`wilson_interval` - the Wilson score interval of a proportion (Wilson 1927).
* :func:`binom_p` - exact two-sided binomial test against chance (:func:`scipy.stats.binomtest`).
* :func:`fleiss_kappa` - agreement of several raters on categorical labels (Fleiss 1971).
* :func:`cohen_kappa` - agreement of two label lists (Cohen 1960).

References
----------
Wilson EB (1927) Probable inference, the law of succession, and statistical inference. JASA 22:209-212.
Fleiss JL (1971) Measuring nominal scale agreement among many raters. Psychol Bull 76:378-382.
Cohen J (1960) A coefficient of agreement for nominal scales. Educ Psychol Meas 20:37-46.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["wilson_interval", "binom_p", "fleiss_kappa", "cohen_kappa"]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion ``successes / n``.

    Parameters
    ----------
    successes : int
        0 <= successes <= n.
    n : int
        Number of trials; with n = 0 the interval is (nan, nan).
    confidence : float
        Two-sided level, e.g. 0.95.

    Returns
    -------
    (float, float)
        Lower and upper bound, within [0, 1].

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(lo, 4), round(hi, 4)
    (0.4902, 0.9433)
    """
    if not 0 <= successes <= n:
        raise ValueError(f"wilson_interval: need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (math.nan, math.nan)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def binom_p(successes: int, n: int, chance: float = 0.5) -> float:
    """Exact two-sided binomial test of ``successes / n`` against ``chance`` (nan when n = 0).

    Examples
    --------
    >>> round(binom_p(8, 10), 4)  # 2 * P(X >= 8 | n=10, p=0.5) = 2 * 56/1024
    0.1094
    """
    if n == 0:
        return math.nan
    from scipy.stats import binomtest

    return float(binomtest(int(successes), int(n), float(chance)).pvalue)


def fleiss_kappa(counts: np.ndarray | Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa of a subjects x categories table of rating counts.

    Parameters
    ----------
    counts : array-like of int, shape (subjects, categories)
        ``counts[i, j]`` raters put subject ``i`` in category ``j``; every row
        must have the same total (the number of raters, >= 2).

    Returns
    -------
    float
        1 for perfect agreement, 0 for agreement at chance level; nan when the
        expected agreement is 1 (a single category used throughout).

    Examples
    --------
    The worked example of Fleiss' kappa (10 subjects, 14 raters, 5 categories):

    >>> table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    ...          [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> round(fleiss_kappa(table), 3)
    0.21
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"fleiss_kappa: need a non-empty (subjects, categories) table, got shape {x.shape}")
    raters = x.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("fleiss_kappa: every subject needs the same number (>= 2) of ratings")
    m = raters[0]
    p_j = x.sum(axis=0) / x.sum()
    p_i = ((x * x).sum(axis=1) - m) / (m * (m - 1))
    p_bar, p_e = p_i.mean(), float((p_j**2).sum())
    if math.isclose(p_e, 1.0):
        return math.nan
    return float((p_bar - p_e) / (1 - p_e))


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two equally long label lists (nan when empty or chance agreement is 1).

    Examples
    --------
    50 items, both yes 20, a yes / b no 5, a no / b yes 10, both no 15:

    >>> a = ["y"] * 25 + ["n"] * 25
    >>> b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    >>> round(cohen_kappa(a, b), 3)
    0.4
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa: the label lists differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        return math.nan
    cats = sorted(set(a) | set(b), key=str)
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    p_e = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in cats)
    if math.isclose(p_e, 1.0):
        return math.nan
    return float((p_o - p_e) / (1 - p_e))
