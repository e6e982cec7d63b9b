"""Delineation of P, QRS and T waves and the Lead-II intervals built on it.

Pipeline (one lead, any sampling rate)::

    ecg_clean (neurokit2)  ->  R peaks (nk.ecg_peaks)  ->  delineate (method)  ->  beats  ->  intervals

Methods
-------
``"dwt"``, ``"cwt"``, ``"peak"``, ``"prominence"``
    neurokit2's :func:`neurokit2.ecg_delineate` methods, on the neurokit2-cleaned
    trace and its own R peaks.
``"l2g"``
    Ours: the ``"prominence"`` waves as a start, then post-processing described in
    :func:`delineate` and ``docs/DELINEATION.md``.

The default, :data:`DEFAULT_METHOD`, is the method that measured best on the
cardiologist annotations of LUDB (lead II, ``bench/delineation_ludb.py``,
``reports/delineation_ludb.md``).

Beats
-----
Every result is organised per beat: beat ``i`` is the R peak ``r_peaks[i]``, the
P wave before it (between the previous R peak and this one), its QRS, and the T
wave after it (before the next R peak). Fiducial points are sample indices into
the trace, stored as float64 with NaN where a point was not found.

Intervals (:func:`intervals`)
-----------------------------
Per beat, then the median over the beats where the interval is measurable:

* PR = QRS onset - P onset; QRS = QRS offset - QRS onset; QT = T offset - QRS onset (ms);
* heart rate = 60 / median RR (bpm);
* QTc (Bazett) = QT / sqrt(RR / 1 s); QTc (Fridericia) = QT / (RR / 1 s) ** (1/3), from the
  median QT and the median RR. ``qtc_ms`` is Bazett's.

Amplitudes (mV) are taken on the cleaned trace relative to the beat's isoelectric level,
the median of the trace over the :data:`ISO_WINDOW_S` seconds that end at QRS onset (the
PR segment; 80 to 60 ms before the R peak when QRS onset is missing).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .record import Record

__all__ = [
    "METHODS",
    "NK_METHODS",
    "DEFAULT_METHOD",
    "POINTS",
    "ISO_WINDOW_S",
    "PLAUSIBLE_MS",
    "DEFAULT_TOLERANCES",
    "Tolerance",
    "Delineation",
    "delineate",
    "delineate_record",
    "intervals",
    "morphology_table",
    "delineation_for_plot",
]

NK_METHODS: tuple[str, ...] = ("dwt", "cwt", "peak", "prominence")
METHODS: tuple[str, ...] = (*NK_METHODS, "l2g")
DEFAULT_METHOD = "l2g"

# fiducial points held per beat, in temporal order
POINTS: tuple[str, ...] = ("p_on", "p_peak", "p_off", "qrs_on", "r_peaks", "qrs_off", "t_on", "t_peak", "t_off")

# isoelectric level: median of the trace over this many seconds ending at QRS onset
ISO_WINDOW_S = 0.02

# per-beat intervals outside these bounds (ms) are treated as mis-delineations and ignored
PLAUSIBLE_MS: dict[str, tuple[float, float]] = {
    "pr": (50.0, 450.0),
    "qrs": (30.0, 250.0),
    "qt": (160.0, 700.0),
    "rr": (250.0, 2500.0),
}

# the shortest trace worth delineating (s); shorter ones give an empty Delineation
_MIN_DURATION_S = 1.5


# ------------------------------------------------------------------ the result
@dataclass(frozen=True, eq=False)
class Delineation:
    """Per-beat fiducial points of one ECG trace.

    Attributes
    ----------
    fs : float
        Sampling rate of ``signal`` in Hz.
    signal : ndarray of float64, shape (samples,)
        The cleaned trace (mV) the points refer to and amplitudes are read from.
    method : str
        The delineation method that produced the points.
    r_peaks, p_on, p_peak, p_off, qrs_on, qrs_off, t_on, t_peak, t_off : ndarray of float64, shape (beats,)
        Sample indices into ``signal``; NaN where the point was not found. ``r_peaks``
        is always finite and increasing. Beat ``i`` holds the P wave before
        ``r_peaks[i]``, its QRS complex and the T wave after it.
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
        sig = np.asarray(self.signal, dtype=np.float64).copy()
        sig.setflags(write=False)
        object.__setattr__(self, "signal", sig)
        n = None
        for name in POINTS:
            arr = np.asarray(getattr(self, name), dtype=np.float64).ravel().copy()
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise ValueError(f"Delineation: {name} has {arr.size} beats, r_peaks has {n}")
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


