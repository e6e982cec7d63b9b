"""Delineation of P, QRS and T waves, and the Lead-II intervals and amplitudes built on it.

This module is the public API and the tables (:func:`delineate`, :func:`delineate_record`,
:func:`beat_table`, :func:`intervals`, :func:`morphology_table`, ...); the two delineators it
dispatches to, and R-peak detection, are in :mod:`l2g.delineators` (names re-exported here).

Pipeline (one lead, any sampling rate)::

    nk.ecg_clean  ->  R peaks (nk.ecg_peaks)  ->  delineate (method)  ->  per-beat points  ->  intervals

Waves are found on neurokit2's cleaned trace (0.5 Hz high-pass, then a 20 ms moving average
forwards and backwards against mains hum). Amplitudes are read on a less smoothed trace
(0.5 Hz high-pass and 50 / 60 Hz notches, all zero phase, so the points line up with it):
the moving average would lower sharp R waves by up to a quarter.

Methods
-------
``"dwt"``, ``"cwt"``, ``"peak"``, ``"prominence"``
    neurokit2's :func:`neurokit2.ecg_delineate` methods (neurokit2 0.2.13), on the
    neurokit2-cleaned trace and neurokit2's R peaks. ``"peak"`` finds neither QRS
    on/offset nor P offset, so it gives no PR, QRS or QT.
``"l2g"`` (the default, :data:`DEFAULT_METHOD`)
    Ours, a median-beat (template) delineator in the way diagnostic ECG programs measure
    global intervals:

    1. the beats are re-aligned on the QRS (cross-correlation, +-20 ms) and those whose
       QRS correlates with the median QRS (r >= 0.9) form the median beat, one per 10 s;
    2. QRS onset and offset: from the outermost steep slope of the QRS, outwards until the
       slope stays below a fraction of the largest QRS slope for 10 ms (after Martinez et
       al. 2004). With :func:`delineate_record` and other leads present, each bound is the
       mean of that and of the same bound on the *spatial velocity* of the median beats
       (onset: all present leads; offset: the limb leads);
    3. T wave: the most prominent extremum (either polarity) after the QRS, weighted by a
       prior around the expected T peak (QRS onset + 0.41 s * sqrt(RR) - 0.1 s); a second,
       opposite lobe makes it biphasic; T offset by the trapezium-area method
       (Vazquez-Seisdedos et al. 2011), robust to a sloping baseline;
    4. P wave: the largest deviation from the PR-segment level between the previous T wave
       and the QRS, kept only when it is at least 0.02 mV and stable from beat to beat
       (template power at least twice the beat-to-beat residual power: this rejects
       fibrillation and flutter waves); on/offset where its slope falls to a fraction of
       its steepest value;
    5. every beat of the median beat gets its points at the same offsets from its own R
       peak; the other beats (ectopics, artefacts) are delineated alone, without a P wave.

    It runs at 500 Hz (other rates are resampled to it and the points mapped back). The
    thresholds were chosen on the odd-numbered LUDB records and checked on the even ones
    (``docs/DELINEATION.md``).

The measured accuracy of each method against LUDB's cardiologists is in
``reports/delineation_ludb.md`` (``bench/delineation_ludb.py``).

Beats
-----
Results are organised per beat: beat ``i`` is the R peak ``r_peaks[i]``, the P wave
before it (between the previous R peak and this one), its QRS and the T wave after it
(before the next R peak). Points are sample indices into the input trace (same rate),
stored as float64, NaN where not found.

Intervals (:func:`intervals`)
-----------------------------
Per beat, then the median over the beats where the interval is measurable and plausible
(:data:`PLAUSIBLE_MS`):

* PR = QRS onset - P onset; QRS = QRS offset - QRS onset; QT = T offset - QRS onset (ms);
* heart rate = 60 / median RR (bpm);
* QTc from the median QT and median RR (in s): Bazett QT / sqrt(RR) (``qtc_ms``,
  ``qtc_bazett_ms``) and Fridericia QT / RR ** (1/3) (``qtc_fridericia_ms``).

Amplitudes (mV), signed, relative to the beat's isoelectric level:
the median of the trace over the :data:`ISO_WINDOW_S` s that end at QRS onset (the end of
the PR segment; 80 to 60 ms before the R peak when QRS onset is missing). P and T: the
value at the wave's peak; R: the largest value within the QRS (R peak +-50 ms when its
bounds are missing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import delineators
from .delineators import (
    ISO_WINDOW_S,
    POINTS,
    TemplateConfig,
    _clean,
    _delineate_l2g,
    _delineate_nk,
    detect_r_peaks,
)
from .leads import LIMB_LEADS, normalize_lead_name
from .preprocess import highpass_array, notch_array, resample_array
from .record import ABSENT, Metadata, Record

if TYPE_CHECKING:  # pandas (~0.5 s to import) only for the two table functions
    import pandas as pd

__all__ = [
    "METHODS",
    "NK_METHODS",
    "DEFAULT_METHOD",
    "POINTS",
    "ISO_WINDOW_S",
    "PLAUSIBLE_MS",
    "TemplateConfig",
    "DEFAULT_TOLERANCES",
    "Tolerance",
    "Delineation",
    "delineate",
    "delineate_record",
    "detect_r_peaks",
    "beat_table",
    "intervals",
    "morphology_table",
    "cart_intervals",
    "delineation_for_plot",
]

NK_METHODS: tuple[str, ...] = ("dwt", "cwt", "peak", "prominence")
METHODS: tuple[str, ...] = (*NK_METHODS, "l2g")
DEFAULT_METHOD = "l2g"

# per-beat intervals outside these bounds (ms) are treated as mis-delineations and ignored
PLAUSIBLE_MS: dict[str, tuple[float, float]] = {
    "pr": (50.0, 450.0),
    "qrs": (30.0, 250.0),
    "qt": (160.0, 700.0),
    "rr": (250.0, 2500.0),
}

# the shortest trace worth delineating (s), and the smallest peak-to-peak amplitude (mV) of a
# trace that is not flat; others give an empty Delineation
_MIN_DURATION_S = 1.5
_MIN_PTP_MV = 0.02
# "l2g": the rate it works at (and was tuned at); other rates are resampled to it
_L2G_FS = 500.0


# ------------------------------------------------------------------ the result
@dataclass(frozen=True, eq=False)
class Delineation:
    """Per-beat fiducial points of one ECG trace.

    Attributes
    ----------
    fs : float
        Sampling rate of ``signal`` in Hz.
    signal : ndarray of float64, shape (samples,)
        The trace (mV) amplitudes are read from: the input after a 0.5 Hz high-pass and
        50 / 60 Hz notches (zero phase, so the points line up with it). The waves are found
        on neurokit2's cleaned trace, which is smoother.
    method : str
        The delineation method that produced the points.
    r_peaks, p_on, p_peak, p_off, qrs_on, qrs_off, t_on, t_peak, t_off : ndarray of float64, shape (beats,)
        Sample indices into ``signal``; NaN where the point was not found. ``r_peaks``
        is finite and increasing. Beat ``i`` holds the P wave before ``r_peaks[i]``,
        its QRS complex and the T wave after it.

    Raises
    ------
    ValueError
        When the point arrays differ in length.
    """

    fs: float
    signal: np.ndarray
    method: str
    r_peaks: np.ndarray
    p_on: np.ndarray
    p_peak: np.ndarray
    p_off: np.ndarray
    qrs_on: np.ndarray
    qrs_off: np.ndarray
    t_on: np.ndarray
    t_peak: np.ndarray
    t_off: np.ndarray

    def __post_init__(self) -> None:
        sig = np.array(self.signal, dtype=np.float64).ravel()
        sig.setflags(write=False)
        object.__setattr__(self, "signal", sig)
        object.__setattr__(self, "fs", float(self.fs))
        n = None
        for name in POINTS:
            arr = np.array(getattr(self, name), dtype=np.float64).ravel()
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise ValueError(f"Delineation: {name} has {arr.size} beats, p_on has {n}")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_beats(self) -> int:
        """Number of beats (R peaks)."""
        return int(self.r_peaks.size)

    @classmethod
    def empty(cls, signal: np.ndarray, fs: float, method: str) -> Delineation:
        """A Delineation with no beats (every interval is then NaN)."""
        none = np.zeros(0)
        return cls(fs=float(fs), signal=np.asarray(signal, dtype=np.float64), method=method,
                   **{name: none for name in POINTS})

    def points(self) -> dict[str, np.ndarray]:
        """``{point name: per-beat sample indices}`` (float, NaN where missing)."""
        return {name: getattr(self, name) for name in POINTS}

    def times(self) -> dict[str, np.ndarray]:
        """``{point name: per-beat times in seconds}`` (NaN where missing)."""
        return {name: getattr(self, name) / self.fs for name in POINTS}

    def select(self, keep: np.ndarray) -> Delineation:
        """The beats where the boolean mask ``keep`` (shape (beats,)) is True."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.n_beats,):
            raise ValueError(f"Delineation.select: mask of shape {keep.shape}, expected ({self.n_beats},)")
        return replace(self, **{name: getattr(self, name)[keep] for name in POINTS})

    def between(self, start: float, stop: float) -> Delineation:
        """The beats whose R peak lies in ``[start, stop]`` (sample indices)."""
        return self.select((self.r_peaks >= start) & (self.r_peaks <= stop))


