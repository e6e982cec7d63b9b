"""Resampling, filtering and windowing of :class:`~l2g.record.Record` objects.

Every function here takes a Record and returns a new one: the input is never
changed, every lead keeps its status (recorded / generated / absent), absent
rows stay all NaN, and the metadata travels unchanged. Only the present rows
are filtered, in float64, and stored back as float32 mV.

The default chain, :func:`preprocess`, is::

    resample to 500 Hz  ->  band-limit 0.5-100 Hz  ->  notch 50 Hz

Resampling comes **first** so that the filters are always designed at the
model rate. That way one record at 128 Hz and one at 1000 Hz get exactly the
same filters, and the band edges never sit above the Nyquist frequency of a
low-rate input (a 100 Hz low-pass is impossible at 128 Hz, but harmless once
the record is at 500 Hz, where the polyphase anti-aliasing filter has already
removed everything above 64 Hz).

Filters are zero-phase (forward-backward), so they do not shift the P, QRS and
T waves in time. The AHA recommendations (Kligfield et al., Circulation 2007)
allow a high-pass cut-off up to 0.67 Hz for zero-phase filters without
distorting the ST segment; 0.5 Hz stays below that.

Short records
-------------
Forward-backward filtering pads the signal at both ends. The padding is one
period of the filter's slowest feature (the 0.5 Hz cut-off gives 2 s, a 50 Hz
notch with quality 30 gives 0.6 s). It is shortened to ``n_samples - 1`` when
the record is shorter. Any record of at least one sample can be filtered
without error, but on records shorter than a few seconds the output is
dominated by edge transients.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from .record import ABSENT, Record

__all__ = [
    "PreprocessConfig",
    "resample",
    "remove_baseline",
    "notch",
    "bandlimit",
    "preprocess",
    "sliding_windows",
]

# Butterworth order per pass. Forward-backward filtering squares the magnitude
# response, so the effective order is twice this.
_BUTTER_ORDER = 4
# Largest denominator tried for the up/down ratio of polyphase resampling.
_MAX_DENOMINATOR = 1000
# Largest relative error accepted between up/down and fs_out/fs.
_MAX_RATIO_ERROR = 1e-4


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of :func:`preprocess`. All frequencies are in Hz.

    Attributes
    ----------
    fs : float or None
        Target sampling rate (display and export cleaning; the model uses
        its own rate, ``l2g.dataset.DataConfig.fs``). Every record is resampled to it first. ``None``
        keeps each record's own rate (the filters are then designed per
        record, and must fit below its Nyquist frequency).
    highpass_hz : float or None
        Cut-off of the zero-phase Butterworth high-pass that removes baseline
        wander (breathing, electrode movement: mostly below 0.5 Hz). ``None``
        skips it.
    lowpass_hz : float or None
        Cut-off of the zero-phase Butterworth low-pass that limits the band
        (muscle noise). 100 Hz keeps the QRS complex, most of whose energy
        lies below 40 Hz (diagnostic standards ask for 150 Hz; set it when
        the model rate allows). ``None`` skips it.
    notch_hz : float or None
        Mains frequency removed by a notch filter. The default is 50 Hz, which
        covers the data from China, Germany and Russia. Use 60 Hz for
        North-American records such as Georgia (G12EC). ``None`` skips it.
    notch_quality : float
        Quality factor Q of the notch. The -3 dB width is ``notch_hz / Q``
        (1.7 Hz at 50 Hz with Q = 30).
    filter_order : int
        Butterworth order per pass. The response is applied forward and
        backward, so the effective order is twice this (8 by default: the
        stop band falls by 48 dB per octave).

    Raises
    ------
    ValueError
        When a frequency is not positive, the high-pass cut-off is not below
        the low-pass cut-off, or a frequency is at or above ``fs / 2``.
    """

    fs: float | None = 500.0
    highpass_hz: float | None = 0.5
    lowpass_hz: float | None = 100.0
    notch_hz: float | None = 50.0
    notch_quality: float = 30.0
    filter_order: int = _BUTTER_ORDER

    def __post_init__(self) -> None:
        for name in ("fs", "highpass_hz", "lowpass_hz", "notch_hz"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"PreprocessConfig: {name} must be a positive number or None, got {value!r}")
        if not (np.isfinite(self.notch_quality) and self.notch_quality > 0):
            raise ValueError(f"PreprocessConfig: notch_quality must be positive, got {self.notch_quality!r}")
        if int(self.filter_order) != self.filter_order or self.filter_order < 1:
            raise ValueError(
                f"PreprocessConfig: filter_order must be a positive integer, got {self.filter_order!r}"
            )
        low, high = self.highpass_hz, self.lowpass_hz
        if low is not None and high is not None and low >= high:
            raise ValueError(f"PreprocessConfig: highpass_hz ({low}) must be below lowpass_hz ({high})")
        if self.fs is not None:
            nyquist = self.fs / 2
            for name in ("highpass_hz", "lowpass_hz", "notch_hz"):
                value = getattr(self, name)
                if value is not None and value >= nyquist:
                    raise ValueError(
                        f"PreprocessConfig: {name}={value} Hz must be below the Nyquist frequency "
                        f"fs/2 = {nyquist:g} Hz"
                    )