# ------------------------------------------------------------------ delineation
def _nk():
    import neurokit2 as nk  # heavy import (~1 s): only when delineation is first used

    return nk


def _clean(signal: np.ndarray, fs: float) -> np.ndarray:
    """neurokit2's default cleaning: 0.5 Hz 5th-order Butterworth high-pass and a 50 Hz notch."""
    return np.asarray(_nk().ecg_clean(signal, sampling_rate=fs, method="neurokit"), dtype=np.float64)


def _r_peaks(clean: np.ndarray, fs: float) -> np.ndarray:
    """R peaks (sample indices) of a cleaned trace by neurokit2's default detector."""
    _, info = _nk().ecg_peaks(clean, sampling_rate=fs, method="neurokit")
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    return np.unique(peaks[(peaks >= 0) & (peaks < clean.size)])


def _as_float(values: Any, n: int) -> np.ndarray:
    """A neurokit2 point list (may hold None / NaN / objects) as float64 of length ``n``."""
    out = np.full(n, np.nan)
    if values is None:
        return out
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    out[: min(n, arr.size)] = arr[:n]
    return out


_NK_KEYS = {
    "p_on": "ECG_P_Onsets", "p_peak": "ECG_P_Peaks", "p_off": "ECG_P_Offsets",
    "qrs_on": "ECG_R_Onsets", "qrs_off": "ECG_R_Offsets",
    "t_on": "ECG_T_Onsets", "t_peak": "ECG_T_Peaks", "t_off": "ECG_T_Offsets",
}


def _assign_to_beats(points: np.ndarray, r: np.ndarray, side: str) -> np.ndarray:
    """Assign detected points (any order, NaN allowed) to beats by position.

    ``side="before"``: a point belongs to the first R peak after it (P waves, QRS onset);
    ``side="after"``: to the last R peak before it (QRS offset, T wave). When two points
    claim the same beat, the one nearest its R peak wins.
    """
    out = np.full(r.size, np.nan)
    pts = points[np.isfinite(points)]
    if r.size == 0 or pts.size == 0:
        return out
    if side == "before":
        idx = np.searchsorted(r, pts, side="left")  # first R >= point
        ok = idx < r.size
    else:
        idx = np.searchsorted(r, pts, side="right") - 1  # last R <= point
        ok = idx >= 0
    for p, i in zip(pts[ok], idx[ok], strict=True):
        if np.isnan(out[i]) or abs(p - r[i]) < abs(out[i] - r[i]):
            out[i] = p
    return out


