"""Trust grades: what the grade of a generated lead promises, and the one rule behind grade A.

Pure functions of numbers, below :mod:`l2g.uncertainty` (which fits nothing here but stores the fitted
pieces in ``interval.json`` and re-exports these names):

* :func:`grade_design` - the design matrix of the grade regression (predicted RMSE) from record features
  (:data:`GRADE_FEATURES`), shared by ``bench/trust_calibrate.py fit`` and :func:`l2g.trust.trust_table`;
* :class:`GradeRule` and :func:`st_decisions` - whether ST-level decisions are possible for a generated
  lead: the bounds fitted on validation ST errors (issue #22 item 6); grade A exactly where it says yes
  (:func:`grade_of`), and the dashboard's ST warning names exactly the leads it says no to;
* :func:`st_segments` - the ST segment of each beat, where the band's ST half-width is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .leads import LEADS

__all__ = [
    "GRADES",
    "GRADE_B_MAX_UV",
    "GRADE_FEATURES",
    "DEFAULT_GRADE_TERMS",
    "ST_ERROR_MV",
    "ST_SHARE",
    "ST_LIMIT_MV",
    "GradeError",
    "GradeRule",
    "check_terms",
    "grade_design",
    "st_decisions",
    "grade_of",
    "grade_legend",
    "st_segments",
]

#: Trust grades: (grade, meaning). A: :func:`st_decisions` says yes; otherwise B up to
#: :data:`GRADE_B_MAX_UV` predicted RMSE (above it the error is as large as a T wave, leaving the rhythm
#: and, with care, the axis), else C.
GRADES: tuple[tuple[str, str], ...] = (
    ("A", "ST-level decisions possible"),
    ("B", "rhythm and axis only"),
    ("C", "do not use"),
)
GRADE_B_MAX_UV: float = 150.0
#: The ST-level error (mV, at J + 60 ms) grade A promises, and the share of validation leads so graded
#: that must stay within it.
ST_ERROR_MV: float = 0.05
ST_SHARE: float = 0.9
#: The grade-regression terms of an interval.json that names none (see :func:`grade_design`).
DEFAULT_GRADE_TERMS: dict[str, tuple[str, ...]] = {
    "model": ("1", "log_s", "log_gen", "log_dis"),
    "linear": ("1", "log_s"),
}


#: A band wider than this (half-width, mV) at the ST segment cannot support an ST-deviation decision
#: (the usual criterion is a 0.1 mV deviation): the fitted band bound of grade A never exceeds it.
ST_LIMIT_MV: float = 0.1
#: The ST segment: from QRS offset + 40 ms to + 80 ms; where the QRS offset is not known, R + 80 ms to
#: R + 120 ms (s).
ST_AFTER_QRS_OFF_S: tuple[float, float] = (0.04, 0.08)
ST_AFTER_R_S: tuple[float, float] = (0.08, 0.12)


class GradeError(ValueError):
    """A grade rule or grade-regression term that is malformed."""


@dataclass(frozen=True)
class GradeRule:
    """When a generated lead may carry grade A, "ST-level decisions possible" (see :func:`st_decisions`).

    Attributes
    ----------
    max_predicted_rmse_uv : float
        Largest predicted RMSE (µV) of a lead graded A.
    max_st_halfwidth_mv : float
        Largest half-width (mV) of the 90 % band at the ST segment (:func:`l2g.uncertainty.st_halfwidth`); at most
        :data:`ST_LIMIT_MV`.
    validation : dict
        What was measured on the validation split: ``leads`` graded A (with a measured ST level),
        ``share`` of them with an ST error within ``st_error_mv``, ``records``.
    """

    max_predicted_rmse_uv: float
    max_st_halfwidth_mv: float
    validation: dict

    def to_dict(self) -> dict[str, Any]:
        """Plain-type form (the ``grade_a`` field of ``interval.json``)."""
        return {"max_predicted_rmse_uv": round(float(self.max_predicted_rmse_uv), 2),
                "max_st_halfwidth_mv": round(float(self.max_st_halfwidth_mv), 4), "validation": self.validation}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradeRule:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        GradeError
            When a bound is missing, negative, or the band bound is above :data:`ST_LIMIT_MV`.
        """
        try:
            rule = cls(float(d["max_predicted_rmse_uv"]), float(d["max_st_halfwidth_mv"]),
                       dict(d.get("validation", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise GradeError(f"malformed grade_a ({exc})") from exc
        if not (rule.max_predicted_rmse_uv >= 0 and 0 <= rule.max_st_halfwidth_mv <= ST_LIMIT_MV):
            raise GradeError(f"grade_a bounds must be >= 0 and the band bound <= {ST_LIMIT_MV} mV")
        return rule


#: Record features of a generated lead the grade terms may use (all in mV, except ``k``, ``chest_only``, ``lead``).
GRADE_FEATURES: dict[str, str] = {
    "s": "RMS over time of the band scale s_j",
    "gen": "RMS of the generated lead",
    "dis": "RMS of the generator minus its linear prior for the lead",
    "sigma": "the linear prior's expected error for the lead and subset (linear_sigma x chest-only factor)",
    "act": "RMS over time of the available leads' activity",
    "k": "number of available leads",
    "chest_only": "1 when no limb lead is available",
    "lead": "the generated lead's name",
}


def _term_ok(term: str) -> bool:
    if term in ("1", "k", "chest_only"):
        return True
    if term.startswith("log_"):
        return term[4:] in GRADE_FEATURES and term[4:] not in ("k", "chest_only", "lead")
    return term.startswith("lead=") and term[5:] in LEADS


def check_terms(terms: Sequence[str]) -> None:
    """Raise :class:`GradeError` for a term outside :func:`grade_design`'s vocabulary."""
    bad = [t for t in terms if not all(_term_ok(p) for p in t.split("*"))]
    if bad:
        raise GradeError(f"unknown grade term(s) {', '.join(map(repr, bad))}; terms are '1', 'k', "
                               "'chest_only', 'log_<s|gen|dis|sigma|act>', 'lead=<lead>' and products 'a*b'")


def grade_design(terms: Sequence[str], features: dict[str, Any]) -> np.ndarray:
    """Design matrix (rows, terms) of the grade regression from :data:`GRADE_FEATURES` arrays.

    ``"log_x"`` is ``log(max(x, 1 µV))``; ``"lead=V2"`` is 1 on rows of V2; ``"a*b"`` multiplies two terms.
    The bench's fit and :func:`l2g.trust.trust_table` both build their rows here.

    Raises
    ------
    GradeError
        For a term outside that vocabulary.

    Examples
    --------
    >>> f = {"s": np.array([0.1, 0.2]), "lead": np.array(["V1", "V2"]), "k": np.array([1, 3])}
    >>> grade_design(["1", "log_s", "lead=V2", "k*lead=V2"], f).round(2).tolist()
    [[1.0, -2.3, 0.0, 0.0], [1.0, -1.61, 1.0, 3.0]]
    """
    check_terms(terms)
    n = len(next(iter(features.values())))

    def one(term: str) -> np.ndarray:
        if term == "1":
            return np.ones(n)
        if term.startswith("log_"):
            return np.log(np.maximum(np.asarray(features[term[4:]], np.float64), 1e-3))
        if term.startswith("lead="):
            return (np.asarray(features["lead"]) == term[5:]).astype(np.float64)
        return np.asarray(features[term], np.float64)

    cols = []
    for t in terms:
        col = np.ones(n)
        for part in t.split("*"):
            col = col * one(part)
        cols.append(col)
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def st_decisions(predicted_rmse_uv: Any, st_halfwidth_mv: Any, exact: Any, rule: GradeRule | None) -> np.ndarray:
    """Whether ST-level decisions are possible, per generated lead: the one rule behind grade A and the ST warning.

    Yes for a lead fixed exactly by the available leads; otherwise only under a validated
    :class:`GradeRule` (:meth:`l2g.uncertainty.IntervalCalibration.rule_for`), when both the predicted RMSE and the
    band's half-width at the ST segment are within its bounds. An unknown (NaN) half-width says no.

    Examples
    --------
    >>> rule = GradeRule(60.0, 0.08, {})
    >>> st_decisions([40.0, 40.0, 90.0, 0.0], [0.05, 0.09, 0.05, 0.0], [False, False, False, True], rule).tolist()
    [True, False, False, True]
    >>> st_decisions([40.0], [0.05], [False], None).tolist()
    [False]
    """
    pred = np.asarray(predicted_rmse_uv, np.float64)
    hw = np.asarray(st_halfwidth_mv, np.float64)
    exact = np.asarray(exact, bool)
    if rule is None:
        return exact.copy()
    with np.errstate(invalid="ignore"):
        ok = (pred <= rule.max_predicted_rmse_uv) & (hw <= rule.max_st_halfwidth_mv)
    return exact | ok


def grade_of(predicted_rmse_uv: float, st_possible: bool = False) -> tuple[str, str]:
    """``(grade, meaning)`` of a generated lead (see :data:`GRADES`).

    A exactly when :func:`st_decisions` says ST decisions are possible (``st_possible``); else B up to
    :data:`GRADE_B_MAX_UV` of predicted RMSE (µV), else C.

    Examples
    --------
    >>> grade_of(30.0, st_possible=True)
    ('A', 'ST-level decisions possible')
    >>> grade_of(30.0)[0], grade_of(400.0)[0]
    ('B', 'C')
    """
    if st_possible:
        return GRADES[0]
    return GRADES[1] if predicted_rmse_uv <= GRADE_B_MAX_UV else GRADES[2]


def grade_legend(rule_note: str | None = None) -> str:
    """The grades in words (Markdown), with the grade-A rule in force.

    ``rule_note``: what :meth:`l2g.uncertainty.IntervalCalibration.rule_for` says about the rule.

    Examples
    --------
    >>> grade_legend().split("; ")[1]
    '**B** ≤ 150 µV predicted RMSE: rhythm and axis only'
    """
    (a, am), (b, bm), (c, cm) = GRADES
    return (f"**{a}** {am}" + (f" ({rule_note})" if rule_note else "")
            + f"; **{b}** ≤ {GRADE_B_MAX_UV:g} µV predicted RMSE: {bm}; **{c}** > {GRADE_B_MAX_UV:g} µV: {cm}")


def st_segments(fs: float, n_samples: int, r_peaks: Any, qrs_off: Any = None) -> np.ndarray:
    """Sample indices, shape (beats, width), of the ST segment of each beat that lies whole in the trace.

    :data:`ST_AFTER_QRS_OFF_S` after the QRS offset where it is known (finite), else
    :data:`ST_AFTER_R_S` after the R peak; ``r_peaks`` and ``qrs_off`` in samples at ``fs``.

    Examples
    --------
    >>> st_segments(100.0, 1000, np.array([100.0, 990.0]), np.array([np.nan, np.nan])).tolist()
    [[108, 109, 110, 111]]
    """
    r = np.asarray(r_peaks, np.float64)
    start = r + ST_AFTER_R_S[0] * fs
    if qrs_off is not None:
        qoff = np.asarray(qrs_off, np.float64)
        start = np.where(np.isfinite(qoff), qoff + ST_AFTER_QRS_OFF_S[0] * fs, start)
    width = max(1, int(round((ST_AFTER_R_S[1] - ST_AFTER_R_S[0]) * fs)))
    start = np.round(start[np.isfinite(start)]).astype(np.int64)
    start = start[(start >= 0) & (start + width <= n_samples)]
    return start[:, None] + np.arange(width)[None, :]