# ----------------------------------------------------------------- helpers
def _present_rows(record: Record) -> np.ndarray:
    """Indices of the rows that hold a trace (recorded or generated)."""
    return np.array([i for i, st in enumerate(record.status) if st != ABSENT], dtype=int)


def _apply_rows(record: Record, func, n_out: int | None = None, **changes: object) -> Record:
    """Apply ``func`` (float64 array (rows, samples) -> array) to the present rows.

    Absent rows become NaN rows of the new length. Status, lead names and
    metadata are kept; ``changes`` (for example a new ``fs``) are applied too.
    """
    rows = _present_rows(record)
    n_out = record.n_samples if n_out is None else n_out
    out = np.full((len(record.leads), n_out), np.nan, dtype=np.float32)
    if rows.size:
        out[rows] = func(np.asarray(record.signal[rows], dtype=np.float64))
    return record.replace(signal=out, **changes)


def _padlen(n_samples: int, fs: float, slowest_hz: float, default: int) -> int:
    """Padding for forward-backward filtering, in samples.

    One period of the filter's slowest feature (a cut-off or a notch width),
    at least scipy's default, and never more than ``n_samples - 1``.
    """
    return int(min(n_samples - 1, max(default, int(np.ceil(fs / slowest_hz)))))


def _check_below_nyquist(func: str, record: Record, **freqs: float | None) -> None:
    nyquist = record.fs / 2
    for name, value in freqs.items():
        if value is None:
            continue
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{func}: {name} must be a positive frequency in Hz, got {value!r}")
        if value >= nyquist:
            raise ValueError(
                f"{func}: {name}={value:g} Hz must be below the Nyquist frequency of {record.name!r} "
                f"(fs/2 = {nyquist:g} Hz); resample the record first"
            )


# --------------------------------------------------------------- resampling
def resample(record: Record, fs_out: float) -> Record:
    """Resample a record to ``fs_out`` Hz with a polyphase filter.

    The ratio ``fs_out / fs`` is written as ``up / down`` with
    ``fractions.Fraction(...).limit_denominator(1000)``, and
    :func:`scipy.signal.resample_poly` is applied, with its default Kaiser
    anti-aliasing window (beta 5). The signal is extended linearly at both ends,
    so a baseline offset does not ring at the edges.

    Parameters
    ----------
    record : Record
        Any record; absent leads stay absent.
    fs_out : float
        Output sampling rate in Hz (> 0).

    Returns
    -------
    Record
        The record at ``fs_out`` Hz, with ``round(n_samples * fs_out / fs)``
        samples (at least one). It is the input itself when the rates are equal.

    Raises
    ------
    ValueError
        If ``fs_out`` is not a positive number, or ``fs_out / fs`` has no
        rational approximation with a denominator up to 1000 that is within
        a relative error of 1e-4.

    Examples
    --------
    >>> import numpy as np
    >>> from l2g.record import Record
    >>> rec = Record(np.zeros((1, 3600)), fs=360, leads=("II",))
    >>> out = resample(rec, 500)
    >>> out.fs, out.n_samples
    (500.0, 5000)
    """
    try:
        fs_out = float(fs_out)
    except (TypeError, ValueError):
        raise ValueError(f"resample: fs_out must be a positive number in Hz, got {fs_out!r}") from None
    if not (np.isfinite(fs_out) and fs_out > 0):
        raise ValueError(f"resample: fs_out must be a positive number in Hz, got {fs_out!r}")
    if fs_out == record.fs:
        return record
    ratio = fs_out / record.fs
    frac = Fraction(ratio).limit_denominator(_MAX_DENOMINATOR)
    if frac.numerator == 0 or abs(float(frac) - ratio) > _MAX_RATIO_ERROR * ratio:
        raise ValueError(
            f"resample: cannot resample {record.name!r} from {record.fs:g} Hz to {fs_out:g} Hz: the ratio "
            f"has no fraction up/down with down <= {_MAX_DENOMINATOR} within {_MAX_RATIO_ERROR:g}"
        )
    up, down = frac.numerator, frac.denominator
    n_out = max(1, int(round(record.n_samples * ratio)))

    # a line needs two points: a single sample is extended as a constant
    padtype = "line" if record.n_samples > 1 else "mean"

    def _resample(x: np.ndarray) -> np.ndarray:
        y = sps.resample_poly(x, up, down, axis=1, padtype=padtype)
        if y.shape[1] < n_out:  # only when up/down is an approximation of the ratio
            y = np.pad(y, ((0, 0), (0, n_out - y.shape[1])), mode="edge")
        return y[:, :n_out]

    return _apply_rows(record, _resample, n_out=n_out, fs=fs_out)


