"""Reconstruct the full 12-lead ECG of a Record from its available leads.

``reconstruct(record, available=[...])`` works for any record length
(overlapping windows joined with a smooth cross-fade) and any sampling rate
(the available leads are resampled to the model rate and the generated leads
back to the record's own rate). Recorded leads are returned untouched; with two
or more limb leads available, the other limb leads are derived exactly from
them at the record's own rate (Einthoven/Goldberger).

The generator checkpoint is a plain dict read by :mod:`l2g.checkpoint`
(``weights_only=True``: no pickled code is executed).
When no usable checkpoint is found, :func:`load_reconstructor` falls back to
the linear baseline stored beside it (``method == "linear"``).

The default files are ``l2g.pt`` and ``linear.pt`` in :func:`l2g.paths.weights_dir`
(``L2G_WEIGHTS_DIR``, else the checkout's ``weights/``), resolved at every call;
``DEFAULT_WEIGHTS`` and ``DEFAULT_LINEAR`` read them too.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import paths
from .baseline import LinearBaseline
from .checkpoint import CheckpointError, load_generator, load_linear
from .digest import file_sha256, same_weights, verify_checksum, weights_version
from .leads import LEADS, LIMB_LEADS, complete_limb_leads, limb_basis, parse_lead_list
from .model import Generator, LeadModel, expand12
from .preprocess import HIGHPASS_HZ, remove_baseline, resample
from .record import GENERATED, RECORDED, Provenance, Record

__all__ = [
    "DEFAULT_WEIGHTS",  # noqa: F822 - resolved by __getattr__ (l2g.paths)
    "DEFAULT_LINEAR",  # noqa: F822
    "Reconstructor",
    "load_reconstructor",
    "reconstruct",
    "MIN_RECORD_S",
    "reconstruct_arrays",
    "chunk_spans",
    "RecordTooShort",
    "file_sha256",
    "verify_checksum",
    "weights_version",
    "same_weights",
]

log = logging.getLogger(__name__)

# what reading a checkpoint raises (CheckpointError, a ValueError, for what l2g.checkpoint checks) and what
# moving a model to its device can raise
_LOAD_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError)


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

_DEFAULT_PATHS = {  # module attributes resolved at access time, so L2G_WEIGHTS_DIR applies
    "WEIGHTS_DIR": paths.weights_dir,
    "DEFAULT_WEIGHTS": lambda: paths.weights_file("l2g.pt"),
    "DEFAULT_LINEAR": paths.linear_file,
}


def __getattr__(name: str) -> Path:
    """``WEIGHTS_DIR``, ``DEFAULT_WEIGHTS`` (generator) and ``DEFAULT_LINEAR`` (baseline), from :mod:`l2g.paths`."""
    if name in _DEFAULT_PATHS:
        return _DEFAULT_PATHS[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Reconstructor:
    """A loaded generator (or the linear baseline alone) plus its settings.

    Attributes
    ----------
    linear : LinearBaseline
        Always present: the baseline, and the generator's prior.
    generator : Generator or None
        ``None`` means the linear baseline is used.
    fs : float
        Model rate in Hz.
    window : int
        Window length in samples at the model rate.
    highpass_hz : float
        Baseline-wander cut-off applied to the inputs (as in training).
    version : str
        Identifies the weights: :func:`weights_version` (file name and short checksum).
    device : torch.device
    """

    linear: LinearBaseline
    generator: Generator | None
    fs: float
    window: int
    highpass_hz: float
    version: str
    device: torch.device = torch.device("cpu")

    @property
    def method(self) -> str:
        return "linear" if self.generator is None else "model"

    def predict_independent(self, x12: np.ndarray, available: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """The 8 independent leads of a whole record at the model rate.

        Parameters
        ----------
        x12 : ndarray, shape (12, T)
            The 12 leads at the model rate, mV; rows not in ``available`` are ignored.
        available : sequence of str
            Canonical names of the available leads.

        Returns
        -------
        ndarray, shape (8, T)
            I, II, V1–V6 in mV; available leads reproduced exactly.
        """
        return self.predict_independent_many(np.asarray(x12)[None], available, batch_size)[0]

    def predict_independent_many(self, x12: np.ndarray, available: Sequence[str],
                                 batch_size: int = 16) -> np.ndarray:
        """:meth:`predict_independent` of several records of one length: ``(n, 12, T) -> (n, 8, T)``.

        The same windows, cross-fades and prior as for one record; the
        windows of all records are batched together (``batch_size`` windows
        per forward pass), which is what makes archive-scale runs fast.
        """
        x12 = np.nan_to_num(np.asarray(x12, np.float32))
        n_rec, _, n = x12.shape
        avail = set(available)
        mask = np.array([lead in avail for lead in LEADS])
        if self.generator is None:
            return np.stack([self.linear.predict(x * mask[:, None], available) for x in x12]).astype(np.float32)
        w = self.window
        padded = n if n >= w else w
        xp = np.zeros((n_rec, 12, padded), np.float32)
        xp[:, :, :n] = x12
        overlap = w // 4  # 1 s at 250 Hz: enough context at both ends, 25 % extra compute
        hop = w - overlap
        starts = list(range(0, padded - w + 1, hop))
        if starts[-1] != padded - w:
            starts.append(padded - w)
        # cross-fade weights: a raised-cosine ramp over the overlap, flat in the middle
        edge = np.sin(np.linspace(0, np.pi / 2, overlap, dtype=np.float32)) ** 2
        out = np.zeros((n_rec, 8, padded), np.float32)
        norm = np.zeros(padded, np.float32)
        weights = []
        for s in starts:
            wt = np.ones(w, np.float32)
            if s > 0:
                wt[:overlap] = edge
            if s + w < padded:
                wt[-overlap:] = edge[::-1]
            weights.append(wt)
            norm[s : s + w] += wt
        jobs = [(r, j) for r in range(n_rec) for j in range(len(starts))]
        tmask = torch.from_numpy(mask)[None]
        model = LeadModel(self.linear, self.generator)  # linear prior -> generator -> available leads kept
        for b in range(0, len(jobs), batch_size):
            chunk = jobs[b : b + batch_size]
            xb = torch.from_numpy(np.stack([xp[r, :, starts[j] : starts[j] + w] for r, j in chunk])).to(self.device)
            mb = tmask.expand(len(chunk), -1).to(self.device)
            with torch.no_grad():
                pred = model(xb, mb).cpu().numpy()
            for (r, j), p in zip(chunk, pred, strict=True):
                out[r, :, starts[j] : starts[j] + w] += p * weights[j]
        return (out / np.maximum(norm, 1e-6))[:, :, :n]

    def __call__(self, record: Record, available: Iterable[str] | None = None) -> Record:
        return reconstruct(record, available, model=self)


def load_reconstructor(
    weights: str | Path | None = None,
    *,
    method: str = "model",
    linear: str | Path | None = None,
    device: str | torch.device | None = None,
) -> Reconstructor:
    """Load the generator (or the linear baseline) for inference.

    Parameters
    ----------
    weights : path, optional
        Generator checkpoint; default ``l2g.pt`` in :func:`l2g.paths.weights_dir`
        (``L2G_WEIGHTS_DIR``, else ``weights/``).
    method : {"model", "linear"}
        ``"linear"`` uses the baseline only.
    linear : path, optional
        Linear baseline file used when the generator is unavailable or
        ``method="linear"``; default ``linear.pt`` beside ``weights``, else
        :func:`l2g.paths.linear_file`.
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.

    Returns
    -------
    Reconstructor

    Raises
    ------
    ValueError
        For an unknown method, or when neither the generator nor the linear
        baseline can be loaded (:class:`l2g.paths.WeightsNotFoundError`, also a
        ValueError, when no weights folder is known at all).

    Warns
    -----
    UserWarning
        When ``method="model"`` but the checkpoint is missing or unreadable and
        the linear baseline is used instead.

    Examples
    --------
    >>> rc = load_reconstructor(method="linear")  # linear.pt of l2g.paths.weights_dir()
    >>> rc.method, rc.version.startswith("linear.pt@")
    ('linear', True)
    """
    if method not in ("model", "linear"):
        raise ValueError(f"method must be 'model' or 'linear', got {method!r}")
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    wpath = Path(weights) if weights is not None else paths.weights_file("l2g.pt")
    if method == "model":
        try:
            g, lin, ckpt = load_generator(wpath)
            return Reconstructor(
                linear=lin, generator=g.to(dev), fs=float(ckpt["fs"]), window=int(ckpt["window"]),
                highpass_hz=float(ckpt.get("highpass_hz", HIGHPASS_HZ)),
                version=weights_version(wpath), device=dev,
            )
        except _LOAD_ERRORS as exc:
            why = exc.reason if isinstance(exc, CheckpointError) else _why(exc)
            warnings.warn(
                f"{wpath}: generator weights unusable ({why}); "
                "falling back to the linear baseline",
                UserWarning, stacklevel=2,
            )
    if linear is not None:
        lpath = Path(linear)
    elif weights is not None and (wpath.parent / "linear.pt").exists():
        lpath = wpath.parent / "linear.pt"
    else:
        lpath = paths.linear_file()
    try:
        lin = load_linear(lpath)
    except _LOAD_ERRORS as exc:
        why = exc.reason if isinstance(exc, CheckpointError) else _why(exc)
        raise ValueError(f"{lpath}: cannot load the linear baseline ({why}); train one with `l2g train`") from exc
    return Reconstructor(
        linear=lin, generator=None, fs=float(lin.config.fs), window=1024, highpass_hz=HIGHPASS_HZ,
        version=weights_version(lpath), device=dev,
    )


_DEFAULT: dict[tuple[str, str], Reconstructor] = {}


def _default(method: str) -> Reconstructor:
    """The default reconstructor of ``method``, loaded once per weights folder."""
    key = (method, str(paths.weights_dir()))
    if key not in _DEFAULT:
        _DEFAULT[key] = load_reconstructor(method=method)
    return _DEFAULT[key]


_MARGIN_S = 10.0  # seconds of context on each side of a chunk of a long record


def chunk_spans(n: int, fs: float, chunk_s: float) -> list[tuple[int, int, int, int]]:
    """The chunks a record of ``n`` samples is reconstructed in: ``(a, b, lo, hi)`` per chunk.

    The one chunking rule of :func:`reconstruct` (and of :mod:`l2g.stream`, which reads a long
    file chunk by chunk): samples ``a:b`` of the result come from the generator run on samples
    ``lo:hi``, the chunk with :data:`_MARGIN_S` (10 s) of context on each side, so the joins fall
    in the margins. A record of at most ``chunk_s`` seconds is one chunk ``(0, n, 0, n)``.

    Parameters
    ----------
    n : int
        Samples per lead.
    fs : float
        Hz.
    chunk_s : float
        Chunk length, seconds (positive).

    Returns
    -------
    list of (int, int, int, int)
        ``a < b`` cover ``0..n`` in order without overlap; ``lo <= a``, ``hi >= b``.

    Raises
    ------
    ValueError
        When ``chunk_s`` is not a positive number of seconds at least one sample long.

    Examples
    --------
    >>> chunk_spans(1000, 10.0, 40.0)  # 100 s at 10 Hz in 40-s chunks, 10 s (100 samples) of margin
    [(0, 400, 0, 500), (400, 800, 300, 900), (800, 1000, 700, 1000)]
    """
    chunk = int(round(chunk_s * fs)) if np.isfinite(chunk_s) and chunk_s > 0 else 0
    if chunk < 1:
        raise ValueError(f"chunk_s={chunk_s!r} at {fs:g} Hz: expected a positive chunk length of at least one "
                         "sample, in seconds (e.g. 300)")
    if n <= chunk:
        return [(0, n, 0, n)]
    margin = int(round(_MARGIN_S * fs))
    return [(a, min(n, a + chunk), max(0, a - margin), min(n, a + chunk + margin)) for a in range(0, n, chunk)]

#: Shortest record (seconds) that :func:`reconstruct` accepts: one beat at 60 bpm. A shorter
#: record holds no complete beat, and the generator would return a plausible-looking nothing.
MIN_RECORD_S: float = 1.0


class RecordTooShort(ValueError):
    """A record shorter than :data:`MIN_RECORD_S`, refused by :func:`reconstruct`."""


def _generate(inputs: Record, available: Sequence[str], rc: Reconstructor) -> np.ndarray:
    """Generated 12 leads at ``inputs.fs`` from a record holding only the available leads."""
    x = resample(inputs, rc.fs) if rc.fs != inputs.fs else inputs
    x = remove_baseline(x, rc.highpass_hz)
    x12 = np.zeros((12, x.n_samples), np.float32)
    for lead, row in zip(x.leads, x.signal, strict=True):
        x12[LEADS.index(lead)] = row
    pred8 = rc.predict_independent(x12, available)
    gen = Record(expand12(torch.from_numpy(pred8)[None])[0].numpy(), rc.fs, LEADS, name=inputs.name)
    if gen.fs != inputs.fs:
        gen = resample(gen, inputs.fs)
    gsig = np.zeros((12, inputs.n_samples), np.float32)
    m = min(inputs.n_samples, gen.n_samples)
    gsig[:, :m] = gen.signal[:, :m]
    if m < inputs.n_samples:  # resampling rounding: hold the last value
        gsig[:, m:] = gsig[:, m - 1 : m]
    return gsig


def reconstruct_arrays(x: np.ndarray, fs: float, available: Iterable[str], *, model: Reconstructor,
                       batch_size: int = 64) -> np.ndarray:
    """:func:`reconstruct` of many records of one length and rate, as arrays (no Record, no band).

    The same steps as :func:`reconstruct` on each record — resample to the
    model rate, high-pass, generate, back to ``fs``, exact limb leads from two
    or more, recorded leads unchanged — with the generator's windows batched
    across records (:meth:`Reconstructor.predict_independent_many`). For
    archive-scale evaluation; ``tests/test_reconstruct.py`` checks it against
    :func:`reconstruct`.

    Parameters
    ----------
    x : ndarray, shape (n, 12, samples)
        mV at ``fs``, rows in :data:`l2g.leads.LEADS` order; rows not in
        ``available`` are ignored. At least :data:`MIN_RECORD_S` long.
    fs : float
        Hz.
    available : iterable of str
    model : Reconstructor
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    ndarray of float32, shape (n, 12, samples)
    """
    from .preprocess import highpass_array, resample_array

    avail = parse_lead_list(available)
    if not avail:
        raise ValueError(f"reconstruct_arrays: no available lead; choose one or more of {LEADS}")
    x = np.asarray(x, np.float32)
    if x.ndim != 3 or x.shape[1] != 12:
        raise ValueError(f"reconstruct_arrays: x has shape {x.shape}; expected (records, 12, samples)")
    if x.shape[2] / fs < MIN_RECORD_S:
        raise RecordTooShort(f"reconstruct_arrays: {x.shape[2]} samples at {fs:g} Hz is shorter than "
                             f"{MIN_RECORD_S:g} s")
    rows = [LEADS.index(lead) for lead in avail]
    n = x.shape[2]
    xin = x[:, rows].astype(np.float64)
    if fs != model.fs:
        n_model = max(1, int(round(n * (model.fs / fs))))
        xin = resample_array(xin, fs, model.fs, n_out=n_model).astype(np.float32).astype(np.float64)
    xin = highpass_array(xin, model.fs, model.highpass_hz).astype(np.float32)
    x12 = np.zeros((x.shape[0], 12, xin.shape[2]), np.float32)
    x12[:, rows] = xin
    pred8 = model.predict_independent_many(x12, avail, batch_size=batch_size)
    gen = expand12(torch.from_numpy(pred8)).numpy()
    if fs != model.fs:
        gen = resample_array(gen.astype(np.float64), model.fs, fs, n_out=n)
    out = np.asarray(gen, np.float32).copy()
    if limb_basis(avail) is not None:
        limb = complete_limb_leads({lead: x[:, LEADS.index(lead)] for lead in avail if lead in LIMB_LEADS})
        for i, lead in enumerate(LIMB_LEADS):
            out[:, i] = limb[lead]
    out[:, rows] = x[:, rows]
    return out


def reconstruct(
    record: Record,
    available: Iterable[str] | None = None,
    *,
    method: str = "model",
    model: Reconstructor | None = None,
    chunk_s: float = 300.0,
    interval: float | None = None,
    prior: Record | None = None,
) -> Record:
    """Generate the missing leads of ``record`` from its ``available`` leads.

    Parameters
    ----------
    record : Record
        Any length, any sampling rate. Its leads not in ``available`` are
        treated as missing (their recorded values, if any, are not used).
    available : iterable of str, optional
        Leads to use as input (names as in :func:`l2g.leads.parse_lead_list`);
        default: every recorded lead of ``record``.
    method : {"model", "linear"}
        Used when ``model`` is not given (the default weights are loaded once).
    model : Reconstructor, optional
        A loaded reconstructor (see :func:`load_reconstructor`).
    chunk_s : float
        Records longer than this (seconds) are processed in chunks of this
        length with 10 s of context on each side, which bounds the working
        memory for Holter-length records.
    interval : float, optional
        Coverage level (e.g. 0.9) of a calibrated band around every generated
        lead, returned as ``Record.interval`` = ``(low, high)``, mV, NaN on
        recorded leads (:func:`l2g.uncertainty.interval_for`; calibration
        ``interval.json`` in :func:`l2g.paths.weights_dir`). A calibration
        fitted for another generator than ``model``'s is not used: a
        :class:`~l2g.uncertainty.ModelMismatchWarning` names both, and the
        result has no band (:func:`l2g.uncertainty.calibration_for`).
        Default: no band.
    prior : Record, optional
        An earlier 12-lead ECG of the same patient (any rate, at least
        :data:`l2g.personal.PRIOR_MIN_S` long), or a segment of ``record``
        taken while all leads were on: the generated leads are personalised on
        it (:func:`l2g.personal.personalise`). When the guard refuses it (another
        patient, a change in conduction) the result is the generic one and
        ``meta.provenance.note`` says why; ``meta.provenance.prior`` names it
        when used. With ``interval``, a personalised result carries the band
        calibrated for the personalised mode (:mod:`l2g.personal_band`); for a
        subset that mode was not calibrated on, no band, and the note says why.
        A refused prior leaves the generic result and its band.

    Returns
    -------
    Record
        12 canonical leads at ``record.fs``, same length: the available leads
        unchanged (status ``recorded``), all others ``generated``;
        ``meta.provenance`` says from which leads and by which model.

    Raises
    ------
    ValueError
        If no lead is available, or an ``available`` lead is absent from the record.
    RecordTooShort
        If the record is shorter than :data:`MIN_RECORD_S` (a ValueError).
    l2g.personal.PriorError
        If ``prior`` is not a usable 12-lead ECG (a ValueError).
    l2g.uncertainty.CalibrationError
        With ``interval`` and no readable calibration file.

    Warns
    -----
    l2g.uncertainty.ModelMismatchWarning
        With ``interval``, when the calibration was fitted for another generator (no band).

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()  # 10 s, 500 Hz, 12 recorded leads
    >>> full = reconstruct(rec, ["I", "II", "V2"], method="linear")
    >>> full.recorded_leads, len(full.generated_leads), full.n_samples == rec.n_samples
    (('I', 'II', 'V2'), 9, True)
    >>> full.meta.provenance.method, full.meta.provenance.available
    ('linear', ('I', 'II', 'V2'))
    >>> low, high = reconstruct(rec, ["I"], method="linear", interval=0.9).interval
    >>> low.shape == rec.signal.shape, bool((high >= low)[1:].all()), bool(np.isnan(low[0]).all())
    (True, True, True)
    """
    if record.duration < MIN_RECORD_S:
        raise RecordTooShort(
            f"{record.name}: {record.n_samples} samples at {record.fs:g} Hz ({record.duration:.3g} s) is shorter "
            f"than one beat; expected a record of at least {MIN_RECORD_S:g} s to reconstruct"
        )
    rec = record.standardize()
    avail = parse_lead_list(available) if available is not None else rec.recorded_leads
    if not avail:
        raise ValueError(f"{record.name}: no available lead to reconstruct from; choose one or more of {LEADS}")
    missing = [lead for lead in avail if rec.status_of(lead) != RECORDED]
    if missing:
        raise ValueError(
            f"{record.name}: lead(s) {', '.join(missing)} are not recorded in this record; "
            f"recorded: {', '.join(rec.recorded_leads) or 'none'}"
        )
    rc = model if model is not None else _default(method)
    inputs = rec.select(avail)  # only the available rows travel through the pipeline
    n = rec.n_samples
    spans = chunk_spans(n, rec.fs, chunk_s)
    if len(spans) == 1:
        gsig = _generate(inputs, avail, rc)
    else:  # long records: overlapping chunks bound the working memory; joins fall in the margins
        gsig = np.empty((12, n), np.float32)
        for a, b, lo, hi in spans:
            part = _generate(inputs.replace(signal=inputs.signal[:, lo:hi]), avail, rc)
            gsig[:, a:b] = part[:, a - lo : b - lo]
    # exact limb leads at the record's own rate when two or more are available
    if limb_basis(avail) is not None:
        limb = complete_limb_leads({lead: rec.lead(lead) for lead in avail if lead in LIMB_LEADS})
        for i, lead in enumerate(LIMB_LEADS):
            gsig[i] = limb[lead]
    status = []
    for i, lead in enumerate(LEADS):
        if lead in avail:
            gsig[i] = rec.lead(lead)
            status.append(RECORDED)
        else:
            status.append(GENERATED)
    prov = Provenance(method=rc.method, model_version=rc.version, available=tuple(avail))
    meta = dataclasses.replace(rec.meta, provenance=prov)
    out = rec.replace(signal=gsig, status=tuple(status), meta=meta)
    if prior is not None:  # personalised mode (l2g.personal); a refused prior leaves the generic result
        from .personal import personalise

        out = personalise(out, rec, avail, prior, lambda r: reconstruct(r, avail, model=rc, chunk_s=chunk_s),
                          highpass_hz=rc.highpass_hz)
    if interval is not None:
        out = _with_band(out, avail, float(interval), rc)
    return out


def _with_band(out: Record, avail: Sequence[str], level: float, rc: Reconstructor) -> Record:
    """``out`` with its calibrated band: the personalised mode's (:mod:`l2g.personal_band`) when personalised.

    A calibration fitted for another generator gives no band and a :class:`ModelMismatchWarning`; a
    personalised result whose subset was not calibrated for that mode gets no band and says why in its note.
    """
    from .uncertainty import CalibrationError, CalibrationMismatch, ModelMismatchWarning, calibration_for, interval_for

    prov = out.meta.provenance
    try:
        if prov.prior is not None:
            from .personal_band import personal_calibration_for

            cal = personal_calibration_for(rc.version, avail, method=rc.method)
        else:
            cal = calibration_for(rc.version, rc.method)
    except CalibrationError as exc:
        mismatch = isinstance(exc, CalibrationMismatch)
        if mismatch:  # a band fitted for another generator would be wrong: none
            warnings.warn(f"{exc}; no band", ModelMismatchWarning, stacklevel=3)
        if prov.prior is None:
            if mismatch:
                return out
            raise
        note = f"{prov.note}; no band or grade in personalised mode ({str(exc).rstrip('.')})"
        return out.replace(meta=dataclasses.replace(out.meta, provenance=dataclasses.replace(prov, note=note)))
    return out.replace(interval=interval_for(out, avail, level, rc.linear, cal))

