"""Agreement between real and generated leads.

The array functions take two arrays of the same shape ``(..., samples)`` in mV
and reduce the last axis. :func:`compare` is their Record-level wrapper and the
one place where a reconstruction is scored: it high-passes both records, picks
the generated leads that have a real trace, and returns one row per lead. Scores
are for *generated* leads only: a lead that was given to the generator is
reproduced exactly and would inflate every score.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .leads import LEADS
from .preprocess import HIGHPASS_HZ  # the high-pass applied to real and generated before scoring
from .record import ABSENT, RECORDED, Record

__all__ = [
    "mse",
    "rmse_uv",
    "pearson_r",
    "nmse",
    "ssim_1d",
    "jensen_shannon",
    "mutual_information",
    "spectral_coherence",
    "aup",
    "lead_agreement",
    "scored_leads",
    "compare",
    "SSIM_WINDOW_S",
    "HIGHPASS_HZ",
]

#: SSIM window (seconds): 100 ms covers a QRS complex.
SSIM_WINDOW_S = 0.1
_K1, _K2 = 0.01, 0.03  # SSIM constants as in Wang et al. (2004)


def _pair(real: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(real, np.float64)
    b = np.asarray(gen, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"real and generated shapes differ: {a.shape} vs {b.shape}")
    if a.shape[-1] < 2:
        raise ValueError(f"need at least 2 samples, got shape {a.shape}")
    return a, b


def mse(real: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Mean squared error in mV² over the last axis."""
    a, b = _pair(real, gen)
    return np.mean((a - b) ** 2, axis=-1)


def rmse_uv(real: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Root mean squared error in µV over the last axis."""
    return np.sqrt(mse(real, gen)) * 1000.0


def pearson_r(real: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Pearson correlation over the last axis; NaN where either trace is constant."""
    a, b = _pair(real, gen)
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    den = np.sqrt((a**2).sum(-1) * (b**2).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1.0), np.nan)


def nmse(real: np.ndarray, gen: np.ndarray, value_range: float | np.ndarray) -> np.ndarray:
    """MSE on a unit scale: the MSE divided by ``value_range``² (dimensionless).

    With ``value_range`` the peak-to-peak range (mV) of the whole real
    12-lead record, this is the MSE after min–max scaling the record to
    [0, 1] — the scale on which the paper's 10⁻⁵ MSE figures make sense.
    """
    r = np.asarray(value_range, np.float64)
    if np.any(r <= 0):
        raise ValueError(f"value_range must be positive, got {value_range!r}")
    return mse(real, gen) / r**2


