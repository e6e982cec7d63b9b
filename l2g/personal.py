"""Personalised reconstruction: an earlier 12-lead ECG of the same patient corrects the generic output.

A generic model guesses a patient's chest-lead amplitudes from the population; an
earlier 12-lead ECG of the same patient (or a calibration strip of the same record
taken while all leads were on) shows how this patient's leads relate. The method
(issue #23):

1. The earlier ECG is reconstructed by the same generic model from the same
   available leads, so its errors are those the model makes on this patient.
2. A ridge regression fits the generic model's error on the earlier ECG (its
   real minus its generated leads) from lagged copies of the available leads and
   of the generated leads (:func:`fit_correction`). The penalty shrinks the
   correction toward zero, i.e. toward the generic output itself: with little
   evidence the result stays generic.
3. The correction is applied to the new record's generic output
   (:func:`apply_correction`); recorded leads are never changed, and limb leads
   stay Einthoven/Goldberger-consistent.

A guard (:func:`guard_score`) compares what both ECGs share, their available
leads' median beats; an earlier ECG that looks like another patient, or like the
same patient before a change in conduction, is refused and the result stays
generic with the reason as a note. Thresholds (:data:`GUARD_THRESHOLDS`) were
chosen on PTB-XL fold-9 same-patient pairs (``bench/personal.py``,
``reports/personal.md``).

The array functions come first; :func:`personalise` wraps them for a
:class:`~l2g.record.Record` and is what ``l2g.reconstruct(..., prior=earlier)``
calls. The personalised result's band and grades are those of :mod:`l2g.personal_band`
(calibrated on personalised residuals; the generic ones were fitted on generic errors, which are larger),
added by ``l2g.reconstruct(..., interval=0.9)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .leads import INDEPENDENT_LEADS, LEADS, LIMB_LEADS, complete_limb_leads, limb_basis
from .preprocess import HIGHPASS_HZ, remove_baseline, resample
from .record import RECORDED, Provenance, Record

__all__ = ["PRIOR_MIN_S", "LAGS_MS", "PENALTIES", "GUARD_THRESHOLDS", "PriorError", "Correction",
           "GuardResult", "fit_correction", "apply_correction", "median_beats", "guard_score", "guard",
           "guard_threshold", "check_prior", "prior_label", "personalise"]

#: Shortest earlier ECG (seconds) accepted: enough beats for a fit and a median beat.
PRIOR_MIN_S: float = 8.0
#: Lags (ms) of the available and generated leads used as features of the correction.
LAGS_MS: tuple[float, ...] = (-40.0, -20.0, 0.0, 20.0, 40.0)
#: Ridge penalty per available-lead subset, relative to each feature's variance (chosen on fold 9,
#: ``reports/personal.md``, for the shipped generator l2g.pt@53ebf9281621); other subsets use ``"default"``.
PENALTIES: dict[str, float] = {"I": 0.03, "II": 0.1, "I,II": 0.3, "I,II,V2": 3.0, "I,II,V1,V3,V5": 10.0,
                               "default": 0.3}
#: Guard thresholds on :func:`guard_score` per available-lead subset (fold 9: at most 5 % of true pairs
#: above); other subsets use ``"default"``.
GUARD_THRESHOLDS: dict[str, float] = {"I": 0.694, "II": 0.730, "I,II": 0.696, "I,II,V2": 0.697,
                                      "I,II,V1,V3,V5": 0.786, "default": 0.7}

_BEAT_S = (0.25, 0.45)  # median beat window: before and after the R peak
_SHIFT_S = 0.06  # the two median beats are aligned within +-60 ms
_QRS_S = (0.12, 0.14)  # the guard's QRS window: before and after the R peak
_BLOCK = 1 << 16  # samples per block of apply_correction


class PriorError(ValueError):
    """An earlier ECG that cannot serve as a prior (too short, leads missing, not finite)."""


@dataclass(frozen=True)
class Correction:
    """A patient-specific correction of the generic output, fitted on the earlier ECG.

    Attributes
    ----------
    available : tuple of str
        The leads given to the generator (inputs of the correction).
    targets : tuple of str
        The independent leads corrected (generated ones among I, II, V1–V6).
    fs : float
        Rate (Hz) the lags were taken at.
    lags : tuple of int
        Lags in samples.
    weights : ndarray, shape (features, targets)
        Ridge weights on the standardised features.
    scale : ndarray, shape (features,)
        Each feature's standard deviation on the earlier ECG.
    """

    available: tuple[str, ...]
    targets: tuple[str, ...]
    fs: float
    lags: tuple[int, ...]
    weights: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True)
class GuardResult:
    """The guard's verdict on an earlier ECG.

    Attributes
    ----------
    score : float
        :func:`guard_score` (0 = identical median beats; inf when no beats were found).
    threshold : float
    trusted : bool
        ``score <= threshold``.
    reason : str
        One sentence, used as the result's note when refused.
    """

    score: float
    threshold: float
    trusted: bool
    reason: str


def _targets(available: Sequence[str]) -> tuple[str, ...]:
    """Independent leads to correct: the generated ones (I and II are exact with two limb leads)."""
    exact = limb_basis(available) is not None
    return tuple(lead for lead in INDEPENDENT_LEADS
                 if lead not in available and not (exact and lead in ("I", "II")))


def _features(x12: np.ndarray, generic12: np.ndarray, available: Sequence[str], targets: Sequence[str],
              lags: Sequence[int]) -> np.ndarray:
    """Lagged available leads (from ``x12``) and generated targets (from ``generic12``), shape (T, features)."""
    rows = [x12[LEADS.index(lead)] for lead in available] + [generic12[LEADS.index(lead)] for lead in targets]
    base = np.asarray(rows, np.float64)
    n = base.shape[1]
    out = np.zeros((n, len(rows) * len(lags)), np.float64)
    for k, lag in enumerate(lags):
        shifted = np.zeros_like(base)
        if lag >= 0:
            shifted[:, lag:] = base[:, : n - lag]
        else:
            shifted[:, :lag] = base[:, -lag:]
        out[:, k * len(rows) : (k + 1) * len(rows)] = shifted.T
    return out


def fit_correction(prior12: np.ndarray, prior_generic12: np.ndarray, available: Sequence[str], fs: float, *,
                   penalty: float | None = None, lags_ms: Sequence[float] = LAGS_MS) -> Correction:
    """Fit the correction of the generic output on the earlier ECG.

    Ridge regression of the generic model's error on the earlier ECG (real minus
    generated, per target lead) on standardised lagged features; the penalty
    pulls the weights to zero, i.e. the result toward the generic output.

    Parameters
    ----------
    prior12 : ndarray, shape (12, T)
        The earlier ECG's 12 leads, mV, high-passed, :data:`l2g.leads.LEADS` order.
    prior_generic12 : ndarray, shape (12, T)
        The generic reconstruction of ``prior12`` from ``available`` (same rate, same high-pass).
    available : sequence of str
        Canonical names of the available leads.
    fs : float
        Hz.
    penalty : float, optional
        Ridge penalty relative to the features' variance; ``inf`` gives the generic output.
        Default: :data:`PENALTIES` of ``available``.
    lags_ms : sequence of float
        Lags of the features, ms.

    Returns
    -------
    Correction

    Raises
    ------
    ValueError
        For shapes that do not match, a negative penalty or no available lead.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(12, 1000)); gen = real.copy(); gen[6:] *= 0.5  # chest leads half as large
    >>> corr = fit_correction(real, gen, ["I"], 100.0, penalty=1e-6)
    >>> fixed = apply_correction(corr, real, gen)
    >>> bool(np.abs(fixed[6:] - real[6:]).max() < 1e-3)
    True
    """
    prior12 = np.asarray(prior12, np.float64)
    prior_generic12 = np.asarray(prior_generic12, np.float64)
    if prior12.shape != prior_generic12.shape or prior12.ndim != 2 or prior12.shape[0] != 12:
        raise ValueError(f"fit_correction: prior {prior12.shape} and its generic reconstruction "
                         f"{prior_generic12.shape} must both be (12, samples)")
    if not available:
        raise ValueError(f"fit_correction: no available lead; choose one or more of {LEADS}")
    available = tuple(available)
    if penalty is None:
        penalty = PENALTIES.get(",".join(available), PENALTIES["default"])
    if not penalty >= 0:
        raise ValueError(f"fit_correction: penalty must be >= 0, got {penalty!r}")
    targets = _targets(available)
    lags = tuple(int(round(ms * fs / 1000.0)) for ms in lags_ms)
    feats = _features(prior12, prior_generic12, available, targets, lags)
    scale = feats.std(axis=0)
    scale[scale <= 1e-9] = 1.0
    f = feats / scale
    err = np.stack([prior12[LEADS.index(t)] - prior_generic12[LEADS.index(t)] for t in targets], 1) \
        if targets else np.zeros((f.shape[0], 0))
    n = f.shape[0]
    if np.isinf(penalty) or not targets:
        w = np.zeros((f.shape[1], len(targets)))
    else:
        w = np.linalg.solve(f.T @ f / n + penalty * np.eye(f.shape[1]), f.T @ err / n)
    return Correction(available, targets, float(fs), lags, w, scale)


def apply_correction(corr: Correction, x12: np.ndarray, generic12: np.ndarray) -> np.ndarray:
    """The generic output with the patient's correction added, shape (12, T), mV.

    Only ``corr.targets`` change, then limb leads not given by two available
    ones are derived again from the corrected I and II; available leads are
    returned as in ``generic12``.

    Parameters
    ----------
    corr : Correction
    x12 : ndarray, shape (12, T)
        The new record's leads at ``corr.fs`` (high-passed as the prior); only available rows are read.
    generic12 : ndarray, shape (12, T)
        Its generic reconstruction.
    """
    out = np.array(generic12, np.float64)
    if not corr.targets:
        return out
    x12 = np.asarray(x12)
    n = out.shape[1]
    margin = max(abs(lag) for lag in corr.lags)
    derive = limb_basis(corr.available) is None  # I and II corrected: the derived limb leads move with them
    for a in range(0, n, _BLOCK):  # blocks bound the feature matrix's memory on long records
        b = min(n, a + _BLOCK)
        lo, hi = max(0, a - margin), min(n, b + margin)
        f = _features(x12[:, lo:hi], generic12[:, lo:hi], corr.available, corr.targets, corr.lags)[a - lo : b - lo]
        delta = np.zeros((12, b - a))
        delta_k = (f / corr.scale) @ corr.weights
        for k, lead in enumerate(corr.targets):
            delta[LEADS.index(lead)] = delta_k[:, k]
        if derive:
            limb = complete_limb_leads({"I": delta[0], "II": delta[1]})
            for i, lead in enumerate(LIMB_LEADS):
                delta[i] = limb[lead]
        for lead in corr.available:
            delta[LEADS.index(lead)] = 0.0
        out[:, a:b] += delta
    return out


def median_beats(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray | None:
    """Median beat of each row around ``r_peaks`` (250 ms before, 450 ms after), or None with < 3 beats.

    Parameters
    ----------
    x : ndarray, shape (leads, T)
    fs : float
    r_peaks : ndarray of int

    Returns
    -------
    ndarray, shape (leads, window) or None
    """
    pre, post = int(round(_BEAT_S[0] * fs)), int(round(_BEAT_S[1] * fs))
    beats = [x[:, r - pre : r + post] for r in np.asarray(r_peaks, int) if r - pre >= 0 and r + post <= x.shape[1]]
    if len(beats) < 3:
        return None
    return np.median(np.stack(beats), axis=0)


def guard_score(prior: np.ndarray, target: np.ndarray, fs: float, ref_row: int = 0) -> float:
    """How unlike the two ECGs' shared leads are: the distance of their median QRS complexes.

    R peaks are found (:func:`l2g.morphology.detect_r_peaks`) on row ``ref_row`` of each;
    the median beats are resampled to at least 500 Hz, and per row the QRS window
    (120 ms before to 140 ms after R) of the earlier beat is aligned within ±60 ms to the
    new one; the score is the mean over rows of ``||a - b|| / sqrt(||a|| ||b||)`` at each
    row's best alignment. Shape and size both count: a new bundle branch block, an
    infarct's Q waves or another patient's axis all move it.

    Parameters
    ----------
    prior, target : ndarray, shape (leads, T1), (leads, T2)
        The available leads of the earlier and of the new ECG, same rows, same rate, high-passed.
    fs : float
    ref_row : int
        Row whose R peaks time both.

    Returns
    -------
    float
        0 for identical complexes, about 1.4 for unrelated ones of equal size; ``inf`` when either
        ECG has fewer than 3 complete beats.

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> x = demo_record().signal[:2]
    >>> guard_score(x, x, 500.0)
    0.0
    """
    from .morphology import detect_r_peaks
    from .preprocess import resample_array

    prior, target = np.asarray(prior, np.float64), np.asarray(target, np.float64)
    if prior.shape[0] != target.shape[0]:
        raise ValueError(f"guard_score: prior has {prior.shape[0]} rows, target {target.shape[0]}; expected the same")
    mp = median_beats(prior, fs, detect_r_peaks(prior[ref_row], fs))
    mt = median_beats(target, fs, detect_r_peaks(target[ref_row], fs))
    if mp is None or mt is None:
        return float("inf")
    up = max(1, int(np.ceil(500.0 / fs)))
    if up > 1:
        mp, mt = (resample_array(m, fs, fs * up) for m in (mp, mt))
    f = fs * up
    r = int(round(_BEAT_S[0] * f))
    core = slice(r - int(round(_QRS_S[0] * f)), r + int(round(_QRS_S[1] * f)))
    s_max = int(round(_SHIFT_S * f))
    dists = []
    for a_row, b_row in zip(mp, mt, strict=True):
        b = b_row[core]
        best = np.inf
        for s in range(-s_max, s_max + 1):
            a = a_row[core.start + s : core.stop + s]
            den = np.sqrt(np.linalg.norm(a) * np.linalg.norm(b))
            if den > 0:
                best = min(best, float(np.linalg.norm(a - b) / den))
        dists.append(best)
    return float(np.mean(dists))


def guard_threshold(available: Sequence[str]) -> float:
    """The guard's threshold for an available-lead subset (:data:`GUARD_THRESHOLDS`)."""
    return GUARD_THRESHOLDS.get(",".join(available), GUARD_THRESHOLDS["default"])


