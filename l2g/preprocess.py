"""Resampling, filtering and windowing of arrays and of :class:`~l2g.record.Record` objects.

Array functions and Record functions
------------------------------------
Each operation exists once, as a function on plain arrays with every parameter
explicit (:func:`resample_array`, :func:`bandpass_array`, :func:`highpass_array`,
:func:`notch_array`; shape ``(..., samples)``, filtered along the last axis).
The Record functions (:func:`resample`, :func:`bandlimit`,
:func:`remove_baseline`, :func:`notch`, :func:`preprocess`) validate the
settings against the record, then call them on the present rows, in the way
torchaudio's modules call its ``functional`` API. Other modules (for example
:mod:`l2g.morphology`) call the array functions rather than scipy directly.

Every Record function takes a Record and returns a new one: the input is never
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

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .record import ABSENT, Record

#: The baseline high-pass (Hz): the model's inputs in training and inference, and the real and generated
#: records before scoring (:func:`l2g.metrics.compare`, :mod:`l2g.evaluate`, the band). Pass it on; never
#: re-type its value.
HIGHPASS_HZ = 0.5

__all__ = [
    "HIGHPASS_HZ",
    "PreprocessConfig",
    "resample_array",
    "bandpass_array",
    "highpass_array",
    "notch_array",
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
    highpass_hz: float | None = HIGHPASS_HZ
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


def _check_below_nyquist(func: str, fs: float, where: str, **freqs: float | None) -> None:
    """Each frequency (Hz) given must be positive and below ``fs / 2``; ``where`` names the input."""
    nyquist = fs / 2
    for name, value in freqs.items():
        if value is None:
            continue
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{func}: {name} must be a positive frequency in Hz, got {value!r}")
        if value >= nyquist:
            raise ValueError(
                f"{func}: {name}={value:g} Hz must be below the Nyquist frequency of {where} "
                f"(fs/2 = {nyquist:g} Hz); resample the record first"
            )


def _poly_ratio(fs_in: float, fs_out: float, what: str,
                max_error: float | None = _MAX_RATIO_ERROR) -> tuple[int, int]:
    """``(up, down)`` with ``up / down`` = ``fs_out / fs_in`` (denominator <= 1000, relative error <= max_error)."""
    ratio = fs_out / fs_in
    frac = Fraction(ratio).limit_denominator(_MAX_DENOMINATOR)
    if max_error is None:
        return frac.numerator, frac.denominator
    if frac.numerator == 0 or abs(float(frac) - ratio) > max_error * ratio:
        raise ValueError(
            f"{what} from {fs_in:g} Hz to {fs_out:g} Hz: the ratio "
            f"has no fraction up/down with down <= {_MAX_DENOMINATOR} within {_MAX_RATIO_ERROR:g}"
        )
    return frac.numerator, frac.denominator


def _positive_rate(func: str, name: str, value: object) -> float:
    try:
        value = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{func}: {name} must be a positive number in Hz, got {value!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{func}: {name} must be a positive number in Hz, got {value!r}")
    return value


_PADDINGS = ("period", "scipy")


def _filter_padlen(func: str, padding: str, n_samples: int, fs: float, slowest_hz: float,
                   default: int) -> int | None:
    """``padlen`` for scipy's forward-backward filters: see the ``padding`` parameter of :func:`bandpass_array`."""
    if padding == "period":
        return _padlen(n_samples, fs, slowest_hz, default)
    if padding == "scipy":
        return None
    raise ValueError(f"{func}: padding must be one of {_PADDINGS}, got {padding!r}")