# ------------------------------------------------------------------ public delineation API
def _amplitude_trace(x: np.ndarray, fs: float) -> np.ndarray:
    """The trace amplitudes are read on: 0.5 Hz high-pass and 50 / 60 Hz notches, zero phase.

    neurokit2's cleaning (used to find the waves) also smooths with a 20 ms moving average
    applied forwards and backwards, which lowers sharp R waves by up to a quarter; this
    trace keeps them.
    """
    y = highpass_array(x - np.median(x), fs, 0.5, order=2, padding="scipy")
    for f0 in (50.0, 60.0):
        if f0 < 0.45 * fs:
            y = notch_array(y, fs, f0, 30.0, padding="scipy")
    return y


@dataclass(frozen=True)
class _Prepared:
    clean: np.ndarray         # neurokit2-cleaned trace: the waves are found on it
    trace: np.ndarray         # amplitude trace (see _amplitude_trace): Delineation.signal
    fs: float
    r: np.ndarray | None      # R peaks, None when the trace cannot be delineated


def _given_r_peaks(r_peaks: Any, n_samples: int) -> np.ndarray:
    """Caller's R peaks as :func:`detect_r_peaks` gives them: unique int64 sample indices within the trace."""
    peaks = np.asarray(r_peaks)
    if peaks.ndim != 1 or (peaks.size and not np.issubdtype(peaks.dtype, np.number)):
        raise ValueError(f"delineate: r_peaks must be a 1-D array of sample indices, got shape {peaks.shape}")
    if peaks.size and not (np.isfinite(peaks).all() and np.array_equal(peaks, np.round(peaks))):
        raise ValueError("delineate: r_peaks must be whole sample indices")
    peaks = peaks.astype(np.int64)
    return np.unique(peaks[(peaks >= 0) & (peaks < n_samples)])