def guard(prior: np.ndarray, target: np.ndarray, available: Sequence[str], fs: float,
          threshold: float | None = None) -> GuardResult:
    """The guard's verdict: :func:`guard_score` of the available leads against :func:`guard_threshold`.

    Parameters
    ----------
    prior, target : ndarray, shape (len(available), T1), (len(available), T2)
        The available leads of the earlier and the new ECG (same rate, high-passed).
    available : sequence of str
        Their names; the R peaks are timed on lead II when available, else on the first.
    fs : float
    threshold : float, optional
        Default :func:`guard_threshold` of ``available``.

    Returns
    -------
    GuardResult
    """
    score = guard_score(prior, target, fs, ref_row=list(available).index("II") if "II" in available else 0)
    thr = guard_threshold(available) if threshold is None else float(threshold)
    if not np.isfinite(score):
        reason = "earlier ECG not used: too few complete beats to compare it with this record"
    elif score > thr:
        reason = (f"earlier ECG not used: its {', '.join(available)} beats differ from this record's "
                  f"(distance {score:.2f} > {thr:.2f}): another patient, or a change in conduction since")
    else:
        reason = f"earlier ECG used: its {', '.join(available)} beats match this record's (distance {score:.2f})"
    return GuardResult(score, thr, bool(score <= thr), reason)