def _beats_from_waves(waves: dict[str, Any], r: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """neurokit2's ``waves`` dict as per-beat arrays aligned to ``r``.

    neurokit2's methods do not all return one entry per R peak (``"cwt"`` returns P and T
    waves per RR interval), so each wave is re-assigned to beats by position: a P wave to
    the next R peak, a T wave to the previous one. The onset, peak and offset of a wave
    are kept together. Points outside plausible windows around their R peak (P and QRS
    onset before it, QRS offset and T after it, never across a neighbouring R peak) are
    dropped.
    """
    n = r.size
    out: dict[str, np.ndarray] = {"r_peaks": r.astype(np.float64)}
    raw = {name: _as_float(waves.get(key), len(waves.get(key) or [])) for name, key in _NK_KEYS.items()}
    prev_r = np.concatenate([[-np.inf], r[:-1]])
    next_r = np.concatenate([r[1:], [np.inf]])
    qrs_half = 0.2 * fs  # QRS on/offset must lie within 200 ms of the R peak
    # waves: assign by the peak (or by the onset/offset when the peak is missing)
    for wave, side in (("p", "before"), ("t", "after")):
        on, pk, off = raw[f"{wave}_on"], raw[f"{wave}_peak"], raw[f"{wave}_off"]
        m = max(on.size, pk.size, off.size)
        on, pk, off = (np.concatenate([a, np.full(m - a.size, np.nan)]) for a in (on, pk, off))
        anchor = np.where(np.isfinite(pk), pk, np.where(np.isfinite(on), on, off))
        beat = np.full(m, -1)
        fin = np.isfinite(anchor)
        if side == "before":
            beat[fin] = np.searchsorted(r, anchor[fin], side="left")
            beat[beat >= n] = -1
        else:
            beat[fin] = np.searchsorted(r, anchor[fin], side="right") - 1
        arrs = {k: np.full(n, np.nan) for k in ("on", "peak", "off")}
        for j in range(m):
            i = beat[j]
            if i < 0:
                continue
            if np.isfinite(arrs["peak"][i]) and abs(anchor[j] - r[i]) >= abs(arrs["peak"][i] - r[i]):
                continue
            arrs["on"][i], arrs["peak"][i], arrs["off"][i] = on[j], anchor[j] if np.isfinite(pk[j]) else np.nan, off[j]
        lo, hi = (prev_r, r) if side == "before" else (r, next_r)
        for k, a in arrs.items():
            a[~((a > lo) & (a < hi))] = np.nan
            out[f"{wave}_{k}"] = a
    qon = _assign_to_beats(raw["qrs_on"], r, "before")
    qon[~(qon >= r - qrs_half)] = np.nan
    qoff = _assign_to_beats(raw["qrs_off"], r, "after")
    qoff[~(qoff <= r + qrs_half)] = np.nan
    out["qrs_on"], out["qrs_off"] = qon, qoff
    return out


def _delineate_nk(clean: np.ndarray, r: np.ndarray, fs: float, method: str) -> dict[str, np.ndarray] | None:
    """One neurokit2 method; None when neurokit2 fails on this trace."""
    nk = _nk()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, waves = nk.ecg_delineate(clean, r, sampling_rate=fs, method=method)
    except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError):
        # neurokit2 raises these on traces with too few or edge-hugging beats
        return None
    return _beats_from_waves(waves, r, fs)


def delineate(signal_mv: np.ndarray, fs: float, method: str = DEFAULT_METHOD) -> Delineation:
    """Find the P, QRS and T waves of one ECG lead.

    Parameters
    ----------
    signal_mv : array_like, shape (samples,)
        One lead in mV, any sampling rate.
    fs : float
        Sampling rate in Hz.
    method : {"l2g", "dwt", "cwt", "peak", "prominence"}
        See the module docstring. ``"peak"`` finds no QRS on/offset nor P offset.

    Returns
    -------
    Delineation
        Per-beat fiducial points (sample indices into the cleaned trace, NaN where not
        found). A trace that is shorter than 1.5 s, flat, non-finite or has fewer than two
        R peaks gives a Delineation with no beats.

    Raises
    ------
    ValueError
        When ``method`` is unknown, ``fs`` is not positive, or ``signal_mv`` is not 1-D.
    """
    if method not in METHODS:
        raise ValueError(f"delineate: unknown method {method!r}; valid: {', '.join(METHODS)}")
    fs = float(fs)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"delineate: fs must be a positive number in Hz, got {fs!r}")
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"delineate: expected one lead, shape (samples,), got shape {x.shape}")
    if x.size < _MIN_DURATION_S * fs or not np.isfinite(x).all() or np.ptp(x) < 1e-6:
        return Delineation.empty(np.nan_to_num(x), fs, method)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clean = _clean(x, fs)
            r = _r_peaks(clean, fs)
    except (ValueError, IndexError):
        return Delineation.empty(x, fs, method)
    if r.size < 2:
        return Delineation.empty(clean, fs, method)
    if method in NK_METHODS:
        beats = _delineate_nk(clean, r, fs, method)
    else:
        beats = _delineate_l2g(clean, r, fs)
    if beats is None:
        return Delineation.empty(clean, fs, method)
    for name in POINTS:
        beats.setdefault(name, np.full(r.size, np.nan))
    return Delineation(fs=fs, signal=clean, method=method, **beats)


def _delineate_l2g(clean: np.ndarray, r: np.ndarray, fs: float) -> dict[str, np.ndarray] | None:
    """Placeholder: the prominence method (replaced below once measured)."""
    return _delineate_nk(clean, r, fs, "prominence")