# ---------------------------------------------------------------- filtering
def bandlimit(
    record: Record,
    low_hz: float | None = 0.5,
    high_hz: float | None = 100.0,
    *,
    order: int = _BUTTER_ORDER,
) -> Record:
    """Keep the band ``low_hz``..``high_hz`` Hz with a zero-phase Butterworth filter.

    A band-pass when both edges are given, a high-pass when ``high_hz`` is
    None, a low-pass when ``low_hz`` is None. The filter is applied forward
    and backward with :func:`scipy.signal.sosfiltfilt` (no phase shift,
    magnitude response squared: -6 dB at each cut-off).

    Parameters
    ----------
    record : Record
    low_hz : float or None
        High-pass cut-off in Hz, or None for no high-pass.
    high_hz : float or None
        Low-pass cut-off in Hz, or None for no low-pass.
    order : int
        Butterworth order per pass (the effective order is twice this).

    Returns
    -------
    Record
        Same rate, length, leads and status as the input.

    Raises
    ------
    ValueError
        If a cut-off is not positive or is at or above ``fs / 2``, or if
        ``low_hz >= high_hz``.
    """
    _check_below_nyquist("bandlimit", record, low_hz=low_hz, high_hz=high_hz)
    if int(order) != order or order < 1:
        raise ValueError(f"bandlimit: order must be a positive integer, got {order!r}")
    if low_hz is None and high_hz is None:
        return record
    if low_hz is not None and high_hz is not None:
        if low_hz >= high_hz:
            raise ValueError(f"bandlimit: low_hz ({low_hz:g}) must be below high_hz ({high_hz:g})")
        sos = sps.butter(int(order), [low_hz, high_hz], btype="bandpass", fs=record.fs, output="sos")
    elif low_hz is not None:
        sos = sps.butter(int(order), low_hz, btype="highpass", fs=record.fs, output="sos")
    else:
        sos = sps.butter(int(order), high_hz, btype="lowpass", fs=record.fs, output="sos")
    slowest = low_hz if low_hz is not None else high_hz
    default = 3 * (2 * len(sos) + 1)  # scipy's default padlen for sosfiltfilt
    padlen = _padlen(record.n_samples, record.fs, slowest, default)
    return _apply_rows(record, lambda x: sps.sosfiltfilt(sos, x, axis=1, padlen=padlen))


def remove_baseline(record: Record, cutoff_hz: float = 0.5, *, order: int = _BUTTER_ORDER) -> Record:
    """Remove baseline wander with a zero-phase Butterworth high-pass.

    This is ``bandlimit(record, low_hz=cutoff_hz, high_hz=None)``. A
    median-filter baseline (200 ms then 600 ms) was not chosen because it
    costs far more on long records and bends the ST segment of wide
    complexes.

    Parameters
    ----------
    record : Record
    cutoff_hz : float
        -6 dB cut-off in Hz. With the default 0.5 Hz and order 4, a 0.2 Hz
        wander is attenuated about 1500 times (-64 dB), while
        everything above 1 Hz passes within 0.5 %.
    order : int
        Butterworth order per pass.

    Returns
    -------
    Record

    Raises
    ------
    ValueError
        If ``cutoff_hz`` is not positive or is at or above ``fs / 2``.
    """
    _check_below_nyquist("remove_baseline", record, cutoff_hz=cutoff_hz)
    return bandlimit(record, low_hz=cutoff_hz, high_hz=None, order=order)


