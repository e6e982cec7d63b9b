"""A calibrated band around every generated lead, and a trust grade per generated lead.

Method (chosen on the validation split; numbers in ``docs/MODEL.md``)
---------------------------------------------------------------------
Split-conformal prediction with a record-adaptive scale. For a generated
lead ``j`` of a record reconstructed from the available subset ``S``
(``k = |S|`` leads), the band at sample ``t`` is::

    generated_j(t) ± q[k, j, level] * s_j(t)
    s_j(t) = sigma_j(S) * f_j(S) * sqrt(1 + (beta * a_S(t))**2)

``f_j(S)``
    1, or, when ``S`` holds no limb lead (chest leads only), the lead's
    :attr:`IntervalCalibration.chest_only_factor` fitted on validation: such
    subsets' normalised residuals run smaller than the others' of the same k.

``sigma_j(S)`` (mV)
    The exact residual standard deviation of the linear baseline for this
    subset and lead, from the baseline's lagged training covariance
    (:func:`linear_sigma`): large where the available leads say little about
    lead ``j`` (one distant lead), small where they pin it down.
``a_S(t)`` (mV)
    The activity of the AVAILABLE leads (:func:`input_activity`): the RMS over
    the available leads of their local RMS over a ``window_s`` moving window,
    after the same 0.5 Hz high-pass the model's inputs get. The band widens
    around the QRS and on high-voltage records, and, being a multiple of
    ``sigma_j(S)``, it is always wider when the available leads say less.
    (A first version used the local RMS of the *generated* trace; that trace
    shrinks towards the population average when few leads are given, so the
    band came out narrower from one lead than from seven.)
``q[k, j, level]``
    The ``level`` quantile of the normalised validation residuals
    ``|y - generated| / s`` of lead ``j`` over every validation record and
    evaluated subset of size ``k`` (pooled), with the finite-sample
    correction of split conformal prediction.

Residuals are those the study scores: real and generated both high-passed at
0.5 Hz (:func:`l2g.metrics.compare`), so the band is for the baseline-free
real lead. Leads fixed exactly by the available limb leads (Einthoven and
Goldberger with two or more limb leads) get a band of zero width. For
``k > 7`` the ``k = 7`` quantiles are used (more leads: narrower truth).
The quantiles are fitted on the generator's residuals; a band around a
``method="linear"`` reconstruction uses them too and is then too narrow.

The calibration is a small plain JSON file (``interval.json`` in
:func:`l2g.paths.weights_dir`, listed in ``SHA256SUMS``) written by
``bench/trust_calibrate.py``.

Bound to its generator
----------------------
Everything in ``interval.json`` (quantiles, chest-only factors, grade
coefficients) is fitted to one generator's outputs, so the file names that
generator (:attr:`IntervalCalibration.model`, its
:func:`l2g.reconstruction.weights_version`, e.g. ``l2g.pt@66d7d7843eb2``), and
:func:`calibration_for` refuses it for any other (:class:`CalibrationMismatch`,
naming both): :func:`l2g.reconstruct` then warns and returns no band,
:func:`l2g.trust.trust_table` raises, ``l2g reconstruct --interval`` exits with an
error. A ``method="linear"`` reconstruction is not checked: its band and
grade (the ``"linear"`` coefficients) are the documented approximation above,
whichever generator the file was fitted for. Of the other fitted numbers,
none depends on the generator's outputs: the lead check
(:mod:`l2g.leadcheck`) uses the checkpoint's linear baseline and its own
network ``leadcheck.pt``, neither of which is the generator.

Trust grade
-----------
The predicted RMSE (µV) of a generated lead on this record is a log-linear
fit on validation (:attr:`IntervalCalibration.grade_coef` over the terms
:attr:`IntervalCalibration.grade_terms`, see :func:`grade_design`) of record
features: the RMS over time of the scale ``s_j``, the RMS of the generated
lead, the RMS of the difference between the generator and its linear prior
for that lead (where they disagree, the generator is less sure), and, in
newer files, the lead, ``k`` and the linear prior's expected error. A
``method="linear"`` reconstruction has no such difference and uses the
``"linear"`` terms.

One rule, :func:`st_decisions`, says per generated lead whether ST-level
decisions are possible: a lead fixed exactly by the available leads, or a
predicted RMSE and a band half-width at the ST segment (:func:`st_halfwidth`)
both within the bounds of :attr:`IntervalCalibration.grade_a`. Those bounds
are the largest for which, on the validation split, the ST level at J + 60 ms
of the leads so graded was within 0.05 mV of the real one in at least 90 % of
cases (``bench/trust_calibrate.py fit``); they belong to the generator named
by :attr:`IntervalCalibration.model`. Grade A means exactly this rule says
yes; B and C follow the predicted RMSE (:data:`GRADES`). The dashboard's ST
warning lists the generated leads the rule says no to, so a lead called too
uncertain for ST decisions never carries grade A. Conservative fallbacks, no
generated lead graded A (beyond the exact ones): an ``interval.json`` written
before the rule existed (no ``grade_a``), a reconstruction by another
generator than the one the rule was validated for, a ``method="linear"``
reconstruction, and a lead whose ST segment could not be timed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .grades import (
    DEFAULT_GRADE_TERMS,
    GRADE_B_MAX_UV,
    GRADE_FEATURES,
    GRADES,
    ST_ERROR_MV,
    ST_LIMIT_MV,
    ST_SHARE,
    GradeError,
    GradeRule,
    check_terms,
    grade_design,
    grade_legend,
    grade_of,
    st_decisions,
    st_segments,
)
from .leads import EXPAND_8_TO_12, LEADS, LIMB_LEADS, limb_basis, parse_lead_list
from .record import GENERATED, Record

__all__ = [
    "INTERVAL_FORMAT",
    "CalibrationError",
    "CalibrationMismatch",
    "ModelMismatchWarning",
    "calibration_for",
    "GRADES",
    "IntervalCalibration",
    "load_calibration",
    "linear_sigma",
    "band_scale",
    "input_activity",
    "moving_rms",
    "predicted_rmse",
    "exact_leads",
    "interval_for",
    "grade_of",
    "grade_legend",
    "grade_design",
    "st_decisions",
    "st_segments",
    "GradeRule",
    "GRADE_B_MAX_UV",
    "GRADE_FEATURES",
    "ST_ERROR_MV",
    "ST_SHARE",
    "DEFAULT_GRADE_TERMS",
    "CalibrationError",
    "conformal_quantile",
    "ST_LIMIT_MV",
    "st_halfwidth",
]

INTERVAL_FORMAT = "l2g-interval"

class CalibrationError(ValueError):
    """An interval calibration file that is missing, malformed or does not match."""


class CalibrationMismatch(CalibrationError):
    """A calibration fitted for another generator than the one it would serve; the message names both."""


class ModelMismatchWarning(UserWarning):
    """:func:`l2g.reconstruct` made no band: its calibration was fitted for another generator."""


@dataclass(frozen=True)
class IntervalCalibration:
    """The fitted band: scale settings, normalised-residual quantiles and the grade model.

    Attributes
    ----------
    beta : float
        Weight of the available leads' activity in the scale (1/mV).
    window_s : float
        Length of the local-RMS window of the activity (s).
    levels : tuple of float
        Coverage levels with stored quantiles, increasing.
    quantiles : ndarray, shape (len(levels), 7, 12)
        ``q[level, k - 1, lead]`` for k = 1…7 and the 12 canonical leads.
    grade_coef : dict
        ``{"model": [...], "linear": [...]}``, one coefficient per term of
        :attr:`grade_terms`: log predicted RMSE (mV) = design @ coef
        (:func:`predicted_rmse`).
    meta : dict
        How it was fitted (split, records, command).
    chest_only_factor : ndarray, shape (12,), optional
        Multiplier of each lead's scale when the available leads include no
        limb lead (chest leads only); fitted on validation, where the
        normalised residuals of such subsets are smaller than those of subsets
        with a limb lead (see ``docs/MODEL.md``). ``None``: 1 for every lead.
    model : str, optional
        The generator whose residuals it was fitted on, as
        :func:`l2g.reconstruction.weights_version` names it
        (``"l2g.pt@66d7d7843eb2"``); ``None`` (a file written before
        calibrations named their model): fitted for an unknown generator,
        refused for every one by :func:`calibration_for`.
    grade_terms : dict, optional
        ``{"model": (term, ...), "linear": (term, ...)}`` (:func:`grade_design`);
        ``None``: :data:`DEFAULT_GRADE_TERMS` (files before the terms were stored).
    grade_a : GradeRule, optional
        The validated bounds of grade A; ``None`` (files before the rule
        existed): no generated lead is graded A unless fixed exactly.
    """

    beta: float
    window_s: float
    levels: tuple[float, ...]
    quantiles: np.ndarray
    grade_coef: dict
    meta: dict
    chest_only_factor: np.ndarray | None = None
    grade_terms: dict | None = None
    grade_a: GradeRule | None = None
    model: str | None = None

    def terms(self, kind: str) -> tuple[str, ...]:
        """The grade-regression terms of ``kind`` (``"model"`` or ``"linear"``)."""
        return tuple((self.grade_terms or DEFAULT_GRADE_TERMS)[kind])

    def rule_for(self, model_version: str | None, method: str) -> tuple[GradeRule | None, str]:
        """:attr:`grade_a` if it applies to a reconstruction by ``model_version`` with ``method``, and why (not).

        Examples
        --------
        >>> cal = load_calibration()
        >>> cal.rule_for("l2g.pt@000000000000", "model")[0] is None
        True
        """
        if self.grade_a is None:
            return None, ("none now: the band calibration (interval.json) holds no validated grade-A rule; "
                          "run bench/trust_calibrate.py fit")
        if method != "model":
            return None, f"none now: grade A was validated on the generator's leads, not on a {method} reconstruction"
        if model_version != self.model:
            return None, (f"none now: grade A was validated for {self.model}, not for {model_version}; "
                          "re-run bench/trust_calibrate.py cache / fit")
        r = self.grade_a
        v = r.validation
        where = "PTB-XL fold-9 same-patient pairs" if self.meta.get("mode") == "personal" else "validation"
        return r, (f"predicted RMSE ≤ {r.max_predicted_rmse_uv:.0f} µV and band ≤ ±{r.max_st_halfwidth_mv:.2f} mV "
                   f"at the ST segment; on {where} the ST level (J + 60 ms) was within {ST_ERROR_MV:g} mV in "
                   f"{100 * v.get('share', float('nan')):.0f} % of the {v.get('leads', '?')} leads so graded")

    def factor_for(self, available: Sequence[str]) -> np.ndarray:
        """Per-lead multiplier (12,) of the scale: :attr:`chest_only_factor` without a limb lead, else 1.

        Examples
        --------
        >>> cal = load_calibration()
        >>> bool((cal.factor_for(["I", "V2"]) == 1).all()), cal.factor_for(["V1", "V4"]).shape
        (True, (12,))
        """
        if self.chest_only_factor is None or not chest_only(available):
            return np.ones(len(LEADS))
        return np.asarray(self.chest_only_factor, np.float64)

    def quantile(self, level: float, k: int) -> np.ndarray:
        """The 12 per-lead quantiles for ``level`` and ``k`` available leads (linear in level).

        Raises
        ------
        ValueError
            If ``level`` is outside the stored range or k < 1.
        """
        lo, hi = self.levels[0], self.levels[-1]
        if not lo <= level <= hi:
            raise ValueError(f"interval level must be between {lo} and {hi} (fraction covered), got {level!r}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        kk = min(k, self.quantiles.shape[1]) - 1
        q = self.quantiles[:, kk, :]
        return np.array([np.interp(level, self.levels, q[:, j]) for j in range(q.shape[1])])

    def to_dict(self) -> dict[str, Any]:
        """Plain-type form written to ``interval.json``."""
        return {
            "format": INTERVAL_FORMAT, "version": 2, **({} if self.model is None else {"model": self.model}),
            "beta": self.beta, "window_s": self.window_s,
            "levels": list(self.levels), "k_values": list(range(1, self.quantiles.shape[1] + 1)),
            "leads": list(LEADS), "quantiles": np.round(self.quantiles, 5).tolist(),
            "grade_coef": {k: [round(float(c), 5) for c in v] for k, v in self.grade_coef.items()},
            "meta": self.meta,
            **({} if self.chest_only_factor is None else
               {"chest_only_factor": np.round(np.asarray(self.chest_only_factor, np.float64), 5).tolist()}),
            **({} if self.grade_terms is None else {"grade_terms": {k: list(v) for k, v in self.grade_terms.items()}}),
            **({} if self.grade_a is None else {"grade_a": self.grade_a.to_dict()}),
            **({} if self.model is None else {"model": self.model}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "calibration") -> IntervalCalibration:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        CalibrationError
            When ``d`` is not an interval calibration of this version.
        """
        if not isinstance(d, dict) or d.get("format") != INTERVAL_FORMAT or d.get("version") != 2:
            raise CalibrationError(f"{source}: not an {INTERVAL_FORMAT} version 2 file; "
                                   "run bench/trust_calibrate.py fit")
        try:
            q = np.asarray(d["quantiles"], np.float64)
            levels = tuple(float(v) for v in d["levels"])
            if q.shape != (len(levels), len(d["k_values"]), len(LEADS)) or list(d["leads"]) != list(LEADS):
                raise CalibrationError(f"{source}: quantiles of shape {q.shape} do not match levels × k × 12 leads")
            coef = {k: [float(c) for c in d["grade_coef"][k]] for k in ("model", "linear")}
            terms = d.get("grade_terms")
            if terms is not None:
                terms = {k: tuple(str(t) for t in terms[k]) for k in ("model", "linear")}
            for k, names in (terms or DEFAULT_GRADE_TERMS).items():
                if len(coef[k]) != len(names):
                    raise CalibrationError(f"{source}: grade_coef[{k!r}] needs {len(names)} coefficients "
                                           f"(terms {', '.join(names)}), got {len(coef[k])}")
                check_terms(names)
            rule = None if d.get("grade_a") is None else GradeRule.from_dict(d["grade_a"])
            factor = d.get("chest_only_factor")
            if factor is not None:
                factor = np.asarray(factor, np.float64)
                if factor.shape != (len(LEADS),) or not np.all(np.isfinite(factor) & (factor > 0)):
                    raise CalibrationError(f"{source}: chest_only_factor needs 12 positive numbers")
            model = d.get("model")
            if model is not None and (not isinstance(model, str) or "@" not in model):
                raise CalibrationError(f"{source}: model {model!r}; expected the generator it was fitted for, "
                                       "e.g. 'l2g.pt@66d7d7843eb2'")
            return cls(beta=float(d["beta"]), window_s=float(d["window_s"]), levels=levels, quantiles=q,
                       grade_coef=coef, meta=dict(d.get("meta", {})), chest_only_factor=factor,
                       grade_terms=terms, grade_a=rule, model=model)
        except GradeError as exc:
            raise CalibrationError(f"{source}: {exc}") from exc
        except (KeyError, TypeError) as exc:
            raise CalibrationError(f"{source}: missing or malformed field ({exc})") from exc

    def save(self, path: str | Path) -> None:
        """Write the JSON file."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))


_CAL_CACHE: dict[str, IntervalCalibration] = {}


def load_calibration(path: str | Path | None = None) -> IntervalCalibration:
    """Read ``interval.json`` (default: :func:`l2g.paths.weights_dir`), checked against ``SHA256SUMS``.

    Raises
    ------
    CalibrationError
        When the file is missing, unreadable or malformed.
    """
    from . import paths
    from .digest import read_verified_json

    p = Path(path) if path is not None else paths.weights_file("interval.json")
    key = str(p)
    if key not in _CAL_CACHE:
        try:
            d = read_verified_json(p)
        except (OSError, ValueError) as exc:
            raise CalibrationError(
                f"{p}: cannot read the interval calibration ({exc}); run bench/trust_calibrate.py") from exc
        _CAL_CACHE[key] = IntervalCalibration.from_dict(d, str(p))
    return _CAL_CACHE[key]


def calibration_for(version: str, method: str = "model",
                    calibration: IntervalCalibration | None = None) -> IntervalCalibration:
    """The calibration (default :func:`load_calibration`) if it was fitted for the generator ``version``.

    Parameters
    ----------
    version : str
        The generator's :func:`l2g.reconstruction.weights_version` (``Reconstructor.version``,
        ``Provenance.model_version``).
    method : {"model", "linear"}
        ``"linear"``: not checked (see the module notes, "Bound to its generator").
    calibration : IntervalCalibration, optional

    Returns
    -------
    IntervalCalibration

    Raises
    ------
    CalibrationMismatch
        When it names another generator, or none; the message names both.
    CalibrationError
        When the default file is missing or malformed.

    Examples
    --------
    >>> from l2g.reconstruction import load_reconstructor
    >>> calibration_for(load_reconstructor(device="cpu").version).model  # the shipped pair
    'l2g.pt@bd2e947fd304'
    >>> calibration_for("l2g.pt@e0485c1a6204")
    Traceback (most recent call last):
    ...
    l2g.uncertainty.CalibrationMismatch: the band calibration was fitted for l2g.pt@bd2e947fd304, not for \