def delineate_record(record: Record, lead: str = "II", method: str = DEFAULT_METHOD) -> Delineation:
    """Delineate one lead of a :class:`~l2g.record.Record`.

    Parameters
    ----------
    record : Record
    lead : str
        Lead name (canonical or an alias); it must be present.
    method : str
        See :func:`delineate`.

    Returns
    -------
    Delineation

    Raises
    ------
    ValueError
        When the lead is absent or the method unknown.
    """
    return delineate(record.lead(lead), record.fs, method=method)


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


def beat_table(d: Delineation) -> pd.DataFrame:
    """Per-beat intervals (ms) and amplitudes (mV); the rows :func:`intervals` takes medians of.

    Columns: ``rr_ms`` (to the previous beat), ``pr_ms``, ``qrs_ms``, ``qt_ms``,
    ``p_amp_mv``, ``r_amp_mv``, ``t_amp_mv``, ``iso_mv``. Implausible intervals
    (outside :data:`PLAUSIBLE_MS`) are NaN.
    """
    ms = 1000.0 / d.fs
    rr = np.concatenate([[np.nan], np.diff(d.r_peaks)])[: d.n_beats] * ms
    sig = d.signal
    win = ISO_WINDOW_S * d.fs
    iso = np.array([
        _level(sig, q - win, q + 1) if np.isfinite(q) else _level(sig, rp - 0.08 * d.fs, rp - 0.06 * d.fs)
        for q, rp in zip(d.qrs_on, d.r_peaks, strict=True)
    ])
    half = 0.05 * d.fs
    r_top = np.array([
        np.max(sig[max(int(a), 0): min(int(b) + 1, sig.size)]) if b >= a else np.nan
        for a, b in zip(np.where(np.isfinite(d.qrs_on), d.qrs_on, d.r_peaks - half),
                        np.where(np.isfinite(d.qrs_off), d.qrs_off, d.r_peaks + half), strict=True)
    ]) if d.n_beats else np.zeros(0)
    return pd.DataFrame({
        "rr_ms": _plausible(rr, "rr"),
        "pr_ms": _plausible((d.qrs_on - d.p_on) * ms, "pr"),
        "qrs_ms": _plausible((d.qrs_off - d.qrs_on) * ms, "qrs"),
        "qt_ms": _plausible((d.t_off - d.qrs_on) * ms, "qt"),
        "p_amp_mv": np.array([_value_at(sig, p) for p in d.p_peak]) - iso,
        "r_amp_mv": r_top - iso,
        "t_amp_mv": np.array([_value_at(sig, t) for t in d.t_peak]) - iso,
        "iso_mv": iso,
    })


def intervals(delineation: Delineation) -> dict[str, float]:
    """Per-record medians of the Lead-II features.

    Parameters
    ----------
    delineation : Delineation

    Returns
    -------
    dict of str to float
        ``heart_rate_bpm`` (60 / median RR), ``rr_ms``, ``pr_ms`` (P onset to QRS onset),
        ``qrs_ms`` (QRS onset to offset), ``qt_ms`` (QRS onset to T offset), ``qtc_ms``
        (= ``qtc_bazett_ms``, QT / sqrt(RR in s)), ``qtc_fridericia_ms`` (QT / cbrt(RR in s)),
        ``p_amp_mv``, ``r_amp_mv``, ``t_amp_mv`` (relative to the isoelectric level, see the
        module docstring) and ``n_beats``. Intervals are medians over beats where they are
        measurable and plausible (:data:`PLAUSIBLE_MS`); NaN when no beat qualifies.
    """
    t = beat_table(delineation)
    out = {col: _median(t[col].to_numpy()) for col in t.columns if col != "iso_mv"}
    rr_s = out["rr_ms"] / 1000.0
    out = {
        "heart_rate_bpm": 60.0 / rr_s if rr_s > 0 else float("nan"),
        "rr_ms": out["rr_ms"],
        "pr_ms": out["pr_ms"],
        "qrs_ms": out["qrs_ms"],
        "qt_ms": out["qt_ms"],
        "qtc_ms": float("nan"),
        "qtc_bazett_ms": out["qt_ms"] / np.sqrt(rr_s) if rr_s > 0 else float("nan"),
        "qtc_fridericia_ms": out["qt_ms"] / np.cbrt(rr_s) if rr_s > 0 else float("nan"),
        "p_amp_mv": out["p_amp_mv"],
        "r_amp_mv": out["r_amp_mv"],
        "t_amp_mv": out["t_amp_mv"],
        "n_beats": float(delineation.n_beats),
    }
    out["qtc_ms"] = out["qtc_bazett_ms"]
    return {k: float(v) for k, v in out.items()}