def notch(record: Record, freq_hz: float = 50.0, quality: float = 30.0) -> Record:
    """Remove mains interference with a zero-phase IIR notch.

    :func:`scipy.signal.iirnotch` designs a second-order notch at
    ``freq_hz``, with a -3 dB width of ``freq_hz / quality``. It is applied
    forward and backward with :func:`scipy.signal.filtfilt`.

    Parameters
    ----------
    record : Record
    freq_hz : float
        Mains frequency in Hz: 50 (Europe, China, Russia) or 60 (Americas).
    quality : float
        Quality factor Q (> 0). Higher is narrower.

    Returns
    -------
    Record

    Raises
    ------
    ValueError
        If ``freq_hz`` is not positive or is at or above ``fs / 2``, or
        ``quality`` is not positive.
    """
    _check_below_nyquist("notch", record, freq_hz=freq_hz)
    if not (np.isfinite(quality) and quality > 0):
        raise ValueError(f"notch: quality must be positive, got {quality!r}")
    b, a = sps.iirnotch(freq_hz, quality, fs=record.fs)
    padlen = _padlen(record.n_samples, record.fs, freq_hz / quality, 3 * max(len(a), len(b)))
    return _apply_rows(record, lambda x: sps.filtfilt(b, a, x, axis=1, padlen=padlen))


# -------------------------------------------------------------- composition
def preprocess(record: Record, config: PreprocessConfig = PreprocessConfig()) -> Record:
    """Bring a record to the model's rate and band.

    The steps are as follows. Each is skipped when its setting is None.

    1. :func:`resample` to ``config.fs``. This comes first, so that the
       filters are designed at one rate for every record.
    2. :func:`bandlimit` to ``config.highpass_hz``..``config.lowpass_hz``,
       which removes baseline wander and muscle noise.
    3. :func:`notch` at ``config.notch_hz``, which removes mains interference.

    Parameters
    ----------
    record : Record
    config : PreprocessConfig
        The defaults are 500 Hz, 0.5-100 Hz and a 50 Hz notch with Q = 30.

    Returns
    -------
    Record
        A new record. Leads, status and metadata are kept, and absent leads stay NaN.

    Raises
    ------
    ValueError
        If a filter frequency is at or above the Nyquist frequency. This can
        only happen with ``config.fs=None`` and a low-rate record.

    Examples
    --------
    >>> import numpy as np
    >>> from l2g.record import Record
    >>> rec = Record(np.random.default_rng(0).normal(size=(2, 10000)), fs=1000, leads=("I", "II"))
    >>> out = preprocess(rec)
    >>> out.fs, out.n_samples, out.leads
    (500.0, 5000, ('I', 'II'))
    """
    out = record
    if config.fs is not None:
        out = resample(out, config.fs)
    out = bandlimit(out, config.highpass_hz, config.lowpass_hz, order=config.filter_order)
    if config.notch_hz is not None:
        out = notch(out, config.notch_hz, config.notch_quality)
    return out


# ---------------------------------------------------------------- windowing
def sliding_windows(n_samples: int, window: int, hop: int) -> np.ndarray:
    """Start indices of windows that cover ``n_samples`` samples.

    Windows start at ``0, hop, 2*hop, ...``. If the last of those stops
    short of the end, one more window is added at ``n_samples - window``, so
    the end is always covered. That last window overlaps the previous one more
    than ``hop`` implies.

    Parameters
    ----------
    n_samples : int
        Signal length in samples (>= 1).
    window : int
        Window length in samples (>= 1).
    hop : int
        Step between window starts in samples, ``1 <= hop <= window``
        (a larger hop would leave gaps).

    Returns
    -------
    ndarray of int64, shape (n_windows,)
        Sorted, unique start indices. Each window is
        ``[start, start + window)``. When ``n_samples <= window``, this is
        ``[0]`` and the caller pads the single window.

    Raises
    ------
    ValueError
        For a non-positive length, window or hop, or ``hop > window``.

    Examples
    --------
    >>> sliding_windows(5000, 2000, 1000).tolist()
    [0, 1000, 2000, 3000]
    >>> sliding_windows(5500, 2000, 1000).tolist()
    [0, 1000, 2000, 3000, 3500]
    >>> sliding_windows(1200, 2000, 1000).tolist()
    [0]
    """
    for name, value in (("n_samples", n_samples), ("window", window), ("hop", hop)):
        if int(value) != value or value < 1:
            raise ValueError(f"sliding_windows: {name} must be a positive integer, got {value!r}")
    n_samples, window, hop = int(n_samples), int(window), int(hop)
    if hop > window:
        raise ValueError(f"sliding_windows: hop ({hop}) larger than window ({window}) would leave gaps")
    if n_samples <= window:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n_samples - window + 1, hop, dtype=np.int64)
    if starts[-1] + window < n_samples:
        starts = np.append(starts, n_samples - window)
    return starts