def _moving_mean(x: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(np.pad(x, [(0, 0)] * (x.ndim - 1) + [(1, 0)]), axis=-1)
    return (c[..., w:] - c[..., :-w]) / w


def ssim_1d(real: np.ndarray, gen: np.ndarray, fs: float, window_s: float = SSIM_WINDOW_S) -> np.ndarray:
    """Structural similarity of 1-D signals, mean over sliding windows.

    SSIM (Wang et al., IEEE TIP 2004) computed on a uniform sliding window of
    ``window_s`` seconds (stride one sample), constants ``C1 = (0.01 L)²`` and
    ``C2 = (0.03 L)²`` where ``L`` is the peak-to-peak range of the *real*
    trace (per lead), and averaged over all windows. 1 for identical traces;
    in [-1, 1].

    Parameters
    ----------
    real, gen : ndarray, shape (..., samples)
        mV.
    fs : float
        Sampling rate in Hz.
    window_s : float
        Window length in seconds (default 0.1 s).

    Returns
    -------
    ndarray, shape (...)
    """
    a, b = _pair(real, gen)
    w = max(2, int(round(window_s * fs)))
    if a.shape[-1] < w:
        raise ValueError(f"signal of {a.shape[-1]} samples is shorter than the SSIM window ({w})")
    span = np.ptp(a, axis=-1, keepdims=True)
    span = np.where(span > 0, span, 1.0)
    c1, c2 = (_K1 * span) ** 2, (_K2 * span) ** 2
    ma, mb = _moving_mean(a, w), _moving_mean(b, w)
    va = np.maximum(_moving_mean(a * a, w) - ma**2, 0.0)
    vb = np.maximum(_moving_mean(b * b, w) - mb**2, 0.0)
    cov = _moving_mean(a * b, w) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return s.mean(-1)


def _hist_edges(a: np.ndarray, b: np.ndarray, bins: int) -> np.ndarray:
    lo = min(float(np.percentile(a, 0.5)), float(np.percentile(b, 0.5)))
    hi = max(float(np.percentile(a, 99.5)), float(np.percentile(b, 99.5)))
    if hi <= lo:
        hi = lo + 1e-6
    return np.linspace(lo, hi, bins + 1)


def jensen_shannon(real: np.ndarray, gen: np.ndarray, bins: int = 64) -> np.ndarray:
    """Jensen–Shannon divergence (bits, in [0, 1]) between the amplitude distributions.

    Histograms of the two traces over common bins spanning the 0.5–99.5th
    percentiles of both (values outside are clipped into the end bins). 0 when
    the generated lead has the same amplitude distribution as the real one.
    """
    a, b = _pair(real, gen)
    flat_a, flat_b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    out = np.empty(flat_a.shape[0])
    for i, (x, y) in enumerate(zip(flat_a, flat_b, strict=True)):
        edges = _hist_edges(x, y, bins)
        p = np.histogram(np.clip(x, edges[0], edges[-1]), edges)[0].astype(float)
        q = np.histogram(np.clip(y, edges[0], edges[-1]), edges)[0].astype(float)
        p, q = p / p.sum(), q / q.sum()
        m = (p + q) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl_p = np.nansum(np.where(p > 0, p * np.log2(p / m), 0.0))
            kl_q = np.nansum(np.where(q > 0, q * np.log2(q / m), 0.0))
        out[i] = 0.5 * (kl_p + kl_q)
    return out.reshape(a.shape[:-1])


def mutual_information(real: np.ndarray, gen: np.ndarray, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Mutual information between real and generated samples, and its normalised form.

    Plug-in estimate from a ``bins`` × ``bins`` joint histogram of the paired
    samples (bits). The normalised value divides by the entropy of the real
    trace's histogram: 1 when the generated trace determines the real one,
    0 when independent.

    Returns
    -------
    mi_bits, nmi : ndarray, shape (...)
    """
    a, b = _pair(real, gen)
    flat_a, flat_b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    mi = np.empty(flat_a.shape[0])
    nmi = np.empty(flat_a.shape[0])
    for i, (x, y) in enumerate(zip(flat_a, flat_b, strict=True)):
        ex = _hist_edges(x, x, bins)
        ey = _hist_edges(y, y, bins)
        joint = np.histogram2d(np.clip(x, ex[0], ex[-1]), np.clip(y, ey[0], ey[-1]), [ex, ey])[0]
        pxy = joint / joint.sum()
        px, py = pxy.sum(1), pxy.sum(0)
        nz = pxy > 0
        mi[i] = float((pxy[nz] * np.log2(pxy[nz] / (px[:, None] * py[None, :])[nz])).sum())
        hx = float(-(px[px > 0] * np.log2(px[px > 0])).sum())
        nmi[i] = mi[i] / hx if hx > 0 else np.nan
    return mi.reshape(a.shape[:-1]), nmi.reshape(a.shape[:-1])


def spectral_coherence(real: np.ndarray, gen: np.ndarray, fs: float, band_hz: tuple[float, float] = (0.5, 40.0),
                       segment_s: float = 2.0) -> np.ndarray:
    """Mean magnitude-squared coherence in ``band_hz`` (Welch, ``segment_s`` segments, 50 % overlap).

    1 when the generated lead is a linear-filtered copy of the real one over
    the ECG band; insensitive to amplitude, sensitive to phase and morphology.
    """
    from scipy.signal import coherence

    a, b = _pair(real, gen)
    nper = min(a.shape[-1], max(16, int(round(segment_s * fs))))
    f, c = coherence(a, b, fs=fs, nperseg=nper, axis=-1)
    sel = (f >= band_hz[0]) & (f <= band_hz[1])
    if not sel.any():
        raise ValueError(f"no frequency bin in {band_hz} Hz for fs={fs} and {a.shape[-1]} samples")
    return np.nan_to_num(c[..., sel], nan=0.0).mean(-1)


def aup(profile: np.ndarray) -> float:
    """Area under a per-lead profile, normalised by its span (our AUP).

    The profile is a metric (SSIM for AUP_S, normalised MSE for AUP_M) for
    each of the 12 leads in canonical order, with the *available* leads
    counted as perfectly reproduced (SSIM 1, MSE 0) — the paper reports 12-lead
    generation. The area is the trapezoidal integral over lead positions
    1…12 divided by 11, so it is in the metric's own units (a constant profile
    c has AUP c).
    """
    p = np.asarray(profile, np.float64)
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"profile must be 1-D with at least two leads, got shape {p.shape}")
    return float(np.trapezoid(p) / (p.size - 1))


def lead_agreement(real: np.ndarray, gen: np.ndarray, fs: float | None = None) -> dict[str, np.ndarray]:
    """Per-lead agreement of ``(leads, samples)`` arrays in mV.

    Always ``mse`` (mV²), ``rmse_uv`` (µV) and ``r``; with ``fs`` also
    ``ssim`` (:func:`ssim_1d`).
    """
    out = {"mse": mse(real, gen), "rmse_uv": rmse_uv(real, gen), "r": pearson_r(real, gen)}
    if fs is not None:
        out["ssim"] = ssim_1d(real, gen, fs)
    return out


def scored_leads(real: Record, generated: Record, available: Iterable[str]) -> tuple[str, ...]:
    """The leads :func:`compare` scores: not given to the generator, present in ``generated``, recorded in ``real``.

    Canonical order. A lead the file did not record (absent, or generated by an
    earlier tool) has no ground truth and is left out.

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()
    >>> scored_leads(rec.mask(["I", "II", "V3"]), rec, ["I", "II"])
    ('V3',)
    """
    given = set(available)
    return tuple(lead for lead in LEADS if lead not in given and real.status_of(lead) == RECORDED
                 and generated.status_of(lead) != ABSENT)


def compare(real: Record, generated: Record, available: Iterable[str], *, highpass_hz: float | None = HIGHPASS_HZ,
            extended: bool = False) -> pd.DataFrame:
    """Score the generated leads of a reconstruction against the real record.

    Both records are high-passed at ``highpass_hz`` (:func:`l2g.preprocess.remove_baseline`,
    applied alike to every lead), then every lead of :func:`scored_leads` is
    compared sample by sample. This is the scoring of ``l2g evaluate``, of the
    dashboard's agreement table and of the benchmarks.

    Parameters
    ----------
    real : Record
        The recording, mV.
    generated : Record
        Its reconstruction: same ``fs`` and length (e.g. ``l2g.reconstruct(real, available)``).
    available : iterable of str
        The leads that were given to the generator; they are not scored.
    highpass_hz : float or None
        High-pass cut-off (Hz) applied to both before scoring; None when both are
        already filtered alike.
    extended : bool
        Also the information metrics of the study: ``nmse`` (MSE over the squared
        peak-to-peak range of the whole filtered real record), ``jsd`` (bits),
        ``mi`` (bits), ``nmi`` and ``coherence``.

    Returns
    -------
    DataFrame
        One row per scored lead (canonical order), columns ``lead``, ``mse`` (mV²),
        ``rmse_uv`` (µV), ``r`` and ``ssim`` (100-ms windows); with ``extended``,
        ``nmse`` after ``mse`` and ``jsd, mi, nmi, coherence`` at the end (the study's
        order). Empty (same columns) when no lead can be scored.

    Raises
    ------
    ValueError
        When the two records differ in sampling rate or length.

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()
    >>> table = compare(rec, rec, ["I", "II"])
    >>> list(table.columns), len(table)
    (['lead', 'mse', 'rmse_uv', 'r', 'ssim'], 10)
    >>> bool((table["r"] > 0.999).all())
    True
    """
    if real.fs != generated.fs or real.n_samples != generated.n_samples:
        raise ValueError(f"compare: {real.name}: real and generated differ in fs or length "
                         f"({real.fs:g} Hz x {real.n_samples} vs {generated.fs:g} Hz x {generated.n_samples})")
    columns = ["lead", "mse", "nmse", "rmse_uv", "r", "ssim", "jsd", "mi", "nmi", "coherence"] if extended else \
        ["lead", "mse", "rmse_uv", "r", "ssim"]
    leads = scored_leads(real, generated, available)
    if not leads:
        return pd.DataFrame(columns=columns)
    if highpass_hz is not None:
        from .preprocess import remove_baseline

        real, generated = remove_baseline(real, highpass_hz), remove_baseline(generated, highpass_hz)
    a = np.stack([real.lead(lead) for lead in leads])
    b = np.stack([generated.lead(lead) for lead in leads])
    table = pd.DataFrame({"lead": list(leads), **lead_agreement(a, b, fs=real.fs)})
    if extended:
        span = float(np.ptp(real.signal))
        table["nmse"] = nmse(a, b, span if span > 0 else 1.0)
        table["jsd"] = jensen_shannon(a, b)
        table["mi"], table["nmi"] = mutual_information(a, b)
        table["coherence"] = spectral_coherence(a, b, real.fs)
    return table[columns]