def _prepare(signal_mv: np.ndarray, fs: float, method: str, r_peaks: Any = None) -> _Prepared:
    """Validate, clean and find the R peaks of one lead (or take the caller's ``r_peaks``)."""
    if method not in METHODS:
        raise ValueError(f"delineate: unknown method {method!r}; valid: {', '.join(METHODS)}")
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"delineate: fs must be a positive number in Hz, got {fs!r}") from None
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"delineate: fs must be a positive number in Hz, got {fs!r}")
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"delineate: expected one lead, shape (samples,), got shape {x.shape}")
    given = None if r_peaks is None else _given_r_peaks(r_peaks, x.size)
    if x.size < _MIN_DURATION_S * fs or not np.isfinite(x).all() or np.ptp(x) < _MIN_PTP_MV:
        x = np.nan_to_num(x)
        return _Prepared(x, x, fs, None)
    try:
        clean = _clean(x, fs)
        r = delineators._r_peaks(clean, fs) if given is None else given  # the detector detect_r_peaks uses
    except (ValueError, IndexError):  # neurokit2 on degenerate traces
        return _Prepared(x, x, fs, None)
    return _Prepared(clean, _amplitude_trace(x, fs), fs, r if r.size >= 2 else None)


def _finish(beats: dict[str, np.ndarray] | None, prep: _Prepared, method: str) -> Delineation:
    if beats is None or prep.r is None:
        return Delineation.empty(prep.trace, prep.fs, method)
    for name in POINTS:
        beats.setdefault(name, np.full(prep.r.size, np.nan))
    return Delineation(fs=prep.fs, signal=prep.trace, method=method, **beats)