def check_prior(prior: Record, min_s: float = PRIOR_MIN_S) -> Record:
    """The earlier ECG, standardised, when it can serve as a prior.

    Raises
    ------
    PriorError
        When it is shorter than ``min_s`` seconds or lacks one of the 12 leads.
    """
    if not isinstance(prior, Record):
        raise PriorError(f"prior must be a Record (read it with l2g.read_record), got {type(prior).__name__}")
    std = prior.standardize()
    missing = [lead for lead in LEADS if std.status_of(lead) != RECORDED]
    if missing:
        raise PriorError(f"{prior.name}: the earlier ECG must hold all 12 leads recorded; "
                         f"missing or not recorded: {', '.join(missing)}")
    if prior.duration < min_s:
        raise PriorError(f"{prior.name}: the earlier ECG lasts {prior.duration:.3g} s; expected at least {min_s:g} s")
    return std


def prior_label(prior: Record, record: Record) -> str:
    """How the earlier ECG is named in provenance and exports: its kind and acquisition date, no identifier."""
    if prior.name == record.name and ("Segment" in prior.meta.fields or prior.meta.acquired == record.meta.acquired):
        return "calibration strip of this record"
    if prior.meta.acquired:
        return f"earlier ECG of this patient acquired {prior.meta.acquired[:10]}"
    return "earlier ECG of this patient (acquisition date unknown)"


