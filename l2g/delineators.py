"""The two delineators behind :func:`l2g.morphology.delineate`: neurokit2's methods and our own
median-beat (template) method ``"l2g"``; and R-peak detection, which both start from.

Each works on a cleaned trace and its R peaks and returns per-beat arrays of the fiducial points
(:data:`POINTS`, sample indices, NaN where a point is not found), aligned to the R peaks.
:mod:`l2g.morphology` validates the input, chooses the method, wraps the arrays in a
:class:`~l2g.morphology.Delineation` and builds the interval tables on it; the method notes are in
its docstring.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["POINTS", "ISO_WINDOW_S", "TemplateConfig", "detect_r_peaks"]

# fiducial points held per beat, in temporal order
POINTS: tuple[str, ...] = ("p_on", "p_peak", "p_off", "qrs_on", "r_peaks", "qrs_off", "t_on", "t_peak", "t_off")

# isoelectric level: median of the trace over this many seconds ending at QRS onset
ISO_WINDOW_S = 0.02

# "l2g": one median beat per this many seconds of record
_TEMPLATE_WINDOW_S = 10.0


# ------------------------------------------------------------------ neurokit2 steps
def _nk():
    import neurokit2 as nk  # heavy import (~1 s): only when delineation is first used

    return nk


def _clean(signal: np.ndarray, fs: float) -> np.ndarray:
    """neurokit2's default cleaning: 0.5 Hz 5th-order Butterworth high-pass, 50 Hz powerline filter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(_nk().ecg_clean(signal, sampling_rate=fs, method="neurokit"), dtype=np.float64)


def _r_peaks(clean: np.ndarray, fs: float) -> np.ndarray:
    """R peaks (sample indices) of a cleaned trace by neurokit2's default detector."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = _nk().ecg_peaks(clean, sampling_rate=fs, method="neurokit")
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    return np.unique(peaks[(peaks >= 0) & (peaks < clean.size)])


def detect_r_peaks(signal_mv: np.ndarray, fs: float) -> np.ndarray:
    """R peaks of one lead: neurokit2's default cleaning and detector.

    Parameters
    ----------
    signal_mv : ndarray, shape (samples,)
        mV.
    fs : float
        Hz.

    Returns
    -------
    ndarray of int64
        Sample indices, empty when neurokit2 fails on a degenerate trace.
    """
    try:
        return _r_peaks(_clean(np.asarray(signal_mv, np.float64), fs), fs)
    except (ValueError, IndexError, ZeroDivisionError):  # neurokit2 on degenerate traces
        return np.array([], dtype=np.int64)


def _as_float(values: Any) -> np.ndarray:
    """A neurokit2 point list (may hold None / NaN / numpy scalars) as float64."""
    if values is None:
        return np.zeros(0)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


_NK_KEYS = {
    "p_on": "ECG_P_Onsets", "p_peak": "ECG_P_Peaks", "p_off": "ECG_P_Offsets",
    "qrs_on": "ECG_R_Onsets", "qrs_off": "ECG_R_Offsets",
    "t_on": "ECG_T_Onsets", "t_peak": "ECG_T_Peaks", "t_off": "ECG_T_Offsets",
}


def _assign_to_beats(points: np.ndarray, r: np.ndarray, side: str) -> np.ndarray:
    """Assign points to beats by position: to the next R peak (``"before"``) or the previous one.

    When two points claim the same beat, the one nearest its R peak wins.
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
    waves per RR interval), so waves are re-assigned to beats by position: a P wave to the
    next R peak, a T wave to the previous one, onset, peak and offset together. Points that
    cross a neighbouring R peak, and QRS bounds more than 200 ms from their R peak, are
    dropped.
    """
    n = r.size
    out: dict[str, np.ndarray] = {"r_peaks": r.astype(np.float64)}
    raw = {name: _as_float(waves.get(key)) for name, key in _NK_KEYS.items()}
    prev_r = np.concatenate([[-np.inf], r[:-1]])
    next_r = np.concatenate([r[1:], [np.inf]])
    for wave, side in (("p", "before"), ("t", "after")):
        on, pk, off = raw[f"{wave}_on"], raw[f"{wave}_peak"], raw[f"{wave}_off"]
        m = max(on.size, pk.size, off.size)
        on, pk, off = (np.concatenate([v, np.full(m - v.size, np.nan)]) for v in (on, pk, off))
        anchor = np.where(np.isfinite(pk), pk, np.where(np.isfinite(on), on, off))
        beat = np.full(m, -1)
        fin = np.isfinite(anchor)
        if side == "before":
            beat[fin] = np.searchsorted(r, anchor[fin], side="left")
            beat[beat >= n] = -1
        else:
            beat[fin] = np.searchsorted(r, anchor[fin], side="right") - 1
        got = {k: np.full(n, np.nan) for k in ("on", "peak", "off")}
        dist = np.full(n, np.inf)
        for j in range(m):
            i = beat[j]
            if i < 0 or abs(anchor[j] - r[i]) >= dist[i]:
                continue
            dist[i] = abs(anchor[j] - r[i])
            got["on"][i], got["peak"][i], got["off"][i] = on[j], pk[j], off[j]
        lo, hi = (prev_r, r) if side == "before" else (r, next_r)
        for k, v in got.items():
            v[~((v > lo) & (v < hi))] = np.nan
            out[f"{wave}_{k}"] = v
    half = 0.2 * fs
    qon = _assign_to_beats(raw["qrs_on"], r, "before")
    qon[~(qon >= r - half)] = np.nan
    qoff = _assign_to_beats(raw["qrs_off"], r, "after")
    qoff[~(qoff <= r + half)] = np.nan
    out["qrs_on"], out["qrs_off"] = qon, qoff
    return out


def _delineate_nk(clean: np.ndarray, r: np.ndarray, fs: float, method: str) -> dict[str, np.ndarray] | None:
    """One neurokit2 method; None when neurokit2 fails on this trace."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, waves = _nk().ecg_delineate(clean, r, sampling_rate=fs, method=method)
    except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError):
        # neurokit2 raises these on traces with few or edge-hugging beats
        return None
    return _beats_from_waves(waves, r, fs)