# ---------------------------------------------------------- array functions
def resample_array(
    x: np.ndarray,
    fs_in: float,
    fs_out: float,
    *,
    n_out: int | None = None,
    padtype: str = "line",
    max_ratio_error: float | None = _MAX_RATIO_ERROR,
) -> np.ndarray:
    """Resample an array along its last axis with a polyphase filter.

    The ratio ``fs_out / fs_in`` is written as ``up / down`` with
    ``fractions.Fraction(...).limit_denominator(1000)``, and
    :func:`scipy.signal.resample_poly` is applied, with its default Kaiser
    anti-aliasing window (beta 5).

    Parameters
    ----------
    x : array_like, shape (..., samples)
        Any unit; computed in float64.
    fs_in, fs_out : float
        Input and output sampling rates in Hz (> 0).
    n_out : int or None
        Output length in samples. None: scipy's own length,
        ``ceil(samples * up / down)``. Otherwise the output is cut to
        ``n_out`` samples, or extended by repeating its last sample.
    padtype : str
        How :func:`scipy.signal.resample_poly` extends the signal at both ends
        ("line": linearly, so a baseline offset does not ring at the edges;
        "constant": zeros, scipy's default; "mean"; ...).
    max_ratio_error : float or None
        Largest relative error accepted between ``up / down`` and
        ``fs_out / fs_in`` (1e-4). None accepts the best fraction whatever its
        error (for example 1999 Hz -> 500 Hz is then resampled at 1/4).

    Returns
    -------
    ndarray of float64, shape (..., n_out)
        A new array, also when the rates are equal.

    Raises
    ------
    ValueError
        If a rate is not a positive number, or ``fs_out / fs_in`` has no
        rational approximation with a denominator up to 1000 that is within
        a relative error of ``max_ratio_error``.

    Examples
    --------
    >>> import numpy as np
    >>> resample_array(np.zeros((2, 3600)), 360, 500).shape
    (2, 5000)
    >>> resample_array(np.zeros(3), 500, 250, padtype="constant").shape
    (2,)
    """
    fs_in = _positive_rate("resample_array", "fs_in", fs_in)
    fs_out = _positive_rate("resample_array", "fs_out", fs_out)
    x = np.asarray(x, dtype=np.float64)
    if fs_in == fs_out:
        y = x.copy()
    else:
        from scipy import signal as sps  # ~1 s to import: only when something is resampled

        up, down = _poly_ratio(fs_in, fs_out, "resample_array: cannot resample", max_ratio_error)
        y = sps.resample_poly(x, up, down, axis=-1, padtype=padtype)
    if n_out is None:
        return y
    if y.shape[-1] < n_out:  # only when up/down is an approximation of the ratio
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_out - y.shape[-1])], mode="edge")
    return y[..., :n_out]


@functools.lru_cache(maxsize=64)
def _butter_sos(order: int, low_hz: float | None, high_hz: float | None, fs: float) -> np.ndarray:
    """Second-order sections of a Butterworth band-, high- or low-pass, designed once per setting (copy before use)."""
    from scipy import signal as sps

    if low_hz is not None and high_hz is not None:
        sos = sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    elif low_hz is not None:
        sos = sps.butter(order, low_hz, btype="highpass", fs=fs, output="sos")
    else:
        sos = sps.butter(order, high_hz, btype="lowpass", fs=fs, output="sos")
    return sos