def delineate(signal_mv: np.ndarray, fs: float, method: str = DEFAULT_METHOD, *,
              r_peaks: np.ndarray | None = None) -> Delineation:
    """Find the P, QRS and T waves of one ECG lead.

    Parameters
    ----------
    signal_mv : array_like, shape (samples,)
        One lead in mV, any sampling rate.
    fs : float
        Sampling rate in Hz.
    method : {"l2g", "dwt", "cwt", "peak", "prominence"}
        See the module docstring. ``"l2g"`` here uses this lead alone; with a whole
        record, :func:`delineate_record` lets it use the other leads too.
    r_peaks : array_like of int, shape (beats,), optional
        The R peaks of this trace (sample indices), as :func:`detect_r_peaks` gave them:
        a caller that has them already passes them so that they are not detected again.
        The result is then the same as without them. None: detected here.

    Returns
    -------
    Delineation
        Per-beat fiducial points (sample indices into the trace, NaN where not
        found). A trace shorter than 1.5 s, flat (peak to peak below 0.02 mV), not finite
        everywhere, with fewer than two R peaks, or on which neurokit2 fails gives a
        Delineation with no beats.

    Raises
    ------
    ValueError
        When ``method`` is unknown, ``fs`` is not a positive number, ``signal_mv`` is not 1-D,
        or ``r_peaks`` is not a 1-D array of whole sample indices.

    Examples
    --------
    >>> import neurokit2 as nk
    >>> x = nk.ecg_simulate(duration=10, sampling_rate=500, random_state=0)
    >>> d = delineate(x, 500)
    >>> round(intervals(d)["heart_rate_bpm"])
    70
    >>> r = detect_r_peaks(x, 500)  # found once, used twice
    >>> bool(np.array_equal(delineate(x, 500, r_peaks=r).qrs_on, d.qrs_on))
    True
    """
    return _delineate(signal_mv, fs, method, r_peaks=r_peaks)


def _delineate(signal_mv: np.ndarray, fs: float, method: str, onset_leads: np.ndarray | None = None,
               offset_leads: np.ndarray | None = None, r_peaks: np.ndarray | None = None) -> Delineation:
    """Shared body of :func:`delineate` and :func:`delineate_record` (raw other leads for ``"l2g"``)."""
    prep = _prepare(signal_mv, fs, method, r_peaks)
    if prep.r is None:
        return _finish(None, prep, method)
    if method in NK_METHODS:
        return _finish(_delineate_nk(prep.clean, prep.r, prep.fs, method), prep, method)
    # "l2g" works at the rate it was tuned at (500 Hz); points are mapped back to the input's rate
    k = _L2G_FS / prep.fs
    if k == 1.0:
        clean = prep.clean
    else:
        clean = _clean(resample_array(signal_mv, prep.fs, _L2G_FS, padtype="constant", max_ratio_error=None), _L2G_FS)
    r = np.unique(np.clip(np.round(prep.r * k).astype(np.int64), 0, clean.size - 1))

    def prepared(leads: np.ndarray | None) -> np.ndarray | None:
        if leads is None or not len(leads):
            return None
        leads = np.asarray(leads, dtype=np.float64)
        if k != 1.0:
            leads = resample_array(leads, prep.fs, _L2G_FS, padtype="constant", max_ratio_error=None)
        return np.array([_clean(lead, _L2G_FS) for lead in leads])

    beats = _delineate_l2g(clean, r, _L2G_FS, None, prepared(onset_leads), prepared(offset_leads))
    if k != 1.0:
        beats = {name: v / k for name, v in beats.items()}
        for v in beats.values():
            v[~((v >= 0) & (v <= prep.trace.size - 1))] = np.nan
    return _finish(beats, prep, method)