# ------------------------------------------------------------------ "l2g": median-beat delineation
@dataclass(frozen=True)
class TemplateConfig:
    """Settings of the ``"l2g"`` delineator. Times in s; fractions of a slope or amplitude.

    The thresholds were chosen on the odd-numbered LUDB records (lead II against the
    cardiologists' annotations) and checked on the even-numbered ones; see
    ``docs/DELINEATION.md``.
    """

    pre_s: float = 0.5              # median-beat window before R (at most pre_rr * RR) ...
    pre_rr: float = 0.7
    post_s: float = 0.8             # ... and after R (at most post_rr * RR)
    post_rr: float = 0.95
    align_s: float = 0.02           # largest shift when re-aligning beats on the median QRS
    qrs_half_s: float = 0.08        # half width of the QRS window used for alignment and correlation
    min_corr: float = 0.9           # beats whose QRS correlates less are delineated on their own
    deriv_s: float = 0.012          # Savitzky-Golay window of the QRS slope
    qrs_search_on_s: float = 0.10   # QRS slope peaks searched this far before R ...
    qrs_search_off_s: float = 0.14  # ... and after it
    qrs_peak_frac: float = 0.25     # a slope peak is significant above this fraction of the largest
    qrs_hold_s: float = 0.01        # QRS bound: the slope stays below its threshold this long
    qrs_on_frac: float = 0.05       # QRS onset threshold, fraction of the largest QRS slope (one lead)
    qrs_off_frac: float = 0.07      # QRS offset threshold (one lead)
    qrs_on_frac_multi: float = 0.10   # the same on the spatial velocity of several leads
    qrs_off_frac_multi: float = 0.10
    qrs_multi_weight: float = 0.5     # with other leads: weight of the spatial-velocity bound, the rest the lead's own
    # walking out from the QRS, also stop at a local minimum of the slope below this fraction of the
    # largest QRS slope (the PR segment between a P wave that runs into the QRS and the Q wave); 0 = off
    qrs_valley_frac_on: float = 0.0
    qrs_valley_frac_off: float = 0.0
    iso_s: float = ISO_WINDOW_S     # isoelectric level: median over this window ending at QRS onset
    t_smooth_s: float = 0.06        # Savitzky-Golay window of the trace and slope for the T wave
    t_start_s: float = 0.06         # T searched from QRS offset + this ...
    t_end_rr: float = 0.62          # ... to R + min(t_end_rr * RR, t_end_s)
    t_end_s: float = 0.6
    t_expect_qtc_s: float = 0.41    # T peak expected at QRS onset + t_expect_qtc_s * sqrt(RR) - 0.1 s ...
    t_prior_s: float = 0.05         # ... with this SD of the Gaussian weight on the candidates' prominence
    t_second_lobe: float = 0.3      # an opposite lobe this prominent (relative) makes the T wave biphasic ...
    t_lobe_s: float = 0.16          # ... when it peaks within this of the first
    t_slope_s: float = 0.1          # steepest return to baseline searched this far after the last lobe
    t_area_s: float = 0.06          # trapezium-area method: reference point this far after the steepest slope
    p_smooth_s: float = 0.02        # Savitzky-Golay window of the trace and slope for the P wave
    p_start_s: float = 0.30         # P searched from QRS onset - this ...
    p_end_s: float = 0.03           # ... to QRS onset - this (and after the previous T offset)
    p_min_mv: float = 0.02          # smallest P amplitude accepted
    p_min_snr: float = 2.0          # median-beat P power over the beat-to-beat residual power there
    p_on_frac: float = 0.4          # P onset: slope falls below this fraction of its steepest rise
    p_off_frac: float = 0.5         # P offset: the same after its steepest fall