def personalise(generic: Record, record: Record, available: Sequence[str], prior: Record,
                generate: Callable[[Record], Record], *, highpass_hz: float = HIGHPASS_HZ) -> Record:
    """The generic reconstruction ``generic`` of ``record`` corrected by the earlier ECG ``prior``.

    Parameters
    ----------
    generic : Record
        ``l2g.reconstruct(record, available)``: 12 leads at ``record.fs``.
    record : Record
        The new record (standardised), whose ``available`` leads are recorded.
    available : sequence of str
    prior : Record
        The same patient's earlier 12-lead ECG (any rate, at least :data:`PRIOR_MIN_S`), or a segment of
        ``record`` taken while all leads were on.
    generate : callable
        Record -> its generic reconstruction from ``available`` (the same model as ``generic``).
    highpass_hz : float
        Baseline cut-off applied to both before the fit (the model's).

    Returns
    -------
    Record
        The personalised record (``meta.provenance.prior`` names the earlier ECG), or ``generic`` with
        the guard's reason in ``meta.provenance.note`` when the earlier ECG was refused. No band (``interval``
        None): :func:`l2g.reconstruct` adds the personalised mode's (:mod:`l2g.personal_band`).

    Raises
    ------
    PriorError
        When ``prior`` is not a usable 12-lead ECG (:func:`check_prior`).
    """
    std = check_prior(prior)
    if std.fs != record.fs:
        std = resample(std, record.fs)
    std_hp = remove_baseline(std, highpass_hz)
    rec_hp = remove_baseline(record.select(available), highpass_hz)
    rows = [LEADS.index(lead) for lead in available]
    verdict = guard(std_hp.signal[rows], rec_hp.signal, available, record.fs)
    label = prior_label(prior, record)
    prov = generic.meta.provenance or Provenance("model", "", tuple(available))
    if not verdict.trusted:
        note = verdict.reason
        return generic.replace(meta=dataclasses.replace(generic.meta, provenance=dataclasses.replace(
            prov, prior=None, note=note)))
    prior_gen = generate(std_hp)
    corr = fit_correction(std_hp.signal, remove_baseline(prior_gen, highpass_hz).signal, available, record.fs)
    x12 = np.zeros((12, record.n_samples))
    x12[rows] = rec_hp.signal
    out = apply_correction(corr, x12, generic.signal).astype(np.float32)
    out[rows] = generic.signal[rows]  # recorded leads untouched
    meta = dataclasses.replace(generic.meta, provenance=dataclasses.replace(
        prov, prior=label, note=verdict.reason))
    return generic.replace(signal=out, interval=None, meta=meta)