# ------------------------------------------------------------------ real vs generated
@dataclass(frozen=True)
class Tolerance:
    """How far a generated feature may differ from the real one before it is flagged.

    ``|generated - real| > max(absolute, relative * |real|)`` flags the feature.
    """

    absolute: float
    relative: float = 0.0
    unit: str = ""

    def limit(self, real: float) -> float:
        rel = self.relative * abs(real) if np.isfinite(real) else 0.0
        return max(self.absolute, rel)


# key in intervals() -> (row label, tolerance); see docs/DELINEATION.md for the rationale
DEFAULT_TOLERANCES: dict[str, tuple[str, Tolerance]] = {
    "heart_rate_bpm": ("HR (bpm)", Tolerance(5.0, unit="bpm")),
    "pr_ms": ("PR (ms)", Tolerance(20.0, unit="ms")),
    "qrs_ms": ("QRS (ms)", Tolerance(12.0, unit="ms")),
    "qt_ms": ("QT (ms)", Tolerance(30.0, unit="ms")),
    "qtc_ms": ("QTc Bazett (ms)", Tolerance(30.0, unit="ms")),
    "p_amp_mv": ("P amplitude (mV)", Tolerance(0.1, 0.2, unit="mV")),
    "r_amp_mv": ("R amplitude (mV)", Tolerance(0.1, 0.2, unit="mV")),
    "t_amp_mv": ("T amplitude (mV)", Tolerance(0.1, 0.2, unit="mV")),
}


def morphology_table(real: Record, generated: Record, lead: str = "II",
                     tolerances: dict[str, tuple[str, Tolerance]] | None = None,
                     method: str = DEFAULT_METHOD) -> pd.DataFrame:
    """Lead-II features of a real record beside those of its generated counterpart.

    Parameters
    ----------
    real, generated : Record
        The same ECG, recorded and generated; each must hold ``lead``.
    lead : str
    tolerances : dict, optional
        ``{intervals() key: (row label, Tolerance)}``; :data:`DEFAULT_TOLERANCES` by default.
    method : str
        Delineation method (both records use the same).

    Returns
    -------
    pandas.DataFrame
        Index: the row labels (HR, PR, QRS, QT, QTc, P/R/T amplitudes). Columns:
        ``real``, ``generated``, ``difference`` (generated - real), ``tolerance`` (the limit
        that applies to this real value), ``flag`` (True when ``|difference| > tolerance``;
        False when either value is NaN), ``key`` (the :func:`intervals` key).
    """
    tolerances = DEFAULT_TOLERANCES if tolerances is None else tolerances
    a = intervals(delineate_record(real, lead, method))
    b = intervals(delineate_record(generated, lead, method))
    rows = []
    for key, (label, tol) in tolerances.items():
        diff = b[key] - a[key]
        limit = tol.limit(a[key])
        rows.append({"feature": label, "real": a[key], "generated": b[key], "difference": diff,
                     "tolerance": limit, "flag": bool(np.isfinite(diff) and abs(diff) > limit), "key": key})
    return pd.DataFrame(rows).set_index("feature")


def delineation_for_plot(record: Record, lead: str = "II", method: str = DEFAULT_METHOD) -> dict[str, np.ndarray]:
    """Fiducial times in seconds for drawing markers on ``lead``.

    Returns
    -------
    dict of str to ndarray
        ``{point name: times (s) of the beats where it was found}`` for every name in
        :data:`POINTS` (NaN dropped); empty arrays when delineation fails or the lead is
        absent.
    """
    try:
        d = delineate_record(record, lead, method)
    except ValueError:
        return {name: np.zeros(0) for name in POINTS}
    return {name: t[np.isfinite(t)] for name, t in d.times().items()}


_ = fields  # keep the import used for type tooling
