"""Long (Holter) records through the archive pipeline in chunks: read, reconstruct and write a range at a time.

A record longer than ``stream_over_s`` (``l2g reconstruct ARCHIVE --stream-over``, default
:data:`STREAM_OVER_S`) whose reader can read a range (:attr:`l2g.io.Reader.read_span`: WFDB ``.dat``
records, EDF, ISHNE Holter) never exists whole in memory. For each chunk of :func:`l2g.reconstruction.chunk_spans`
(the chunking :func:`l2g.reconstruct` itself uses, ``chunk_s`` long with 10 s of context on each
side) :func:`stream_record`

1. reads the chunk with its margins (:func:`l2g.io.read_span`),
2. reconstructs it (:func:`l2g.reconstruct` on the chunk and its margins, which is exactly what the
   whole-record path computes for that chunk, so the joins are identical),
3. grades its generated leads and checks its recorded leads (:func:`grade_fields`,
   :func:`leadcheck_fields`, the row fields of one record),
4. appends the chunk's samples to the export: WFDB through :class:`SpooledWfdb` (the samples go to a
   float32 spool on disk; at the end the gains are chosen from the whole record's peaks by the rule of
   :func:`l2g.io.write_wfdb`, the ``.dat`` is written block by block and the header, with the total
   length and checksums, last), CSV by appending rows (:func:`l2g.io.write_csv`, ``append=True``).

So the WFDB and CSV files of a streamed record are the bytes the whole-record path writes
(``tests/test_stream.py``). What differs from the whole-record path, by design:

* **Grades** (``grades``, ``predicted_rmse_uv``, ``worst_grade``): computed per chunk; the row holds
  the worst grade of each lead over the chunks and the largest predicted RMSE of each lead over the
  chunks (:func:`merge_chunk_fields`).
* **Lead check** (``leadcheck_flags``, ``leadcheck_faults``): per chunk; the row lists every lead
  flagged and every fault suspected in any chunk.
* **Band** (``--interval``): computed per chunk (its width is scaled on that chunk's inputs) and
  written as the ``<name>_band`` WFDB record chunk by chunk; not equal to a band computed on the whole
  record.
* **Reader notes and NaN policy** apply per chunk (the notes of all chunks, once each).
* **DICOM**: a waveform object holds an ECG of seconds to minutes; a streamed record is refused with
  a row error naming ``--format wfdb`` / ``csv`` (or a larger ``--stream-over``).
* **Personalised mode** (``--prior-map``): not streamed; such a record is read whole (the row's notes
  say so).

A long record whose format has no ranged read (CSV, HDF5, the cart formats) is read whole, as
before; :mod:`l2g.scale` notes that in its row.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["STREAM_OVER_S", "CHUNK_S", "StreamSource", "stream_source", "stream_record", "SpooledWfdb",
           "grade_fields", "leadcheck_fields", "merge_chunk_fields"]

#: Records longer than this (seconds) are streamed by default (``--stream-over``).
STREAM_OVER_S: float = 600.0
#: Chunk length (seconds) of a streamed record and of :func:`l2g.reconstruct` (``--chunk``).
CHUNK_S: float = 300.0
#: Samples per block when a spool is scaled and written to the ``.dat`` (bounds that pass's memory:
#: about 3 MB for 12 signals).
_BLOCK = 1 << 14


@dataclass(frozen=True)
class StreamSource:
    """A record that is streamed: which reader, which file, how long.

    Attributes
    ----------
    reader : str
        ``Reader.name`` (``"wfdb"``, ``"edf"``).
    file : Path
        The file the reader reads (a WFDB record's ``.hea``).
    n_samples : int
        Samples per lead, from the header.
    fs : float
        Hz.
    """

    reader: str
    file: Path
    n_samples: int
    fs: float

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.n_samples / self.fs


def stream_source(path: str | os.PathLike[str], stream_over_s: float | None, fs: float | None = None
                  ) -> StreamSource | None:
    """The :class:`StreamSource` of the record at ``path`` when it is to be streamed, else None.

    Streamed: a record longer than ``stream_over_s`` seconds (from its header, nothing decoded) whose
    format reads ranges (:func:`l2g.io.ranged_source`). None for a shorter record, a format without
    ranged reads, a file that states no rate while ``fs`` is None, or ``stream_over_s`` None (never).

    Raises
    ------
    ValueError
        From the reader's header checks, naming the file.
    """
    from .io import ranged_source

    if stream_over_s is None:
        return None
    found = ranged_source(Path(path))
    if found is None:
        return None
    reader, file, n, rate = found
    rate = rate if rate is not None else fs
    if rate is None or not rate > 0 or n / rate <= stream_over_s:
        return None
    return StreamSource(reader, file, n, float(rate))


# ------------------------------------------------------- row fields
def grade_fields(full, model, calibration) -> dict:
    """Grades and predicted RMSE (µV) of the generated leads of reconstruction ``full`` as results-row fields.

    Parameters
    ----------
    full : Record
        A reconstruction (:func:`l2g.reconstruct`).
    model : Reconstructor
    calibration : IntervalCalibration or str
        A str: why there are no grades (the row's ``grade_note``). A personalised result is graded by
        the personalised mode's calibration (:mod:`l2g.personal_band`, through :func:`l2g.trust.trust_table`);
        where that mode has none, ``grade_note`` says why.

    Returns
    -------
    dict
        ``grades``, ``predicted_rmse_uv``, ``worst_grade``; or ``grade_note``.
    """
    from .trust import trust_table
    from .uncertainty import CalibrationError

    if isinstance(calibration, str):
        return {"grade_note": calibration}
    try:
        table = trust_table(full, model=model, calibration=calibration)
    except CalibrationError as exc:  # a personalised result from a subset that mode was not calibrated on
        return {"grade_note": " ".join(str(exc).split())}
    grades = table["grade"].tolist()
    return {"grades": grades, "predicted_rmse_uv": [float(x) for x in table["predicted_rmse_uv"]],
            "worst_grade": max(grades) if grades else None}


def leadcheck_fields(rec, model) -> dict:
    """The lead check of ``rec``'s recorded leads as results-row fields: ``leadcheck_flags`` and
    ``leadcheck_faults``, or ``leadcheck_note`` (why not: fewer than three leads)."""
    from .leadcheck import NotEnoughLeadsError, check_leads

    try:
        table = check_leads(rec, model=model)
    except NotEnoughLeadsError as exc:
        return {"leadcheck_note": " ".join(str(exc).split())}
    return {"leadcheck_flags": table.loc[table["flag"], "lead"].tolist(),
            "leadcheck_faults": list(table.attrs["faults"])}


def merge_chunk_fields(chunks: list[dict], generated: list[str]) -> dict:
    """One row's grade and lead-check fields from those of every chunk (:func:`grade_fields`,
    :func:`leadcheck_fields`).

    The rule: per generated lead the worst grade over the chunks (C worse than B worse than A) and the
    largest predicted RMSE; ``worst_grade`` the worst of those; the leads the lead check flags in any
    chunk (canonical order) and the faults it suspects in any chunk (in order of first suspicion); a
    note (``grade_note``, ``leadcheck_note``) when no chunk has grades or a lead check.

    Parameters
    ----------
    chunks : list of dict
        Per chunk, the merged output of :func:`grade_fields` and :func:`leadcheck_fields`.
    generated : list of str
        The generated leads, the order of ``grades``.

    Examples
    --------
    >>> row = merge_chunk_fields([{"grades": ["A", "B"], "predicted_rmse_uv": [30.0, 50.0], "leadcheck_flags": []},
    ...                           {"grades": ["B", "B"], "predicted_rmse_uv": [40.0, 45.0],
    ...                            "leadcheck_flags": ["V2"], "leadcheck_faults": ["V1/V2"]}], ["III", "V1"])
    >>> row["grades"], row["predicted_rmse_uv"], row["worst_grade"], row["leadcheck_flags"], row["leadcheck_faults"]
    (['B', 'B'], [40.0, 50.0], 'B', ['V2'], ['V1/V2'])
    """
    from .leads import LEADS

    out: dict = {}
    graded = [c for c in chunks if c.get("grades") is not None]
    if graded:
        out["grades"] = [max(c["grades"][i] for c in graded) for i in range(len(generated))]
        out["predicted_rmse_uv"] = [max(c["predicted_rmse_uv"][i] for c in graded) for i in range(len(generated))]
        out["worst_grade"] = max(out["grades"]) if out["grades"] else None
    elif chunks:
        out["grade_note"] = chunks[0].get("grade_note")
    checked = [c for c in chunks if c.get("leadcheck_flags") is not None]
    if checked:
        flagged = {lead for c in checked for lead in c["leadcheck_flags"]}
        out["leadcheck_flags"] = [lead for lead in LEADS if lead in flagged]
        out["leadcheck_faults"] = list(dict.fromkeys(f for c in checked for f in c.get("leadcheck_faults", ())))
    elif chunks:
        out["leadcheck_note"] = chunks[0].get("leadcheck_note")
    return out


# ----------------------------------------------------- WFDB written by chunks
@dataclass
class SpooledWfdb:
    """A WFDB record written chunk by chunk, byte for byte what :func:`l2g.io.wfdb.write_mv_signals` writes.

    :meth:`append` puts each chunk's samples (mV) in a float32 spool file beside the output and keeps
    every signal's peak; :meth:`finish` chooses the format and gains from the peaks
    (:func:`l2g.io.wfdb.wfdb_scaling`), writes the ``.dat`` block by block (:func:`l2g.io.wfdb.to_digital`)
    with the checksums and first values, then the header (``wfdb``'s own header writer), and removes
    the spool. Memory: one chunk, or one block of :data:`_BLOCK` samples; disk: 4 bytes per sample
    and signal for the spool, removed at the end.

    Attributes
    ----------
    out_dir : Path
        Existing folder.
    record_name : str
        File-name safe.
    fs : float
        Hz.
    sig_names : list of str
    comments : list of str
        Header comment lines.
    what : str
        Names the record in an error.
    """

    out_dir: Path
    record_name: str
    fs: float
    sig_names: list[str]
    comments: list[str]
    what: str
    n_samples: int = 0
    _peak: np.ndarray | None = field(default=None, repr=False)
    _spool: object = field(default=None, repr=False)

    @property
    def spool_path(self) -> Path:
        return self.out_dir / f".{self.record_name}.spool.tmp"

    def append(self, x_mv: np.ndarray) -> None:
        """Add the next samples, shape (signals, samples), mV."""
        x = np.asarray(x_mv, np.float32)
        if x.ndim != 2 or x.shape[0] != len(self.sig_names):
            raise ValueError(f"{self.what}: a chunk of shape {x.shape}; expected ({len(self.sig_names)}, samples)")
        if self._spool is None:
            self._spool = open(self.spool_path, "wb")  # noqa: SIM115 - closed by finish / abort
            self._peak = np.zeros(len(self.sig_names))
        self._peak = np.maximum(self._peak, np.max(np.abs(x.astype(np.float64)), axis=1))
        self._spool.write(np.ascontiguousarray(x.T).tobytes())
        self.n_samples += x.shape[1]

    def finish(self) -> list[Path]:
        """Write the ``.dat`` and the ``.hea``; the written files (header first)."""
        import wfdb

        from .io.wfdb import wfdb_scaling

        if self._spool is None:
            raise ValueError(f"{self.what}: no samples to write; expected at least one chunk")
        self._spool.close()
        fmt, gains = wfdb_scaling(self._peak, what=self.what)
        n_sig = len(self.sig_names)
        dat = self.out_dir / f"{self.record_name}.dat"
        tmp = dat.with_suffix(".dat.tmp")
        checksum = np.zeros(n_sig, np.int64)
        first = None
        # read with plain reads, not a memory map: mapped pages of the spool would count as the process's memory
        with open(self.spool_path, "rb") as spool, open(tmp, "wb") as fh:
            for _ in range(0, self.n_samples, _BLOCK):
                block = np.fromfile(spool, dtype=np.float32, count=_BLOCK * n_sig).reshape(-1, n_sig)
                start, sums = _write_block(fh, block, gains, "<i2" if fmt == "16" else "<i4")
                first = start if first is None else first
                checksum += sums
        os.replace(tmp, dat)
        self.spool_path.unlink()
        rec = wfdb.Record(record_name=self.record_name, n_sig=n_sig, fs=self.fs, sig_len=self.n_samples,
                          file_name=[dat.name] * n_sig, fmt=[fmt] * n_sig, adc_gain=[float(g) for g in gains],
                          baseline=[0] * n_sig, units=["mV"] * n_sig, sig_name=list(self.sig_names),
                          init_value=first, checksum=[int(c) for c in checksum % 65536],
                          comments=list(self.comments))
        rec.set_defaults()
        rec.wrheader(write_dir=str(self.out_dir), expanded=False)
        return [self.out_dir / f"{self.record_name}.hea", dat]

    def abort(self) -> None:
        """Close and remove the spool and a partly written ``.dat`` (after a failure)."""
        if self._spool is not None:
            self._spool.close()
        for p in (self.spool_path, self.out_dir / f"{self.record_name}.dat.tmp"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _write_block(fh, block: np.ndarray, gains: np.ndarray, dtype: str) -> tuple[list[int], np.ndarray]:
    """Samples ``(block, signals)`` in mV as WFDB integers into ``fh``; their first values and sums per signal.

    A function of its own so that a block's temporaries are freed before the next is made.
    """
    from .io.wfdb import to_digital

    digital = to_digital(np.asarray(block).T, gains)  # (signals, block), int64
    fh.write(np.ascontiguousarray(digital.T).astype(dtype).tobytes())
    return [int(v) for v in digital[:, 0]], digital.sum(axis=1)


# ----------------------------------------------------------- one record
def stream_record(source: StreamSource, available, *, model, calibration, out_dir: str | os.PathLike[str],
                  export_fmt: str = "wfdb", fs: float | None = None, deidentify: bool = False,
                  interval: float | None = None, chunk_s: float = CHUNK_S) -> dict:
    """Reconstruct, grade, check and export a long record chunk by chunk (see the module notes).

    Parameters
    ----------
    source : StreamSource
        From :func:`stream_source`.
    available : sequence of str
        The leads given to the model.
    model : Reconstructor
    calibration : IntervalCalibration or str
        For the grades; a str: why there are none.
    out_dir : str or Path
        The export folder (created if missing).
    export_fmt : {"wfdb", "csv"}
        ``"dicom"`` is refused (a ValueError naming the record and the formats that stream).
    fs : float, optional
        The rate a file without one is read at (as :func:`l2g.io.read_record`).
    deidentify : bool
    interval : float, optional
        Coverage of the band, computed and written per chunk.
    chunk_s : float
        Seconds per chunk; the same chunks as ``l2g.reconstruct(..., chunk_s=chunk_s)``.

    Returns
    -------
    dict
        Results-row fields: ``fs``, ``duration_s``, ``notes``, ``statuses``, ``generated_leads``,
        the merged grade and lead-check fields (:func:`merge_chunk_fields`) and ``outputs`` (the files
        written, Paths).

    Raises
    ------
    ValueError
        For DICOM, an unknown export format, or a chunk whose leads differ from the first chunk's
        (a lead absent in part of the record).
    """
    from .export import band_parts, csv_parts, safe_name
    from .io import read_span, write_csv
    from .io.wfdb import header_comments
    from .reconstruction import chunk_spans, reconstruct
    from .record import ABSENT, GENERATED

    if export_fmt not in ("wfdb", "csv"):
        raise ValueError(
            f"{source.file}: a {source.duration / 3600:.2f}-h record is streamed in chunks and its {export_fmt} "
            "export is not written (a DICOM waveform holds seconds to minutes of ECG); expected --format wfdb "
            "or csv, or a --stream-over above its length")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spans = chunk_spans(source.n_samples, source.fs, chunk_s)
    writers: list[SpooledWfdb] = []
    fields: list[dict] = []
    notes: list[str] = []
    first = None
    try:
        for a, b, lo, hi in spans:
            part = read_span(source.file, lo, hi, fs=fs)
            full = reconstruct(part, available, model=model, chunk_s=(hi - lo) / part.fs, interval=interval)
            keep = slice(a - lo, b - lo)
            band = None if full.interval is None else (full.interval[0][:, keep], full.interval[1][:, keep])
            full = full.replace(signal=full.signal[:, keep], interval=band)
            if first is None:
                first, stem = full, safe_name(full.name)
            elif full.status != first.status:
                raise ValueError(f"{source.file}: lead statuses change at {a / part.fs:.0f} s "
                                 f"({_statuses(first)} -> {_statuses(full)}); expected the same leads throughout "
                                 "a streamed record (or a --stream-over above its length)")
            notes += [n for n in part.meta.notes if n not in notes]
            fields.append(grade_fields(full, model, calibration)
                          | leadcheck_fields(part.replace(signal=part.signal[:, keep]), model))
            banded = full.interval is not None and GENERATED in full.status  # as write_export decides
            if export_fmt == "csv":  # the rows of write_export's CSV, appended
                columns, lines = csv_parts(full, banded)
                write_csv(full, out / f"{stem}.csv", deidentify=deidentify, columns=columns, comments=lines,
                          start=a, append=a > 0)
                continue
            written = (full.deidentified() if deidentify else full).standardize()  # as write_wfdb writes it
            present = [i for i, st in enumerate(written.status) if st != ABSENT]
            if not writers:
                writers.append(SpooledWfdb(out, stem, written.fs, [written.leads[i] for i in present],
                                           header_comments(written), what=written.name))
                if banded:
                    band_stem, band_names, _, band_comments = band_parts(full, stem)
                    writers.append(SpooledWfdb(out, band_stem, full.fs, band_names, band_comments,
                                               what=f"{full.name} band"))
            writers[0].append(written.signal[present])
            if len(writers) > 1:
                writers[1].append(band_parts(full, stem)[2])
        outputs = [p for w in writers for p in w.finish()] if export_fmt == "wfdb" else [out / f"{stem}.csv"]
    except BaseException:  # nothing half written stays: the spools, a partial .dat, a partial CSV
        for w in writers:
            w.abort()
        if export_fmt == "csv" and first is not None:
            with contextlib.suppress(FileNotFoundError):
                (out / f"{stem}.csv").unlink()
        raise
    return {"fs": float(source.fs), "duration_s": source.duration, "notes": notes,
            "statuses": list(first.status), "generated_leads": list(first.generated_leads),
            **merge_chunk_fields(fields, list(first.generated_leads)), "outputs": outputs}


def _statuses(rec) -> str:
    return ",".join(f"{lead}={st}" for lead, st in zip(rec.leads, rec.status, strict=True) if st != "absent")
