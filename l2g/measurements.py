"""Whole-ECG measurements: heart rate, global PR / QRS / QT / QTc, frontal axes and ST at J + 60 ms.

What a cart prints above its 12-lead page, measured here from the *recorded* leads of a
:class:`~l2g.record.Record`, so that it can stand beside the cart's own numbers
(:func:`beside_cart`). Generated leads never time a global interval or an axis; they get
their ST level, with their band where the record carries one.

Pipeline (:func:`ecg_measurements`)::

    each recorded lead  ->  delineate alone ("l2g" median beat)  ->  beats matched to a reference lead
        ->  global fiducials per beat (earliest onset / latest offset across leads)
        ->  intervals (median over beats), axes (net areas of the limb leads), ST at J + 60 ms per lead

Global boundaries
-----------------
Each recorded lead is delineated on its own (:func:`l2g.morphology.delineate_record`,
``context=False``; the ``"l2g"`` method is itself a median-beat delineator, so each lead's
points sit at the same offsets from R in every beat of its median beat). A beat's global P
and QRS onsets are the *earliest* of the leads' onsets and its global QRS and T offsets the
*latest* of their offsets: the CSE convention for global wave boundaries measured on
simultaneous leads (Willems et al. 1985; the CSE Working Party 1985), which IEC 60601-2-25
also uses for the global durations it tests carts against. One lead whose boundary is badly
placed would move a plain minimum or maximum, so with :data:`ROBUST_FROM` or more leads the
second earliest / second latest is taken (one outlier dropped). Near-flat and noisy leads
(below) take no part when other leads remain.

Per beat PR = QRS onset - P onset, QRS = QRS offset - QRS onset, QT = T offset - QRS onset;
beats outside :data:`l2g.morphology.PLAUSIBLE_MS` are dropped; the record's value is the
median over beats. Heart rate = 60 / median RR of the reference lead (Lead II, or the first
recorded lead, among those with the beat count most leads agree on). QTc from the median QT and median RR (s): Bazett
QT / sqrt(RR) and Fridericia QT / RR ** (1/3), both shown.

Frontal axes
------------
From the net areas (mV s, relative to the isoelectric level) of leads I and II over each
wave, median over beats; with Einthoven's triangle, the hexaxial direction of the mean
vector is ``atan2((2 II - I) / sqrt(3), I)`` (= ``atan2(2 aVF / sqrt(3), I)``), in degrees,
-180 to 180. P: P onset to P offset (level: the 20 ms before P onset); QRS: QRS onset to
offset; T: QRS offset (J) to T offset (the ST-T area), both against the PR-segment level.
Leads I and II come from any two recorded limb leads (:func:`l2g.leads.complete_limb_leads`,
exact): with fewer than two the axes are "—". An axis whose mean vector is below
:data:`MIN_VECTOR_MV` (an equiphasic complex, a tiny P) is marked unreliable.

ST level
--------
:func:`beat_measures` at J + 60 ms (J = the global QRS offset), relative to the mean of
the 30 ms that end 10 ms before the global QRS onset, median over beats, on the unfiltered
trace (mV). Generated leads also give the half-width of their band at that instant (median
over beats).

Reliability
-----------
A lead is *near-flat* when its median QRS peak-to-peak is below :data:`FLAT_QRS_MV`, and
*noisy* when its ST level varies from beat to beat by more than :data:`NOISY_ST_MV` (robust
SD: 1.4826 x the median absolute deviation). A value read from such a lead is marked
``(unreliable: flat lead)`` / ``(unreliable: noisy lead)``, never shown as a number alone;
"—" where a value does not exist.

References
----------
Willems JL, et al. "Recommendations for measurement standards in quantitative
electrocardiography." The CSE Working Party. Eur Heart J 6:815-825 (1985).
IEC 60601-2-25:2011, clause 201.12.4.4 (global interval measurements of electrocardiographs).
Bazett HC. Heart 7:353-370 (1920). Fridericia LS. Acta Med Scand 53:469-486 (1920).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .leads import LEADS, LIMB_LEADS, complete_limb_leads, limb_basis
from .record import ABSENT, GENERATED, Metadata, Record

if TYPE_CHECKING:
    import pandas as pd

    from .morphology import Delineation

__all__ = [
    "ST_AFTER_J_S",
    "FLAT_QRS_MV",
    "NOISY_ST_MV",
    "MIN_VECTOR_MV",
    "ROBUST_FROM",
    "beat_measures",
    "qrs_fiducials",
    "global_fiducials",
    "ecg_measurements",
    "beside_cart",
]

#: The ST level is read this many seconds after the J point (global QRS offset).
ST_AFTER_J_S = 0.06
#: A lead whose median QRS peak-to-peak (mV) is below this is near-flat.
FLAT_QRS_MV = 0.1
#: A lead whose ST level varies from beat to beat by more than this (robust SD, mV) is noisy.
NOISY_ST_MV = 0.05
#: An axis whose mean frontal vector (mV, net area / wave duration) is below this is unreliable.
MIN_VECTOR_MV = 0.02
#: With this many leads or more, a global boundary drops the one most extreme lead.
ROBUST_FROM = 4
#: A lead's beat is the reference beat when their R peaks are at most this far apart (s).
MATCH_S = 0.08

_DASH = "—"


# ------------------------------------------------------------------ per-beat measures on given fiducials
def qrs_fiducials(lead: np.ndarray, fs: float, max_beats: int = 20) -> np.ndarray:
    """R peak, QRS onset and QRS offset (samples) of the first beats of one lead, for :func:`beat_measures`.

    Parameters
    ----------
    lead : ndarray, shape (n,)
        One lead (mV), typically the real lead II, baseline removed.
    fs : float
        Sampling rate, Hz.
    max_beats : int
        Beats kept.

    Returns
    -------
    ndarray, shape (3, max_beats)
        Rows R / QRS onset / QRS offset (samples, float), NaN past the last beat or where the
        lead cannot be delineated (:func:`l2g.morphology.delineate` raised ``ValueError``).

    Examples
    --------
    >>> qrs_fiducials(np.zeros(1000), 100.0).shape
    (3, 20)
    """
    from .morphology import delineate

    out = np.full((3, max_beats), np.nan)
    try:
        d = delineate(np.asarray(lead, np.float64), fs)
    except ValueError:
        return out
    nb = min(max_beats, len(d.r_peaks))
    out[0, :nb], out[1, :nb], out[2, :nb] = d.r_peaks[:nb], d.qrs_on[:nb], d.qrs_off[:nb]
    return out


def beat_measures(x: np.ndarray, fs: float, r_peaks: np.ndarray, qrs_on: np.ndarray, qrs_off: np.ndarray,
                  st_after_j_s: float = ST_AFTER_J_S) -> tuple[np.ndarray, np.ndarray]:
    """QRS peak-to-peak and ST level at J + 60 ms per lead, median over beats, on given fiducials.

    The same fiducials (from the real record) time the real and the generated
    leads, so the two are measured at the same instants. Per beat: the QRS
    peak-to-peak between ``qrs_on`` and ``qrs_off`` (or R ± 60 ms where they
    are missing); the ST level is the value at ``qrs_off + st_after_j_s`` minus
    the isoelectric level (mean of the 30 ms before ``qrs_on`` − 10 ms).

    Parameters
    ----------
    x : ndarray, shape (leads, samples)
        mV at ``fs``.
    fs : float
        Hz.
    r_peaks, qrs_on, qrs_off : ndarray, shape (beats,)
        Sample indices (float, NaN where unknown).
    st_after_j_s : float
        Seconds after the J point (QRS offset).

    Returns
    -------
    qrs_ptp, st_level : ndarray, shape (leads,)
        mV; NaN where no beat could be measured.

    Examples
    --------
    >>> x = np.zeros((1, 400)); x[0, 104] = 1.0; x[0, 110:160] = 0.1
    >>> ptp, st = beat_measures(x, 100.0, np.array([105.]), np.array([100.]), np.array([109.]))
    >>> float(ptp[0]), round(float(st[0]), 3)
    (1.0, 0.1)
    """
    x = np.asarray(x, np.float64)
    n = x.shape[-1]
    ptp_b, st_b = [], []
    for r, on, off in zip(r_peaks, qrs_on, qrs_off, strict=True):
        if not np.isfinite(r):
            continue
        a = int(round(on)) if np.isfinite(on) else int(round(r - 0.06 * fs))
        b = int(round(off)) if np.isfinite(off) else int(round(r + 0.06 * fs))
        if a < 0 or b >= n or b <= a:
            continue
        seg = x[:, a : b + 1]
        ptp_b.append(seg.max(axis=1) - seg.min(axis=1))
        j = int(round(b + st_after_j_s * fs))
        i0, i1 = int(round(a - 0.04 * fs)), int(round(a - 0.01 * fs))
        if np.isfinite(off) and np.isfinite(on) and i0 >= 0 and j < n and i1 > i0:
            st_b.append(x[:, j] - x[:, i0:i1].mean(axis=1))
    nan = np.full(x.shape[0], np.nan)
    ptp = np.median(ptp_b, axis=0) if ptp_b else nan
    st = np.median(st_b, axis=0) if st_b else nan
    return ptp, st


# ------------------------------------------------------------------ global fiducials
def _matched(d: Delineation, ref_r: np.ndarray, name: str, tol: float) -> np.ndarray:
    """``name`` points of ``d`` at the reference beats (NaN where no beat of ``d`` lies within ``tol`` samples)."""
    out = np.full(ref_r.size, np.nan)
    if d.n_beats == 0 or ref_r.size == 0:
        return out
    gap = np.abs(d.r_peaks[None, :] - ref_r[:, None])  # (reference beats, beats of d)
    j = np.argmin(gap, axis=1)
    ok = gap[np.arange(ref_r.size), j] <= tol
    out[ok] = getattr(d, name)[j[ok]]
    return out


def _extreme(values: np.ndarray, latest: bool, robust: bool = True) -> np.ndarray:
    """Per column of ``values`` (leads, beats): the earliest (or latest) finite value, the second one
    from :data:`ROBUST_FROM` finite values on; NaN where none."""
    v = np.sort(np.where(np.isfinite(values), values if not latest else -values, np.inf), axis=0)
    n = np.isfinite(values).sum(axis=0)
    rank = ((n >= ROBUST_FROM) & robust).astype(int)
    pick = v[rank, np.arange(v.shape[1])] if v.size else np.full(values.shape[1], np.inf)
    pick = np.where(n > 0, pick, np.nan)
    return -pick if latest else pick


def global_fiducials(delineations: dict[str, Delineation], reference: str,
                     robust: bool = True) -> dict[str, np.ndarray]:
    """Global wave boundaries per beat from several simultaneous leads' delineations.

    Parameters
    ----------
    delineations : dict of str to Delineation
        One per lead, all of the same record (sample indices at the same rate).
    reference : str
        The key whose beats (R peaks) are the beats of the result.
    robust : bool
        False: always the plain earliest / latest (as for cardiologists' annotations).

    Returns
    -------
    dict of str to ndarray, each shape (beats,)
        ``r_peaks`` (the reference's), ``p_on`` and ``qrs_on`` (earliest over the leads),
        ``p_off``, ``qrs_off`` and ``t_off`` (latest), as sample indices, NaN where no lead
        found the point; with ``robust`` and :data:`ROBUST_FROM` or more leads holding a point, the second
        earliest / latest. A lead's beat counts for a reference beat when their R peaks are at
        most :data:`MATCH_S` apart.

    Raises
    ------
    KeyError
        When ``reference`` is not a key of ``delineations``.
    """
    ref = delineations[reference]
    tol = MATCH_S * ref.fs
    out = {"r_peaks": np.array(ref.r_peaks, dtype=np.float64)}
    for name, latest in (("p_on", False), ("qrs_on", False), ("p_off", True), ("qrs_off", True), ("t_off", True)):
        rows = np.array([_matched(d, ref.r_peaks, name, tol) for d in delineations.values()]).reshape(
            len(delineations), ref.n_beats)
        out[name] = _extreme(rows, latest, robust)
    return out


# ------------------------------------------------------------------ helpers
def _median(v: np.ndarray) -> float:
    v = np.asarray(v, np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def _plausible_median(values_ms: np.ndarray, key: str) -> float:
    from .morphology import PLAUSIBLE_MS

    lo, hi = PLAUSIBLE_MS[key]
    v = np.asarray(values_ms, np.float64)
    return _median(v[(v >= lo) & (v <= hi)])


def _mean_between(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Mean of ``x[:, a:b]`` (rows); NaN when the stretch is empty or outside the trace."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return np.full(x.shape[0], np.nan)
    i0, i1 = int(round(a)), int(round(b))
    if i0 < 0 or i1 > x.shape[1] or i1 <= i0:
        return np.full(x.shape[0], np.nan)
    return x[:, i0:i1].mean(axis=1)


def _axis(areas: np.ndarray) -> tuple[float, float]:
    """(axis in degrees, vector length) of net areas ``(I, II)`` in the hexaxial frame."""
    lead_i, lead_ii = float(areas[0]), float(areas[1])
    y = (2.0 * lead_ii - lead_i) / math.sqrt(3.0)
    return math.degrees(math.atan2(y, lead_i)), math.hypot(lead_i, y)


def _wave_axes(limb: np.ndarray, fs: float, fid: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """``{"p"|"qrs"|"t": (axis deg, mean vector mV)}`` from leads I and II (rows of ``limb``); NaN where none."""
    spans = {"p": ("p_on", "p_off"), "qrs": ("qrs_on", "qrs_off"), "t": ("qrs_off", "t_off")}
    out = {}
    for wave, (start, stop) in spans.items():
        areas, lengths = [], []
        for k in range(fid["r_peaks"].size):
            a, b, on = fid[start][k], fid[stop][k], fid["qrs_on"][k]
            level_at = (a - 0.02 * fs, a) if wave == "p" else (on - 0.04 * fs, on - 0.01 * fs)
            level = _mean_between(limb, *level_at)
            wave_mean = _mean_between(limb, a, b + 1)
            if np.isfinite(level).all() and np.isfinite(wave_mean).all():
                areas.append((wave_mean - level) * (b + 1 - a) / fs)
                lengths.append((b + 1 - a) / fs)
        if not areas:
            out[wave] = (float("nan"), float("nan"))
            continue
        deg, size = _axis(np.median(np.array(areas), axis=0))
        out[wave] = (deg, size / float(np.median(lengths)))
    return out


def _st_per_beat(x: np.ndarray, fs: float, fid: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """QRS peak-to-peak and ST level per lead and beat, shape (leads, beats), from :func:`beat_measures`."""
    cols = [beat_measures(x, fs, fid["r_peaks"][k:k + 1], fid["qrs_on"][k:k + 1], fid["qrs_off"][k:k + 1])
            for k in range(fid["r_peaks"].size)]
    if not cols:
        nan = np.full((x.shape[0], 0), np.nan)
        return nan, nan
    return np.array([c[0] for c in cols]).T, np.array([c[1] for c in cols]).T


def _quality(ptp: np.ndarray, st: np.ndarray) -> list[str]:
    """Per lead: ``""``, ``"flat lead"`` or ``"noisy lead"`` (see the module docstring)."""
    notes = []
    for p, s in zip(ptp, st, strict=True):
        s = s[np.isfinite(s)]
        spread = 1.4826 * float(np.median(np.abs(s - np.median(s)))) if s.size >= 3 else 0.0
        if not np.isfinite(_median(p)) or _median(p) < FLAT_QRS_MV:
            notes.append("flat lead")
        elif spread > NOISY_ST_MV:
            notes.append("noisy lead")
        else:
            notes.append("")
    return notes


def _text(value: float, fmt: str, band: float = float("nan"), note: str = "") -> str:
    """``"0.12"``, ``"0.12 (±0.08)"``, ``"0.05 (unreliable: flat lead)"`` or "—"."""
    if not np.isfinite(value):
        return _DASH
    extra = [f"±{fmt.format(band)}"] if np.isfinite(band) else []
    extra += [f"unreliable: {note}"] if note else []
    return fmt.format(value) + (f" ({'; '.join(extra)})" if extra else "")


# ------------------------------------------------------------------ the table
_FORMATS = {"bpm": "{:.0f}", "ms": "{:.0f}", "°": "{:.0f}", "mV": "{:.2f}"}


def _row(label: str, key: str, value: float, unit: str, source: str, note: str = "",
         band: float = float("nan")) -> dict:
    value = float(value)
    note = note if np.isfinite(value) else ""
    return {"measurement": label, "key": key, "value": value, "band_mv": float(band), "unit": unit,
            "source": source, "reliable": not note, "note": note,
            "text": _text(value, _FORMATS[unit], band, note)}


def ecg_measurements(record: Record, *, delineations: dict[str, Delineation] | None = None) -> pd.DataFrame:
    """Heart rate, global PR / QRS / QT / QTc, P / QRS / T axes and ST at J + 60 ms per lead, as one table.

    Method, conventions and references: the module docstring.

    Parameters
    ----------
    record : Record
        Any rate; recorded leads time the global intervals and the axes; generated leads get
        their ST level (with the half-width of ``record.interval`` at J + 60 ms when there is
        a band).
    delineations : dict of str to Delineation, optional
        Recorded leads delineated earlier (``delineate_record(record, lead, context=False)``);
        the others are delineated here.

    Returns
    -------
    pandas.DataFrame
        Index ``measurement`` (row labels: ``"Heart rate"``, ``"PR"``, ``"QRS"``, ``"QT"``,
        ``"QTc Bazett"``, ``"QTc Fridericia"``, ``"P axis"``, ``"QRS axis"``, ``"T axis"``,
        then ``"ST J+60 ms <lead>"`` for the 12 leads). Columns: ``key``; ``value`` (float, NaN
        where it does not exist); ``band_mv`` (half-width of a generated lead's band, NaN
        otherwise); ``unit`` (``"bpm"``, ``"ms"``, ``"°"``, ``"mV"``); ``source`` (which leads);
        ``reliable`` (bool); ``note`` (why not reliable); ``text`` (the value as shown: ``"412"``,
        ``"0.12 (±0.08)"``, ``"0.05 (unreliable: flat lead)"``, ``"—"``).

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> t = ecg_measurements(demo_record())
    >>> t.loc["QRS axis", "unit"], t.loc["ST J+60 ms V2", "unit"]
    ('°', 'mV')
    """
    from .morphology import delineate_record

    rec = record.standardize()
    fs = rec.fs
    x = np.asarray(rec.signal, np.float64)
    recorded = list(rec.recorded_leads)
    given = {} if delineations is None else dict(delineations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dels = {lead: given.get(lead) or delineate_record(rec, lead, context=False) for lead in recorded}
    dels = {lead: d for lead, d in dels.items() if d.n_beats >= 2}
    rows_of = {lead: i for i, lead in enumerate(rec.leads)}
    nan = float("nan")

    fid, notes, used = None, {lead: "" for lead in LEADS}, []
    if dels:
        # the reference: a lead with the beat count most leads agree on (not one that took T waves
        # for R waves), Lead II first
        counts = [d.n_beats for d in dels.values()]
        usual = max(set(counts), key=lambda n: (counts.count(n), -n))
        order = sorted(dels, key=lambda lead: (dels[lead].n_beats != usual, lead != "II", LEADS.index(lead)))
        fid = global_fiducials(dels, order[0])
        ptp, st = _st_per_beat(x, fs, fid)
        q = _quality(ptp, st)
        notes.update({lead: q[rows_of[lead]] for lead in rec.present_leads})
        good = [lead for lead in order if not notes[lead]]
        if good and len(good) < len(dels):  # again without the near-flat and noisy leads
            fid = global_fiducials({lead: dels[lead] for lead in good}, good[0])
            ptp, st = _st_per_beat(x, fs, fid)
        used = good or list(dels)
    source = (f"global, {len(used)} recorded lead{'s' * (len(used) != 1)}" if used else "recorded leads")
    interval_note = "" if not used or any(not notes[lead] for lead in used) else "flat or noisy leads"

    # intervals
    ms = 1000.0 / fs
    if fid is not None:
        rr = np.diff(fid["r_peaks"]) * ms
        rr_ms = _plausible_median(rr, "rr")
        pr = _plausible_median((fid["qrs_on"] - fid["p_on"]) * ms, "pr")
        qrs = _plausible_median((fid["qrs_off"] - fid["qrs_on"]) * ms, "qrs")
        qt = _plausible_median((fid["t_off"] - fid["qrs_on"]) * ms, "qt")
    else:
        rr_ms = pr = qrs = qt = nan
    rr_s = rr_ms / 1000.0
    rows = [
        _row("Heart rate", "heart_rate_bpm", 60.0 / rr_s if rr_s > 0 else nan, "bpm", source, interval_note),
        _row("PR", "pr_ms", pr, "ms", source, interval_note),
        _row("QRS", "qrs_ms", qrs, "ms", source, interval_note),
        _row("QT", "qt_ms", qt, "ms", source, interval_note),
        _row("QTc Bazett", "qtc_bazett_ms", qt / math.sqrt(rr_s) if rr_s > 0 else nan, "ms", source, interval_note),
        _row("QTc Fridericia", "qtc_fridericia_ms", qt / rr_s ** (1 / 3) if rr_s > 0 else nan, "ms", source,
             interval_note),
    ]

    # frontal axes, from two recorded limb leads
    basis = limb_basis([lead for lead in LIMB_LEADS if lead in recorded])
    axes = {"p": (nan, nan), "qrs": (nan, nan), "t": (nan, nan)}
    axis_source = "needs two recorded limb leads"
    if basis is not None and fid is not None:
        limb = complete_limb_leads({lead: x[rows_of[lead]] for lead in basis})
        axes = _wave_axes(np.array([limb["I"], limb["II"]]), fs, fid)
        axis_source = f"limb leads {' and '.join(basis)}"
    noisy_limb = [lead for lead in basis or () if notes[lead] == "noisy lead"]
    for wave, label in (("p", "P"), ("qrs", "QRS"), ("t", "T")):
        deg, size = axes[wave]
        note = (f"noisy lead {noisy_limb[0]}" if noisy_limb
                else "small net vector" if np.isfinite(size) and size < MIN_VECTOR_MV else "")
        rows.append(_row(f"{label} axis", f"{wave}_axis_deg", deg, "°", axis_source, note))

    # ST at J + 60 ms, every lead
    st_med = np.array([_median(row) for row in st]) if fid is not None else np.full(len(rec.leads), nan)
    half = np.full(len(rec.leads), nan)
    if fid is not None and rec.interval is not None:
        low, high = (np.asarray(p, np.float64) for p in rec.interval)
        j = np.round(fid["qrs_off"] + ST_AFTER_J_S * fs)
        j = j[np.isfinite(j) & (j < rec.n_samples)].astype(int)
        if j.size:
            half = np.median(0.5 * (high[:, j] - low[:, j]), axis=1)
    for i, lead in enumerate(rec.leads):
        status = rec.status[i]
        if status == ABSENT:
            rows.append(_row(f"ST J+60 ms {lead}", f"st_{lead}", nan, "mV", ABSENT))
            continue
        band = half[i] if status == GENERATED else nan
        rows.append(_row(f"ST J+60 ms {lead}", f"st_{lead}", st_med[i], "mV", status, notes[lead], band))

    import pandas as pd

    return pd.DataFrame(rows).set_index("measurement")


def beside_cart(table: pd.DataFrame, meta: Metadata) -> pd.DataFrame:
    """The table of :func:`ecg_measurements` beside the cart's own measurements, as text.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`ecg_measurements`.
    meta : Metadata
        The opened file's metadata (:attr:`Metadata.measurements`, see
        :func:`l2g.morphology.cart_intervals`). The cart's QTc (formula not stated by most
        files) goes on the Bazett row; it measures no ST level here.

    Returns
    -------
    pandas.DataFrame
        Same index; string columns ``L2G-ECG`` (``table["text"]``), ``Cart`` and ``From``
        (``table["source"]``); "—" where a value does not exist, never None.

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()
    >>> t = beside_cart(ecg_measurements(rec), Metadata(measurements={"QRS_ms": 92.0, "QRS_axis_deg": 45.0}))
    >>> t.loc["QRS", "Cart"], t.loc["QRS axis", "Cart"], t.loc["PR", "Cart"]
    ('92', '45', '—')
    """
    from .morphology import cart_intervals

    cart = dict(cart_intervals(meta))
    if "qtc_ms" in cart:
        cart["qtc_bazett_ms"] = cart.pop("qtc_ms")
    for wave in ("P", "QRS", "T"):
        value = meta.measurements.get(f"{wave}_axis_deg")
        if value is not None:
            cart[f"{wave.lower()}_axis_deg"] = float(value)
    cart_text = [_text(cart.get(key, float("nan")), _FORMATS[unit]) for key, unit in zip(table["key"], table["unit"],
                                                                                         strict=True)]
    import pandas as pd

    return pd.DataFrame({"L2G-ECG": table["text"].astype(str), "Cart": cart_text,
                         "From": table["source"].astype(str)}, index=table.index)