def bandpass_array(
    x: np.ndarray,
    fs: float,
    low_hz: float | None,
    high_hz: float | None,
    *,
    order: int = _BUTTER_ORDER,
    padding: str = "period",
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (high-pass, low-pass) of an array along its last axis.

    A band-pass when both edges are given, a high-pass when ``high_hz`` is
    None, a low-pass when ``low_hz`` is None. The filter is applied forward
    and backward with :func:`scipy.signal.sosfiltfilt` (no phase shift,
    magnitude response squared: -6 dB at each cut-off).

    Parameters
    ----------
    x : array_like, shape (..., samples)
        Any unit; computed in float64. At least 2 samples.
    fs : float
        Sampling rate in Hz.
    low_hz, high_hz : float or None
        Cut-offs in Hz, below ``fs / 2``; None leaves that side open.
    order : int
        Butterworth order per pass (the effective order is twice this).
    padding : {"period", "scipy"}
        Signal extension at both ends. "period": one period of the lowest
        cut-off (at least scipy's default, at most ``samples - 1``), so any
        length from 2 samples works. "scipy": scipy's default
        (``3 * (2 * sections + 1)`` samples; shorter inputs raise).

    Returns
    -------
    ndarray of float64, shape (..., samples)
        A new array (a copy when both cut-offs are None).

    Raises
    ------
    ValueError
        If a cut-off is not positive or not below ``fs / 2``, ``low_hz >=
        high_hz``, ``order`` is not a positive integer or ``padding`` unknown.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5000) / 500
    >>> y = highpass_array(2.0 + np.sin(2 * np.pi * 10 * t), 500, 0.5)
    >>> round(float(y[1000:4000].mean()), 3)
    0.0
    """
    fs = _positive_rate("bandpass_array", "fs", fs)
    _check_below_nyquist("bandpass_array", fs, "the array", low_hz=low_hz, high_hz=high_hz)
    if int(order) != order or order < 1:
        raise ValueError(f"bandpass_array: order must be a positive integer, got {order!r}")
    x = np.asarray(x, dtype=np.float64)
    if low_hz is None and high_hz is None:
        return x.copy()
    from scipy import signal as sps  # ~1 s to import: only when something is filtered

    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise ValueError(f"bandpass_array: low_hz ({low_hz:g}) must be below high_hz ({high_hz:g})")
    sos = _butter_sos(int(order), None if low_hz is None else float(low_hz),
                      None if high_hz is None else float(high_hz), float(fs)).copy()  # scipy wants it writable
    slowest = low_hz if low_hz is not None else high_hz
    default = 3 * (2 * len(sos) + 1)  # scipy's default padlen for sosfiltfilt
    padlen = _filter_padlen("bandpass_array", padding, x.shape[-1], fs, slowest, default)
    return sps.sosfiltfilt(sos, x, axis=-1, padlen=padlen)


def highpass_array(
    x: np.ndarray,
    fs: float,
    cutoff_hz: float,
    *,
    order: int = _BUTTER_ORDER,
    padding: str = "period",
) -> np.ndarray:
    """Zero-phase Butterworth high-pass of an array: ``bandpass_array(x, fs, cutoff_hz, None, ...)``.

    Parameters
    ----------
    x : array_like, shape (..., samples)
    fs : float
        Hz.
    cutoff_hz : float
        -6 dB cut-off in Hz (> 0, below ``fs / 2``).
    order : int
        Butterworth order per pass.
    padding : {"period", "scipy"}
        See :func:`bandpass_array`.

    Returns
    -------
    ndarray of float64, shape (..., samples)

    Raises
    ------
    ValueError
        As :func:`bandpass_array`; also when ``cutoff_hz`` is None.
    """
    if cutoff_hz is None:
        raise ValueError("highpass_array: cutoff_hz must be a positive frequency in Hz, got None")
    return bandpass_array(x, fs, cutoff_hz, None, order=order, padding=padding)


def notch_array(
    x: np.ndarray,
    fs: float,
    freq_hz: float,
    quality: float = 30.0,
    *,
    padding: str = "period",
) -> np.ndarray:
    """Zero-phase IIR notch of an array along its last axis.

    :func:`scipy.signal.iirnotch` designs a second-order notch at
    ``freq_hz``, with a -3 dB width of ``freq_hz / quality``. It is applied
    forward and backward with :func:`scipy.signal.filtfilt`.

    Parameters
    ----------
    x : array_like, shape (..., samples)
        Any unit; computed in float64. At least 2 samples.
    fs : float
        Sampling rate in Hz.
    freq_hz : float
        Notch frequency in Hz (> 0, below ``fs / 2``).
    quality : float
        Quality factor Q (> 0). Higher is narrower.
    padding : {"period", "scipy"}
        "period": one period of the notch width ``freq_hz / quality`` (at least
        scipy's default, at most ``samples - 1``); "scipy": scipy's default
        (``3 * 3`` samples).

    Returns
    -------
    ndarray of float64, shape (..., samples)

    Raises
    ------
    ValueError
        If ``freq_hz`` is not positive or not below ``fs / 2``, ``quality`` is
        not positive, or ``padding`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5000) / 500
    >>> y = notch_array(np.sin(2 * np.pi * 50 * t), 500, 50.0)
    >>> bool(np.abs(y[500:4500]).max() < 0.01)
    True
    """
    fs = _positive_rate("notch_array", "fs", fs)
    _check_below_nyquist("notch_array", fs, "the array", freq_hz=freq_hz)
    if not (np.isfinite(quality) and quality > 0):
        raise ValueError(f"notch_array: quality must be positive, got {quality!r}")
    from scipy import signal as sps  # ~1 s to import: only when something is filtered

    x = np.asarray(x, dtype=np.float64)
    b, a = sps.iirnotch(freq_hz, quality, fs=fs)
    padlen = _filter_padlen("notch_array", padding, x.shape[-1], fs, freq_hz / quality, 3 * max(len(a), len(b)))
    return sps.filtfilt(b, a, x, axis=-1, padlen=padlen)


# --------------------------------------------------------------- resampling
def resample(record: Record, fs_out: float) -> Record:
    """Resample a record to ``fs_out`` Hz with a polyphase filter (:func:`resample_array`).

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
    fs_out = _positive_rate("resample", "fs_out", fs_out)
    if fs_out == record.fs:
        return record
    _poly_ratio(record.fs, fs_out, f"resample: cannot resample {record.name!r}")
    n_out = max(1, int(round(record.n_samples * (fs_out / record.fs))))
    # a line needs two points: a single sample is extended as a constant
    padtype = "line" if record.n_samples > 1 else "mean"
    return _apply_rows(record, lambda x: resample_array(x, record.fs, fs_out, n_out=n_out, padtype=padtype),
                       n_out=n_out, fs=fs_out)


# ---------------------------------------------------------------- filtering
def bandlimit(
    record: Record,
    low_hz: float | None = 0.5,
    high_hz: float | None = 100.0,
    *,
    order: int = _BUTTER_ORDER,
) -> Record:
    """Keep the band ``low_hz``..``high_hz`` Hz with a zero-phase Butterworth filter (:func:`bandpass_array`).

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
    _check_below_nyquist("bandlimit", record.fs, repr(record.name), low_hz=low_hz, high_hz=high_hz)
    if int(order) != order or order < 1:
        raise ValueError(f"bandlimit: order must be a positive integer, got {order!r}")
    if low_hz is None and high_hz is None:
        return record
    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise ValueError(f"bandlimit: low_hz ({low_hz:g}) must be below high_hz ({high_hz:g})")
    return _apply_rows(record, lambda x: bandpass_array(x, record.fs, low_hz, high_hz, order=order))


def remove_baseline(record: Record, cutoff_hz: float = HIGHPASS_HZ, *, order: int = _BUTTER_ORDER) -> Record:
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
    _check_below_nyquist("remove_baseline", record.fs, repr(record.name), cutoff_hz=cutoff_hz)
    return bandlimit(record, low_hz=cutoff_hz, high_hz=None, order=order)


def notch(record: Record, freq_hz: float = 50.0, quality: float = 30.0) -> Record:
    """Remove mains interference with a zero-phase IIR notch (:func:`notch_array`).

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
    _check_below_nyquist("notch", record.fs, repr(record.name), freq_hz=freq_hz)
    if not (np.isfinite(quality) and quality > 0):
        raise ValueError(f"notch: quality must be positive, got {quality!r}")
    return _apply_rows(record, lambda x: notch_array(x, record.fs, freq_hz, quality))


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