_DEFAULT_CONFIG = TemplateConfig()


def _odd(n: float, minimum: int = 5) -> int:
    k = max(int(round(n)), minimum)
    return k if k % 2 else k + 1


def _segments(x: np.ndarray, centres: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``x[c - a : c + b]`` for the centres whose window fits inside ``x``; (rows, fits mask)."""
    ok = (centres - a >= 0) & (centres + b <= x.size)
    idx = centres[ok][:, None] + np.arange(-a, b)[None, :]
    return x[idx], ok


def _corr_rows(rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with ``ref``."""
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
        win = np.lib.stride_tricks.sliding_window_view(row, 2 * h + 1)  # (2s + 1, 2h + 1)
        out[k] = r[k] + int(np.argmax(_corr_rows(win, tpl))) - s
    return out


def _first_below(v: np.ndarray, start: int, step: int, thr: float, stop: int, hold: int = 1) -> int:
    """First index from ``start``, moving by ``step`` (+1 or -1), where ``v`` stays below ``thr``.

    ``v`` must stay below ``thr`` for ``hold`` samples from that index on (in the
    direction of the walk); ``stop`` when no index before it qualifies.
    """
    below = v < thr
    i = start
    while i > stop if step < 0 else i < stop:
        seg = below[i - hold + 1: i + 1] if step < 0 else below[i: i + hold]
        if seg.size == hold and seg.all():
            return i
        i += step
    return stop


def _qrs_bound(ad: np.ndarray, c: int, a: int, b: int, step: int, frac: float, hold: int,
               fs: float, cfg: TemplateConfig) -> int | None:
    """QRS onset (``step=-1``) or offset (``+1``) on a slope envelope ``ad`` with R at ``c``.

    The outermost significant slope peak in ``[a, b)`` on that side of R, then outwards
    until ``ad`` stays below ``frac`` of the largest QRS slope for ``hold`` samples, or
    (``qrs_valley_frac_on`` / ``_off`` > 0) reaches a local minimum below that fraction
    of it, whichever comes first.
    """
    from scipy.signal import find_peaks

    smax = ad[a:b].max()
    if not smax > 0:
        return None
    pk, _ = find_peaks(ad[a:b], height=cfg.qrs_peak_frac * smax)
    pk = pk + a
    if step < 0:
        side = pk[pk <= c]
        start = side[0] if side.size else (pk[0] if pk.size else c)
        stop = max(a - int(0.05 * fs), hold)
    else:
        side = pk[pk >= c]
        start = side[-1] if side.size else (pk[-1] if pk.size else c)
        stop = min(b + int(0.05 * fs), ad.size - hold)
    bound = _first_below(ad, int(start), step, frac * smax, stop, hold)
    valley = cfg.qrs_valley_frac_on if step < 0 else cfg.qrs_valley_frac_off
    if valley > 0:
        i = int(start) + step
        while (i > bound) if step < 0 else (i < bound):
            if ad[i] < valley * smax and ad[i] <= ad[i - 1] and ad[i] <= ad[i + 1]:
                return i
            i += step
    return bound


def _blend(multi: int | None, own: int | None, weight: float) -> int | None:
    """``weight * multi + (1 - weight) * own`` (samples), or whichever of the two was found."""
    if multi is None or own is None:
        return own if multi is None else multi
    return int(round(weight * multi + (1.0 - weight) * own))


def _t_wave(xs: np.ndarray, ds: np.ndarray, c: int, qon: int, qoff: int, iso: float, fs: float, rr_s: float,
            cfg: TemplateConfig) -> dict[str, float]:
    """T onset, peak and offset (sample indices) on a smoothed beat ``xs`` and its slope ``ds``."""
    from scipy.signal import find_peaks

    n = xs.size
    out = {"t_on": np.nan, "t_peak": np.nan, "t_off": np.nan}
    ts = qoff + int(cfg.t_start_s * fs)
    te = min(c + int(min(cfg.t_end_rr * rr_s, cfg.t_end_s) * fs), n - 2)
    if te - ts <= 0.04 * fs:
        return out
    seg = xs[ts:te]
    # the most prominent extremum, weighted by a Gaussian prior around the expected T peak
    t_exp = qon + (cfg.t_expect_qtc_s * np.sqrt(rr_s) - 0.1) * fs
    best = (-1.0, 0.0, ts + int(np.argmax(np.abs(seg - iso))), float(np.sign(xs[ts] - iso) or 1.0))
    for sgn in (1.0, -1.0):
        pk, info = find_peaks(sgn * seg, prominence=0.0)
        if pk.size:
            score = info["prominences"] * np.exp(-0.5 * ((ts + pk - t_exp) / (cfg.t_prior_s * fs)) ** 2)
            j = int(np.argmax(score))
            if score[j] > best[0]:
                best = (float(score[j]), float(info["prominences"][j]), ts + int(pk[j]), sgn)
    _, prom, tpk, tsign = best
    prom = prom if prom > 0 else abs(xs[tpk] - iso)
    # a prominent opposite lobe soon after makes the T wave biphasic: the offset follows that lobe
    last, lsign = tpk, tsign
    tail_end = min(tpk + int(cfg.t_lobe_s * fs), te)
    if tail_end > tpk + 2:
        pk, info = find_peaks(-tsign * xs[tpk:tail_end], prominence=cfg.t_second_lobe * prom)
        keep = pk > 0.03 * fs
        if keep.any():
            last, lsign = tpk + int(pk[keep][np.argmax(info["prominences"][keep])]), -tsign
    # offset: trapezium-area method from the steepest return to baseline after the last lobe
    e = min(last + int(cfg.t_slope_s * fs), n - 2)
    if e > last + 2:
        k = last + int(np.argmax(-lsign * ds[last:e]))
        xr = min(k + int(cfg.t_area_s * fs), n - 1, max(c + int((rr_s - 0.2) * fs), k + 1))
        i = np.arange(k, xr + 1)
        out["t_off"] = float(k + int(np.argmax(lsign * (xs[k] - xs[i]) * (2 * xr - i - k))))
    # onset: the same construction mirrored, before the steepest departure towards the first lobe
    if tpk - qoff > 2:
        k = qoff + int(np.argmax(tsign * ds[qoff:tpk]))
        xl = max(k - int(cfg.t_area_s * fs), qoff)
        i = np.arange(xl, k + 1)
        out["t_on"] = float(xl + int(np.argmax(tsign * (xs[k] - xs[i]) * (i + k - 2 * xl))))
    out["t_peak"] = float(tpk)
    return out


def _p_wave(xs: np.ndarray, ds: np.ndarray, qon: int, ps: int, iso: float, fs: float, p_snr: float | None,
            cfg: TemplateConfig) -> dict[str, float]:
    """P onset, peak and offset (sample indices) searched in ``[ps, qon - p_end_s)``."""
    out = {"p_on": np.nan, "p_peak": np.nan, "p_off": np.nan}
    pe = qon - int(cfg.p_end_s * fs)
    if pe - ps <= 0.03 * fs:
        return out
    ppk = ps + int(np.argmax(np.abs(xs[ps:pe] - iso)))
    amp = xs[ppk] - iso
    if abs(amp) < cfg.p_min_mv or (p_snr is not None and not p_snr >= cfg.p_min_snr) or not ps < ppk < pe - 1:
        return out
    sign = np.sign(amp)
    ads = np.abs(ds)
    k_up = ps + int(np.argmax(sign * ds[ps:ppk]))
    k_dn = ppk + int(np.argmax(-sign * ds[ppk:qon]))
    out["p_on"] = float(_first_below(ads, k_up, -1, cfg.p_on_frac * ads[k_up], max(ps - int(0.05 * fs), 0)))
    out["p_peak"] = float(ppk)
    out["p_off"] = float(_first_below(ads, k_dn, 1, cfg.p_off_frac * ads[k_dn], qon))
    return out


def _beat_points(tpl: np.ndarray, c: int, fs: float, rr_s: float, cfg: TemplateConfig, p_snr: float | None,
                 env: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> dict[str, float]:
    """Fiducial points of one (median) beat ``tpl`` with R at index ``c``, as offsets from R (samples).

    ``env``: spatial velocities to find the QRS onset / offset on (None: ``tpl``'s own
    slope). ``p_snr``: beat-to-beat stability of the P wave (None: not tested).
    """
    from scipy.signal import savgol_filter

    out = {name: np.nan for name in POINTS}
    out["r_peaks"] = 0.0
    n = tpl.size
    own = np.abs(savgol_filter(tpl, _odd(cfg.deriv_s * fs), 2, deriv=1))
    a = max(c - int(cfg.qrs_search_on_s * fs), 1)
    b = min(c + int(cfg.qrs_search_off_s * fs), n - 2)
    if b - a < 3:
        return out
    hold = max(int(cfg.qrs_hold_s * fs), 1)
    on_env, off_env = env
    qon = _qrs_bound(own, c, a, b, -1, cfg.qrs_on_frac, hold, fs, cfg)
    qoff = _qrs_bound(own, c, a, b, 1, cfg.qrs_off_frac, hold, fs, cfg)
    if on_env is not None:
        qon = _blend(_qrs_bound(on_env, c, a, b, -1, cfg.qrs_on_frac_multi, hold, fs, cfg), qon, cfg.qrs_multi_weight)
    if off_env is not None:
        qoff = _blend(_qrs_bound(off_env, c, a, b, 1, cfg.qrs_off_frac_multi, hold, fs, cfg), qoff,
                      cfg.qrs_multi_weight)
    if qon is None or qoff is None:
        return out
    iso = float(np.median(tpl[max(qon - int(cfg.iso_s * fs), 0): qon + 1]))
    w = _odd(cfg.t_smooth_s * fs)
    t = _t_wave(savgol_filter(tpl, w, 2), savgol_filter(tpl, w, 2, deriv=1), c, qon, qoff, iso, fs, rr_s, cfg)
    ps = max(qon - int(cfg.p_start_s * fs), 1)
    if np.isfinite(t["t_off"]):  # the previous beat's T offset, one RR earlier
        ps = max(ps, int(t["t_off"] - rr_s * fs + 0.02 * fs))
    w = _odd(cfg.p_smooth_s * fs)
    p = _p_wave(savgol_filter(tpl, w, 2), savgol_filter(tpl, w, 2, deriv=1), qon, ps, iso, fs, p_snr, cfg)
    out.update({"qrs_on": float(qon), "qrs_off": float(qoff), **t, **p})
    return {k: v - c if k != "r_peaks" else v for k, v in out.items()}


@dataclass(frozen=True)
class _Template:
    """The median beat of a group of beats."""

    r: np.ndarray           # R peaks of the group after alignment (int samples)
    rr_s: float             # median RR (s)
    a: int                  # samples before R in ``tpl``
    b: int                  # samples after R
    tpl: np.ndarray         # median beat, shape (a + b,), R at index a
    env: tuple              # spatial velocities (onset, offset) or (None, None)
    members: np.ndarray     # bool (beats of the group,): the beats that share the median beat


def _build_template(clean: np.ndarray, r: np.ndarray, fs: float, rr_s: float, cfg: TemplateConfig,
                    onset_leads: np.ndarray | None = None,
                    offset_leads: np.ndarray | None = None) -> _Template | None:
    """Median beat of the beats ``r`` whose QRS correlates with the median QRS (>= ``min_corr``).

    ``onset_leads`` / ``offset_leads`` (leads, samples): other leads, cleaned like ``clean``;
    their median beats join ``clean``'s in the spatial velocity that QRS onset / offset are
    found on.
    """
    from scipy.signal import savgol_filter

    r = _align(clean, r, fs, cfg)
    a = int(min(cfg.pre_s, cfg.pre_rr * rr_s) * fs)
    b = int(min(cfg.post_s, cfg.post_rr * rr_s) * fs)
    rows, fits = _segments(clean, r, a, b)
    if fits.sum() == 0:
        return None
    h = int(cfg.qrs_half_s * fs)
    qrs = rows[:, a - h: a + h + 1]
    typical = _corr_rows(qrs, np.median(qrs, axis=0)) >= cfg.min_corr
    if typical.sum() < max(2, 0.3 * fits.sum()):
        typical[:] = True
    tpl = np.median(rows[typical], axis=0)
    members = np.zeros(r.size, dtype=bool)
    members[np.flatnonzero(fits)[typical]] = True
    for k in np.flatnonzero(~fits):  # beats too near the ends for a full window join when their QRS matches
        seg, ok = _segments(clean, r[k: k + 1], h, h + 1)
        if ok.all() and _corr_rows(seg, tpl[a - h: a + h + 1])[0] >= cfg.min_corr:
            members[k] = True
    w = _odd(cfg.deriv_s * fs)
    own = savgol_filter(tpl, w, 2, deriv=1) ** 2
    used = r[fits][typical]

    def velocity(leads: np.ndarray | None) -> np.ndarray | None:
        if leads is None or not len(leads):
            return None
        sq = own.copy()
        for lead in leads:
            lrows, _ = _segments(np.asarray(lead, dtype=np.float64), used, a, b)
            sq += savgol_filter(np.median(lrows, axis=0), w, 2, deriv=1) ** 2
        return np.sqrt(sq)

    return _Template(r=r, rr_s=rr_s, a=a, b=b, tpl=tpl, env=(velocity(onset_leads), velocity(offset_leads)),
                     members=members)


def _p_snr(x: np.ndarray, r: np.ndarray, qon: float, fs: float, cfg: TemplateConfig) -> float:
    """Power of the median beat over the P-wave window, over the mean beat-to-beat residual power there.

    ``qon``: QRS onset as an offset from R (samples, negative).
    """
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


def _groups(r: np.ndarray, fs: float) -> list[np.ndarray]:
    """Indices of the R peaks in consecutive windows of about 10 s (at least 3 beats each)."""
    win = np.floor(r / (_TEMPLATE_WINDOW_S * fs)).astype(int)
    groups = [np.flatnonzero(win == w) for w in np.unique(win)]
    merged: list[np.ndarray] = []
    for g in groups:
        if merged and (g.size < 3 or merged[-1].size < 3):
            merged[-1] = np.concatenate([merged[-1], g])
        else:
            merged.append(g)
    return merged


def _delineate_l2g(clean: np.ndarray, r: np.ndarray, fs: float, cfg: TemplateConfig | None = None,
                   onset_leads: np.ndarray | None = None,
                   offset_leads: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Median-beat delineation (see the module docstring); per-beat arrays aligned to ``r``."""
    cfg = _DEFAULT_CONFIG if cfg is None else cfg
    out = {name: np.full(r.size, np.nan) for name in POINTS}
    out["r_peaks"] = r.astype(np.float64)
    rr = np.diff(r) / fs
    for idx in _groups(r, fs):
        rr_g = rr[idx[:-1]] if idx.size > 1 else rr
        rr_s = float(np.median(rr_g)) if rr_g.size else float(np.median(rr))
        t = _build_template(clean, r[idx], fs, rr_s, cfg, onset_leads, offset_leads)
        if t is None:
            continue
        out["r_peaks"][idx] = t.r
        pts = _beat_points(t.tpl, t.a, fs, t.rr_s, cfg, None, t.env)
        snr = _p_snr(clean, t.r[t.members], pts["qrs_on"], fs, cfg)
        pts = _beat_points(t.tpl, t.a, fs, t.rr_s, cfg, snr if np.isfinite(snr) else None, t.env)
        for name in POINTS:
            if name != "r_peaks":
                out[name][idx] = np.where(t.members, t.r + pts[name], np.nan)
        # beats unlike the median beat (ectopics, artefacts): on their own, without a P wave
        for j in np.flatnonzero(~t.members):
            seg, ok = _segments(clean, t.r[j: j + 1], t.a, t.b)
            if ok.all():
                own = _beat_points(seg[0], t.a, fs, t.rr_s, cfg, p_snr=0.0)
                for name in POINTS:
                    if name != "r_peaks":
                        out[name][idx[j]] = t.r[j] + own[name]
    for name in POINTS:
        v = out[name]
        v[~((v >= 0) & (v <= clean.size - 1))] = np.nan
    return out