def delineate_record(record: Record, lead: str = "II", method: str = DEFAULT_METHOD,
                     context: bool = True, *, r_peaks: np.ndarray | None = None) -> Delineation:
    """Delineate one lead of a :class:`~l2g.record.Record`.

    Parameters
    ----------
    record : Record
    lead : str
        Lead name (canonical or an alias); it must be present.
    method : str
        See :func:`delineate`.
    context : bool
        With ``method="l2g"``, average each QRS bound of ``lead`` with the same bound on
        a spatial velocity: for the onset, that of all present leads (recorded or
        generated); for the offset, that of the present limb leads (when ``lead`` is a limb
        lead). This measured best on LUDB. False: ``lead`` alone, exactly as
        :func:`delineate`. Other methods ignore it.
    r_peaks : array_like of int, optional
        R peaks of ``lead`` found earlier (see :func:`delineate`); None: detected here.

    Returns
    -------
    Delineation
        Points are sample indices into ``lead``.

    Raises
    ------
    ValueError
        When the lead is absent or the method unknown.
    """
    trace = record.lead(lead)
    if not (context and method == "l2g"):
        return _delineate(trace, record.fs, method, r_peaks=r_peaks)
    target = record.leads.index(normalize_lead_name(lead) or lead)  # present: record.lead() checked it
    others = [i for i, st in enumerate(record.status) if st != ABSENT and i != target]
    limb = [i for i in others if record.leads[i] in LIMB_LEADS] if record.leads[target] in LIMB_LEADS else []
    return _delineate(trace, record.fs, method, record.signal[others] if others else None,
                      record.signal[limb] if limb else None, r_peaks=r_peaks)