l2g.pt@e0485c1a6204; refit it for this generator (bench/trust_calibrate.py cache, fit)
    """
    from .digest import same_weights

    cal = calibration if calibration is not None else load_calibration()
    if method != "model" or same_weights(cal.model, version):
        return cal
    fitted = cal.model or "an unnamed generator (the file names none)"
    raise CalibrationMismatch(f"the band calibration was fitted for {fitted}, not for {version}; "
                              "refit it for this generator (bench/trust_calibrate.py cache, fit)")


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile: the ``ceil((n + 1) level) / n`` empirical quantile of ``scores``.

    With exchangeable calibration and test scores, ``P(score_test <= q) >= level``.

    Examples
    --------
    >>> conformal_quantile(np.arange(1, 101), 0.9)
    91.0
    """
    x = np.asarray(scores, np.float64).ravel()
    n = x.size
    if n == 0:
        raise ValueError("conformal_quantile: no scores")
    k = min(n, int(np.ceil((n + 1) * level - 1e-9)))  # the k-th smallest score (k = n + 1 would be +inf)
    return float(np.partition(x, k - 1)[k - 1])


# ------------------------------------------------------------ scale pieces
_SIGMA_CACHE: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}


def linear_sigma(linear, available: Sequence[str]) -> np.ndarray:
    """Residual SD (mV) of the linear baseline for each of the 12 leads, given ``available``.

    Exact under the baseline's training covariance: the residual of lead
    ``j`` is a linear function of the lagged 8-lead vector, so its variance
    is ``b C b^T``. Available leads and leads fixed exactly by them are 0.

    Parameters
    ----------
    linear : l2g.baseline.LinearBaseline
    available : sequence of str

    Returns
    -------
    ndarray of float64, shape (12,)

    Examples
    --------
    >>> from l2g.reconstruction import load_reconstructor
    >>> lin = load_reconstructor(method="linear").linear
    >>> s1, s5 = linear_sigma(lin, ["I"]), linear_sigma(lin, ["I", "II", "V1", "V3", "V5"])
    >>> bool(s1[LEADS.index("V2")] > s5[LEADS.index("V2")] > 0), float(s5[LEADS.index("aVR")])
    (True, 0.0)
    """
    key = parse_lead_list(available)
    ck = (id(linear), key)
    if ck not in _SIGMA_CACHE:
        st = linear._stats
        w = np.asarray(linear.weights_for(key), np.float64)  # (8, 12, K)
        m_out, m_cov = linear.config.max_lag, st.cov_max_lag
        k_cov = 2 * m_cov + 1
        e = EXPAND_8_TO_12.astype(np.float64)  # (12, 8)
        b = np.zeros((8, 8 * k_cov))
        for j in range(8):
            b[j, j * k_cov + m_cov] = 1.0  # the target at lag 0
        # prediction: sum_p sum_k W[j,p,k] * x_p(t + k - M), x_p = E[p] @ x8
        taps = np.flatnonzero(np.abs(w).sum(axis=(0, 1)) > 0)
        for k in taps:
            col = k - m_out + m_cov
            coef = w[:, :, k] @ e  # (8 out, 8 independent)
            b[:, np.arange(8) * k_cov + col] -= coef
        cov8 = b @ st.cov @ b.T
        var12 = np.einsum("ij,jk,ik->i", e, cov8, e)
        sig = np.sqrt(np.clip(var12, 0.0, None))
        for lead in exact_leads(key):
            sig[LEADS.index(lead)] = 0.0
        _SIGMA_CACHE[ck] = sig
    return _SIGMA_CACHE[ck].copy()


