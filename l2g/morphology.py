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


@dataclass(frozen=True)
class TemplateConfig:
    """Settings of the ``"l2g"`` delineator. Times in seconds, fractions of a slope or amplitude.

    The values were chosen on the odd-numbered LUDB records and checked on the even ones
    (``bench/delineation_ludb.py --tune``); see ``docs/DELINEATION.md``.
    """

    pre_s: float = 0.5            # template window before R (also capped at pre_rr * RR)
    pre_rr: float = 0.7
    post_s: float = 0.8           # template window after R (also capped at post_rr * RR)
    post_rr: float = 0.95
    align_s: float = 0.02         # largest shift when re-aligning beats on the QRS template
    qrs_half_s: float = 0.08      # half width of the QRS window used for alignment and correlation
    min_corr: float = 0.9         # beats whose QRS correlates less with the template are delineated alone
    deriv_s: float = 0.012        # Savitzky-Golay window of the QRS slope
    smooth_s: float = 0.04        # Savitzky-Golay window of the P/T trace and slope
    qrs_search_on_s: float = 0.10  # QRS slope peaks searched this far before R ...
    qrs_search_off_s: float = 0.14  # ... and after R
    qrs_peak_frac: float = 0.25    # significant QRS slope peak: above this fraction of the largest
    qrs_on_frac: float = 0.10      # QRS onset: slope falls below this fraction of the first slope peak
    qrs_off_frac: float = 0.10     # QRS offset: slope falls below this fraction of the last slope peak
    iso_s: float = ISO_WINDOW_S    # isoelectric window ending at QRS onset
    t_start_s: float = 0.06        # T searched from QRS offset + this ...
    t_end_rr: float = 0.62         # ... to R + min(t_end_rr * RR, t_end_s)
    t_end_s: float = 0.6
    t_second_lobe: float = 0.3     # a later opposite lobe this large (relative) makes the T wave biphasic
    t_off_bias_s: float = 0.0      # added to the tangent T offset
    p_start_s: float = 0.30        # P searched from QRS onset - this ...
    p_end_s: float = 0.03          # ... to QRS onset - this
    p_min_mv: float = 0.02         # smallest P amplitude accepted (template)
    p_min_snr: float = 1.0         # template P power over the beat-to-beat residual power
    p_frac: float = 0.2            # P on/offset: slope falls below this fraction of its slope peak


L2G_CONFIG = TemplateConfig()


def _odd(n: float, minimum: int = 5) -> int:
    k = max(int(round(n)), minimum)
    return k if k % 2 else k + 1