# ------------------------------------------------------------------ intervals
def _median(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def _plausible(values_ms: np.ndarray, key: str) -> np.ndarray:
    lo, hi = PLAUSIBLE_MS[key]
    v = np.array(values_ms, dtype=np.float64)
    v[~((v >= lo) & (v <= hi))] = np.nan
    return v


def _level(sig: np.ndarray, start: float, stop: float) -> float:
    """Median of ``sig[start:stop]`` (sample indices, floats allowed); NaN when empty."""
    if not (np.isfinite(start) and np.isfinite(stop)):
        return float("nan")
    a, b = max(int(round(start)), 0), min(int(round(stop)), sig.size)
    return float(np.median(sig[a:b])) if b > a else float("nan")


def _value_at(sig: np.ndarray, idx: float) -> float:
    if not np.isfinite(idx) or not 0 <= int(round(idx)) < sig.size:
        return float("nan")
    return float(sig[int(round(idx))])


def _max_between(sig: np.ndarray, start: float, stop: float) -> float:
    if not (np.isfinite(start) and np.isfinite(stop)):
        return float("nan")
    a, b = max(int(round(start)), 0), min(int(round(stop)) + 1, sig.size)
    return float(np.max(sig[a:b])) if b > a else float("nan")


def beat_table(delineation: Delineation) -> pd.DataFrame:
    """Per-beat intervals (ms) and amplitudes (mV): the rows :func:`intervals` takes medians of.

    Returns
    -------
    pandas.DataFrame
        One row per beat. Columns ``rr_ms`` (from the previous beat), ``pr_ms``, ``qrs_ms``,
        ``qt_ms`` (NaN when missing or outside :data:`PLAUSIBLE_MS`), ``p_amp_mv``,
        ``r_amp_mv``, ``t_amp_mv`` (signed, relative to ``iso_mv``) and ``iso_mv`` (the
        isoelectric level, see the module docstring).
    """
    d = delineation
    ms = 1000.0 / d.fs
    sig = d.signal
    rr = np.concatenate([[np.nan], np.diff(d.r_peaks)])[: d.n_beats] * ms
    win, half = ISO_WINDOW_S * d.fs, 0.05 * d.fs
    iso = np.array([
        _level(sig, q - win, q + 1) if np.isfinite(q) else _level(sig, rp - 0.08 * d.fs, rp - 0.06 * d.fs)
        for q, rp in zip(d.qrs_on, d.r_peaks, strict=True)
    ], dtype=np.float64)
    r_top = np.array([
        _max_between(sig, on if np.isfinite(on) else rp - half, off if np.isfinite(off) else rp + half)
        for on, rp, off in zip(d.qrs_on, d.r_peaks, d.qrs_off, strict=True)
    ], dtype=np.float64)
    import pandas as pd

    return pd.DataFrame({
        "rr_ms": _plausible(rr, "rr"),
        "pr_ms": _plausible((d.qrs_on - d.p_on) * ms, "pr"),
        "qrs_ms": _plausible((d.qrs_off - d.qrs_on) * ms, "qrs"),
        "qt_ms": _plausible((d.t_off - d.qrs_on) * ms, "qt"),
        "p_amp_mv": np.array([_value_at(sig, p) for p in d.p_peak], dtype=np.float64) - iso,
        "r_amp_mv": r_top - iso,
        "t_amp_mv": np.array([_value_at(sig, t) for t in d.t_peak], dtype=np.float64) - iso,
        "iso_mv": iso,
    })


def intervals(delineation: Delineation) -> dict[str, float]:
    """Per-record medians of the intervals and amplitudes of one delineated lead.

    Parameters
    ----------
    delineation : Delineation

    Returns
    -------
    dict of str to float
        ``heart_rate_bpm`` (60 / median RR), ``rr_ms``, ``pr_ms`` (P onset to QRS onset),
        ``qrs_ms`` (QRS onset to offset), ``qt_ms`` (QRS onset to T offset), ``qtc_ms``
        (= ``qtc_bazett_ms``: QT / sqrt(RR in s)), ``qtc_fridericia_ms`` (QT / cbrt(RR in s)),
        ``p_amp_mv``, ``r_amp_mv``, ``t_amp_mv`` (see the module docstring) and ``n_beats``.
        Medians over the beats where the value is measurable and plausible; NaN when no
        beat qualifies.
    """
    t = beat_table(delineation)
    med = {col: _median(t[col].to_numpy()) for col in t.columns}
    rr_s = med["rr_ms"] / 1000.0
    ok = np.isfinite(rr_s) and rr_s > 0
    bazett = med["qt_ms"] / np.sqrt(rr_s) if ok else float("nan")
    return {
        "heart_rate_bpm": 60.0 / rr_s if ok else float("nan"),
        "rr_ms": med["rr_ms"],
        "pr_ms": med["pr_ms"],
        "qrs_ms": med["qrs_ms"],
        "qt_ms": med["qt_ms"],
        "qtc_ms": float(bazett),
        "qtc_bazett_ms": float(bazett),
        "qtc_fridericia_ms": float(med["qt_ms"] / np.cbrt(rr_s)) if ok else float("nan"),
        "p_amp_mv": med["p_amp_mv"],
        "r_amp_mv": med["r_amp_mv"],
        "t_amp_mv": med["t_amp_mv"],
        "n_beats": float(delineation.n_beats),
    }


# ------------------------------------------------------------------ real vs generated
@dataclass(frozen=True)
class Tolerance:
    """How far a generated feature may differ from the real one before it is flagged.

    A feature is flagged when ``|generated - real| > max(absolute, relative * |real|)``.

    Attributes
    ----------
    absolute : float
        In the feature's unit.
    relative : float
        Fraction of the real value's magnitude.
    unit : str
    """

    absolute: float
    relative: float = 0.0
    unit: str = ""

    def limit(self, real: float) -> float:
        """The tolerance that applies to the real value ``real``."""
        rel = self.relative * abs(real) if np.isfinite(real) else 0.0
        return float(max(self.absolute, rel))


# intervals() key -> (row label, tolerance); rationale in docs/DELINEATION.md
DEFAULT_TOLERANCES: dict[str, tuple[str, Tolerance]] = {
    "heart_rate_bpm": ("HR (bpm)", Tolerance(5.0, unit="bpm")),
    "pr_ms": ("PR (ms)", Tolerance(20.0, unit="ms")),
    "qrs_ms": ("QRS (ms)", Tolerance(12.0, unit="ms")),
    "qt_ms": ("QT (ms)", Tolerance(30.0, unit="ms")),
    "qtc_ms": ("QTc Bazett (ms)", Tolerance(30.0, unit="ms")),
    "p_amp_mv": ("P amplitude (mV)", Tolerance(0.05, 0.2, unit="mV")),
    "r_amp_mv": ("R amplitude (mV)", Tolerance(0.1, 0.2, unit="mV")),
    "t_amp_mv": ("T amplitude (mV)", Tolerance(0.1, 0.2, unit="mV")),
}


def morphology_table(real: Record, generated: Record, lead: str = "II",
                     tolerances: dict[str, tuple[str, Tolerance]] | None = None,
                     method: str = DEFAULT_METHOD, *,
                     delineations: tuple[Delineation | None, Delineation | None] = (None, None)) -> pd.DataFrame:
    """Features of one lead of a real record beside those of its generated counterpart.

    Each record's ``lead`` is delineated on its own (``context=False``), so that the
    comparison is about that lead only, not about the other leads the generator made.

    Parameters
    ----------
    real, generated : Record
        The same ECG, recorded and generated; each must hold ``lead``.
    lead : str
    tolerances : dict, optional
        ``{intervals() key: (row label, Tolerance)}``; :data:`DEFAULT_TOLERANCES` by default.
    method : str
        Delineation method (the same for both).
    delineations : (Delineation or None, Delineation or None)
        ``lead`` of ``real`` and of ``generated`` delineated earlier
        (``delineate_record(rec, lead, method, context=False)``), so that a view that also
        draws the waves delineates each trace once; None: delineated here.

    Returns
    -------
    pandas.DataFrame
        Index ``feature``: the row labels (HR, PR, QRS, QT, QTc, P/R/T amplitudes).
        Columns ``real``, ``generated``, ``difference`` (generated - real), ``tolerance``
        (the limit for this real value), ``flag`` (True when ``|difference| > tolerance``;
        False when either value is NaN), ``key`` (the :func:`intervals` key).

    Raises
    ------
    ValueError
        When ``lead`` is absent from either record.
    """
    tolerances = DEFAULT_TOLERANCES if tolerances is None else tolerances
    a, b = (intervals(d if d is not None else delineate_record(rec, lead, method, context=False))
            for rec, d in zip((real, generated), delineations, strict=True))
    rows = []
    for key, (label, tol) in tolerances.items():
        diff = b[key] - a[key]
        limit = tol.limit(a[key])
        rows.append({"feature": label, "real": a[key], "generated": b[key], "difference": diff,
                     "tolerance": limit, "flag": bool(np.isfinite(diff) and abs(diff) > limit), "key": key})
    import pandas as pd

    return pd.DataFrame(rows).set_index("feature")


# Metadata.measurements key -> intervals() key, for the features a cart measures
_CART_KEYS = {"HR_bpm": "heart_rate_bpm", "PR_ms": "pr_ms", "QRS_ms": "qrs_ms", "QT_ms": "qt_ms", "QTc_ms": "qtc_ms"}


def cart_intervals(meta: Metadata) -> dict[str, float]:
    """The cart's own measurements under the keys of :data:`DEFAULT_TOLERANCES`, for a "cart" column.

    Heart rate is the cart's ``HR_bpm``, else ``60000 / RR_ms``; PR, QRS, QT and QTc are taken as
    they are. The cart measures over all its leads (global intervals) and its QTc formula may not
    be Bazett's; amplitudes are never given. Features the cart did not measure are left out.

    Parameters
    ----------
    meta : Metadata
        A record's metadata (:attr:`Metadata.measurements`, ms and bpm).

    Returns
    -------
    dict of str to float
        Some of ``heart_rate_bpm``, ``pr_ms``, ``qrs_ms``, ``qt_ms``, ``qtc_ms``; empty when the
        file had no measurements.

    Examples
    --------
    >>> cart_intervals(Metadata(measurements={"RR_ms": 1000.0, "QRS_ms": 88.0, "QRS_axis_deg": 30.0}))
    {'heart_rate_bpm': 60.0, 'qrs_ms': 88.0}
    >>> cart_intervals(Metadata())
    {}
    """
    m = meta.measurements
    out = {key: float(m[name]) for name, key in _CART_KEYS.items() if name in m and np.isfinite(m[name])}
    rr = m.get("RR_ms", float("nan"))
    if "heart_rate_bpm" not in out and np.isfinite(rr) and rr > 0:
        out["heart_rate_bpm"] = 60000.0 / float(rr)
    return {key: out[key] for key in DEFAULT_TOLERANCES if key in out}


def delineation_for_plot(record: Record, lead: str = "II", method: str = DEFAULT_METHOD,
                         context: bool = False, *, delineation: Delineation | None = None) -> dict[str, np.ndarray]:
    """Fiducial times in seconds, for drawing markers on ``lead``.

    Parameters
    ----------
    record : Record
    lead : str
    method : str
    context : bool
        See :func:`delineate_record` (False: the lead alone, as the morphology table).
    delineation : Delineation, optional
        ``lead`` delineated earlier (with these settings); None: delineated here.

    Returns
    -------
    dict of str to ndarray
        ``{point name: times (s) of the beats where it was found}`` for every name in
        :data:`POINTS` (``p_on``, ``qrs_on``, ``t_off``, ...); empty arrays when the lead is
        absent or nothing was found.
    """
    try:
        d = delineation if delineation is not None else delineate_record(record, lead, method, context=context)
    except ValueError:
        return {name: np.zeros(0) for name in POINTS}
    return {name: t[np.isfinite(t)] for name, t in d.times().items()}