def chest_only(available: Sequence[str]) -> bool:
    """Whether ``available`` holds no limb lead (the case :attr:`IntervalCalibration.chest_only_factor` serves).

    Examples
    --------
    >>> chest_only(["V1", "V4"]), chest_only(["aVF", "V2"])
    (True, False)
    """
    return not any(a in LIMB_LEADS for a in parse_lead_list(available))


def exact_leads(available: Sequence[str]) -> tuple[str, ...]:
    """Leads fixed exactly by ``available``: themselves, and all six limb leads given two of them.

    Examples
    --------
    >>> exact_leads(["I", "II", "V2"])
    ('I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V2')
    >>> exact_leads(["aVF"])
    ('aVF',)
    """
    key = set(parse_lead_list(available))
    if limb_basis(tuple(key)) is not None:
        key |= set(LIMB_LEADS)
    return tuple(lead for lead in LEADS if lead in key)


def moving_rms(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving RMS over ``n`` samples along the last axis (edges: shorter windows)."""
    from scipy.ndimage import uniform_filter1d

    return np.sqrt(np.clip(uniform_filter1d(np.asarray(x, np.float64) ** 2, max(1, n), axis=-1, mode="nearest"),
                           0.0, None))


def input_activity(available: Record, window_s: float) -> np.ndarray:
    """Local activity of the available leads: RMS over leads of their moving RMS (mV), shape (samples,).

    Parameters
    ----------
    available : Record
        Only the available (recorded) leads, as measured; high-passed here at
        0.5 Hz like the model's inputs.
    window_s : float
        Moving-RMS window (s).

    Examples
    --------
    >>> t = np.arange(5000) / 500.0
    >>> rec = Record(np.vstack([np.sin(2 * np.pi * 5 * t), np.zeros_like(t)]), fs=500.0, leads=("I", "V1"))
    >>> round(float(np.median(input_activity(rec, 0.2))), 2)  # sqrt((0.5 + 0) / 2)
    0.5
    """
    from .preprocess import HIGHPASS_HZ, remove_baseline

    x = remove_baseline(available, HIGHPASS_HZ).signal
    ms = moving_rms(x, int(round(window_s * available.fs))) ** 2
    return np.sqrt(ms.mean(axis=0))


def band_scale(activity: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """The record-adaptive scale ``s(t) = sigma * sqrt(1 + (beta * activity(t))**2)`` (mV).

    Parameters
    ----------
    activity : ndarray, shape (samples,)
        :func:`input_activity` of the available leads (mV).
    sigma : ndarray, shape (leads,)
        :func:`linear_sigma` of each lead (mV); 0 gives a zero scale (exact leads).
    beta : float
        Weight of the activity (1/mV).

    Returns
    -------
    ndarray of float64, shape (leads, samples)

    Examples
    --------
    >>> band_scale(np.array([0.0, 1.0]), np.array([0.1, 0.0]), beta=2.0).round(3)
    array([[0.1  , 0.224],
           [0.   , 0.   ]])
    """
    a = np.sqrt(1.0 + (beta * np.asarray(activity, np.float64)) ** 2)
    return np.asarray(sigma, np.float64)[:, None] * a[None, :]


def _scale_for(full: Record, available: Sequence[str], linear, cal: IntervalCalibration) -> np.ndarray:
    """``s(t)`` (12, samples) of a reconstruction; 0 on recorded and exact leads."""
    act = input_activity(full.select(available), cal.window_s)
    return band_scale(act, linear_sigma(linear, available) * cal.factor_for(available), cal.beta)


def interval_for(full: Record, available: Sequence[str], level: float, linear,
                 calibration: IntervalCalibration | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``(low, high)`` band (mV, float32, shaped like ``full.signal``) of a reconstruction.

    Used by :func:`l2g.reconstruction.reconstruct` with ``interval=level``.
    Recorded leads are NaN; exact leads have zero width.

    Parameters
    ----------
    full : Record
        12 canonical leads as returned by :func:`l2g.reconstruct` (without a band).
    available : sequence of str
    level : float
        Target coverage, e.g. 0.9.
    linear : l2g.baseline.LinearBaseline
        The baseline whose covariance gives :func:`linear_sigma`.
    calibration : IntervalCalibration, optional
        Default :func:`load_calibration`, not checked against a generator
        (:func:`l2g.reconstruct` passes the one :func:`calibration_for` accepts).
    """
    cal = calibration if calibration is not None else load_calibration()
    avail = parse_lead_list(available)
    q = cal.quantile(level, len(avail))  # checks the level before any work
    s = _scale_for(full, avail, linear, cal)
    hw = q[:, None] * s
    low = (full.signal - hw).astype(np.float32)
    high = (full.signal + hw).astype(np.float32)
    gen = np.array([st == GENERATED for st in full.status])
    low[~gen] = np.nan
    high[~gen] = np.nan
    return low, high


def predicted_rmse(cal: IntervalCalibration, features: dict[str, Any], kind: str = "model") -> np.ndarray:
    """Predicted RMSE (mV) of generated leads from their :data:`GRADE_FEATURES` (see ``grade_coef``).

    ``kind="linear"`` (a linear reconstruction, no generator-prior difference) uses the linear terms.
    """
    return np.exp(grade_design(cal.terms(kind), features) @ np.asarray(cal.grade_coef[kind], np.float64))


def _st_segments(rec: Record, delineation, lead: str) -> np.ndarray:
    """Sample indices (beats, width) of each beat's ST segment in ``rec`` (see :func:`st_halfwidth`)."""
    if delineation is None:
        from .morphology import detect_r_peaks

        return st_segments(rec.fs, rec.n_samples, detect_r_peaks(rec.lead(lead), rec.fs))
    ratio = rec.fs / delineation.fs
    return st_segments(rec.fs, rec.n_samples, delineation.r_peaks * ratio, delineation.qrs_off * ratio)


def _st_level_of(x: np.ndarray, rec: Record, delineation, lead: str) -> np.ndarray:
    """Per row of ``x`` (rows, samples): mean over each ST segment, median over beats; NaN without a segment."""
    idx = _st_segments(rec, delineation, lead)
    if not idx.size:
        return np.full(x.shape[0], np.nan)
    return np.median(np.asarray(x, np.float64)[:, idx].mean(axis=2), axis=1)


def st_halfwidth(full: Record, *, delineation=None, lead: str = "II") -> pd.Series:
    """Half-width (mV) of the band at the ST segment, per generated lead with a band.

    The ST segment of each beat is :data:`l2g.grades.ST_AFTER_QRS_OFF_S` after the QRS
    offset of ``delineation`` (where it is known), else :data:`l2g.grades.ST_AFTER_R_S`
    after the R peak; without a delineation the R peaks of ``lead`` are
    detected here (:func:`l2g.morphology.detect_r_peaks`). Per lead: the mean
    half-width over each beat's segment, median over beats. Compare with
    :data:`ST_LIMIT_MV`: a wider band cannot support an ST-level decision.

    Parameters
    ----------
    full : Record
        A reconstruction with a band (``l2g.reconstruct(..., interval=0.9)``).
    delineation : l2g.morphology.Delineation, optional
        Of ``lead`` of ``full`` (sample indices at ``delineation.fs``), e.g. the one
        the dashboard already made; None: R peaks only.
    lead : str
        The lead whose beats time the ST segment (present in ``full``).

    Returns
    -------
    Series of float
        Indexed by generated lead (canonical order), name ``"st_halfwidth_mv"``;
        NaN when no whole ST segment lies in the record.

    Raises
    ------
    ValueError
        When ``full`` has no band.

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> one = st_halfwidth(l2g.reconstruct(demo_record(), ["I"], method="linear", interval=0.9))
    >>> five = st_halfwidth(l2g.reconstruct(demo_record(), ["I", "II", "V1", "V3", "V5"], method="linear",
    ...                                     interval=0.9))
    >>> bool(one["V2"] > five["V2"] > 0), float(five["aVR"])  # aVR is exact from I and II
    (True, 0.0)
    """
    rec = full.standardize()
    if rec.interval is None:
        raise ValueError(f"{full.name}: the record has no band; reconstruct it with interval=0.9 first")
    low, high = rec.interval
    gen = [i for i, st in enumerate(rec.status)
           if st == GENERATED and np.isfinite(low[i]).all() and np.isfinite(high[i]).all()]
    values = _st_level_of(0.5 * (high[gen] - low[gen]).astype(np.float64), rec, delineation, lead) if gen else []
    return pd.Series(values, index=[rec.leads[i] for i in gen], name="st_halfwidth_mv", dtype=np.float64)