def _segments(x: np.ndarray, centres: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``x[c - a : c + b]`` for the centres whose window fits inside ``x``; (rows, kept mask)."""
    ok = (centres - a >= 0) & (centres + b <= x.size)
    idx = centres[ok][:, None] + np.arange(-a, b)[None, :]
    return x[idx], ok


def _corr_rows(rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
    r0 = rows - rows.mean(axis=1, keepdims=True)
    f0 = ref - ref.mean()
    den = np.sqrt((r0**2).sum(axis=1) * (f0**2).sum()) + 1e-12
    return (r0 @ f0) / den


def _align(x: np.ndarray, r: np.ndarray, fs: float, cfg: TemplateConfig) -> np.ndarray:
    """R peaks moved (by at most ``align_s``) to best match the median QRS."""
    h, s = int(cfg.qrs_half_s * fs), int(cfg.align_s * fs)
    rows, ok = _segments(x, r, h + s, h + s + 1)
    if ok.sum() < 2:
        return r
    tpl = np.median(rows, axis=0)[s: s + 2 * h + 1]
    out = r.copy()
    for k, row in zip(np.flatnonzero(ok), rows, strict=True):
        win = np.lib.stride_tricks.sliding_window_view(row, 2 * h + 1)  # (2s+1, 2h+1)
        out[k] = r[k] + int(np.argmax(_corr_rows(win, tpl))) - s
    return out


def _first_below(v: np.ndarray, start: int, step: int, thr: float, stop: int) -> int:
    """First index from ``start`` moving by ``step`` where ``v < thr``; ``stop`` if none."""
    i = start
    while (i > stop if step < 0 else i < stop) and v[i] >= thr:
        i += step
    return i


def _template_points(tpl: np.ndarray, c: int, fs: float, rr_s: float, cfg: TemplateConfig,
                     p_snr: float | None) -> dict[str, float]:
    """Fiducial points (sample offsets from R, float) of one averaged beat ``tpl`` with R at ``c``."""
    from scipy.signal import find_peaks, savgol_filter

    n = tpl.size
    out = {name: np.nan for name in POINTS}
    out["r_peaks"] = 0.0
    d = savgol_filter(tpl, _odd(cfg.deriv_s * fs), 2, deriv=1)
    ad = np.abs(d)
    # QRS: Martinez-style -- the outermost significant slope peaks, then walk out until the slope is small
    a = max(c - int(cfg.qrs_search_on_s * fs), 1)
    b = min(c + int(cfg.qrs_search_off_s * fs), n - 2)
    smax = ad[a:b].max()
    if not smax > 0:
        return out
    pk, _ = find_peaks(ad[a:b], height=cfg.qrs_peak_frac * smax)
    pk = pk + a
    before, after = pk[pk <= c], pk[pk >= c]
    n_first = before[0] if before.size else (pk[0] if pk.size else c)
    n_last = after[-1] if after.size else (pk[-1] if pk.size else c)
    qon = _first_below(ad, n_first, -1, cfg.qrs_on_frac * ad[n_first], max(a - int(0.05 * fs), 0))
    qoff = _first_below(ad, n_last, 1, cfg.qrs_off_frac * ad[n_last], min(b + int(0.05 * fs), n - 1))
    out["qrs_on"], out["qrs_off"] = float(qon - c), float(qoff - c)
    w = int(cfg.iso_s * fs)
    iso = float(np.median(tpl[max(qon - w, 0): qon + 1]))
    xs = savgol_filter(tpl, _odd(cfg.smooth_s * fs), 2)
    ds = savgol_filter(tpl, _odd(cfg.smooth_s * fs), 2, deriv=1)
    # T wave: largest deviation from the isoelectric level after the QRS
    ts = qoff + int(cfg.t_start_s * fs)
    te = min(c + int(min(cfg.t_end_rr * rr_s, cfg.t_end_s) * fs), n - 2)
    if te - ts > 0.04 * fs:
        dev = xs[ts:te] - iso
        tpk = ts + int(np.argmax(np.abs(dev)))
        amp = xs[tpk] - iso
        sign = np.sign(amp) or 1.0
        last = tpk
        tail_end = min(te + int(0.1 * fs), n - 2)
        if tail_end > tpk + 2:
            opp = -sign * (xs[tpk:tail_end] - iso)
            j = int(np.argmax(opp))
            if opp[j] > cfg.t_second_lobe * abs(amp) and j > 0.03 * fs:
                last, sign = tpk + j, -sign
        # T offset: tangent at the steepest return to baseline after the last lobe
        e = min(last + int(0.2 * fs), n - 2)
        if e > last + 2:
            k = last + int(np.argmax(-sign * ds[last:e]))
            if -sign * ds[k] > 0:
                toff = k + (iso - xs[k]) / ds[k] + cfg.t_off_bias_s * fs
                out["t_off"] = float(np.clip(toff, last, n - 1) - c)
        # T onset: tangent at the steepest departure before the peak
        if tpk - qoff > 2:
            k = qoff + int(np.argmax(sign * ds[qoff:tpk]))
            if sign * ds[k] > 0:
                out["t_on"] = float(np.clip(k + (iso - xs[k]) / ds[k], qoff, tpk) - c)
        out["t_peak"] = float(tpk - c)
    # P wave: largest deviation from the isoelectric level before the QRS
    ps = max(qon - int(cfg.p_start_s * fs), 1)
    if np.isfinite(out["t_off"]):
        ps = max(ps, int(c + out["t_off"] - rr_s * fs) + int(0.02 * fs))
    pe = qon - int(cfg.p_end_s * fs)
    if pe - ps > 0.03 * fs:
        dev = xs[ps:pe] - iso
        ppk = ps + int(np.argmax(np.abs(dev)))
        amp = xs[ppk] - iso
        ok = abs(amp) >= cfg.p_min_mv and (p_snr is None or p_snr >= cfg.p_min_snr)
        if ok and ps < ppk < pe - 1:
            sign = np.sign(amp)
            k_up = ps + int(np.argmax(sign * ds[ps:ppk])) if ppk > ps else ppk
            k_dn = ppk + int(np.argmax(-sign * ds[ppk:qon])) if qon > ppk else ppk
            aon = abs(ds[k_up])
            aoff = abs(ds[k_dn])
            pon = _first_below(np.abs(ds), k_up, -1, cfg.p_frac * aon, max(ps - int(0.05 * fs), 0))
            poff = _first_below(np.abs(ds), k_dn, 1, cfg.p_frac * aoff, qon)
            out["p_on"], out["p_peak"], out["p_off"] = float(pon - c), float(ppk - c), float(poff - c)
    return out


def _p_snr(x: np.ndarray, r: np.ndarray, tpl_pts: dict[str, float], fs: float, cfg: TemplateConfig) -> float:
    """Power of the template P-wave window over the mean beat-to-beat residual power there."""
    qon = tpl_pts["qrs_on"]
    if not np.isfinite(qon):
        return float("nan")
    a = int(-qon + cfg.p_start_s * fs)
    b = int(qon - cfg.p_end_s * fs)
    if -a >= b:
        return float("nan")
    rows, ok = _segments(x, r, a, b)
    if ok.sum() < 3:
        return float("nan")
    rows = rows - rows.mean(axis=1, keepdims=True)
    tpl = np.median(rows, axis=0)
    return float(np.var(tpl) / (np.mean((rows - tpl) ** 2) + 1e-12))


def _delineate_l2g(clean: np.ndarray, r: np.ndarray, fs: float,
                   cfg: TemplateConfig | None = None) -> dict[str, np.ndarray] | None:
    """Template (median-beat) delineation, see :func:`delineate`."""
    cfg = L2G_CONFIG if cfg is None else cfg
    n = r.size
    r = _align(clean, r, fs, cfg)
    rr = np.diff(r) / fs
    rr_s = float(np.median(rr)) if rr.size else 1.0
    a = int(min(cfg.pre_s, cfg.pre_rr * rr_s) * fs)
    b = int(min(cfg.post_s, cfg.post_rr * rr_s) * fs)
    rows, ok = _segments(clean, r, a, b)
    out = {name: np.full(n, np.nan) for name in POINTS}
    out["r_peaks"] = r.astype(np.float64)
    if ok.sum() == 0:
        return out
    h = int(cfg.qrs_half_s * fs)
    qrs = rows[:, a - h: a + h + 1]
    corr = _corr_rows(qrs, np.median(qrs, axis=0))
    typical = corr >= cfg.min_corr
    if typical.sum() < max(2, 0.3 * ok.sum()):
        typical = np.ones_like(typical)
    tpl = np.median(rows[typical], axis=0)
    pts = _template_points(tpl, a, fs, rr_s, cfg, p_snr=None)
    snr = _p_snr(clean, r[ok][typical], pts, fs, cfg)
    pts = _template_points(tpl, a, fs, rr_s, cfg, p_snr=snr if np.isfinite(snr) else None)
    beat_typical = np.zeros(n, dtype=bool)
    beat_typical[np.flatnonzero(ok)[typical]] = True
    # beats near the edges share the template too when their QRS matches it
    for k in np.flatnonzero(~ok):
        seg, fits = _segments(clean, r[k: k + 1], h, h + 1)
        if fits.all() and _corr_rows(seg, tpl[a - h: a + h + 1])[0] >= cfg.min_corr:
            beat_typical[k] = True
    for name in POINTS:
        if name != "r_peaks":
            out[name] = np.where(beat_typical, r + pts[name], np.nan)
    # atypical beats (ectopics, artefacts): delineated on their own, without a P wave
    for k in np.flatnonzero(ok)[~typical]:
        own = _template_points(rows[np.flatnonzero(ok) == k][0] if False else clean[r[k] - a: r[k] + b], a, fs,
                               rr_s, cfg, p_snr=0.0)
        for name in POINTS:
            if name != "r_peaks":
                out[name][k] = r[k] + own[name]
    for name in POINTS:
        v = out[name]
        v[(v < 0) | (v > clean.size - 1)] = np.nan
    return out


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
