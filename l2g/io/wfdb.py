"""WFDB records (``.hea`` + ``.dat``) and the PhysioNet Challenge layout (``.hea`` + ``.mat``):
header parsing, reading, :func:`write_wfdb` and :func:`header_comments`."""

from __future__ import annotations

import math
import os
import re
import struct
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..record import ABSENT, Diagnosis, Record
from ._common import (
    _check_length,
    _Info,
    _magic,
    _note,
    _parse_age,
    _parse_l2g,
    _parse_sex,
    _snomed_diagnoses,
    _split_codes,
    check_rate,
    raw_from_channels,
)
from ._raw import RawECG, Reader

_PTBXL_LABELS = {
    "NORM": "normal ECG", "ACUTE MI": "acute myocardial infarction", "OLD MI": "old myocardial infarction",
    "STTC": "ST/T change", "CD": "conduction disturbance", "HYP": "hypertrophy",
    "PAC": "premature atrial contraction", "PVC": "premature ventricular contraction",
    "AFIB/AFL": "atrial fibrillation or flutter", "TACHY": "tachycardia", "BRADY": "bradycardia",
    "MI": "myocardial infarction",
}


def write_wfdb(record: Record, directory: str | os.PathLike[str], name: str | None = None, *,
               deidentify: bool = False) -> Path:
    """Write a record as a WFDB record (``<name>.hea`` + ``<name>.dat``).

    Every recorded or generated lead is written with its canonical name, in
    canonical order; absent leads are left out (the ``L2G: lead status``
    comment lists them). Samples are stored as integers with baseline 0 and
    a per-lead gain (ADC units per mV) chosen so that the quantisation error
    is at most 0.5 µV: gain = min(100000, floor(32000 / max|x|)), which is at
    least 1000 whenever max|x| <= 32 mV (format 16). If any lead exceeds
    32 mV the whole record is written in format 32 instead (same rule with
    2e9 in place of 32000).

    Header comments (Challenge style) hold ``Age``, ``Sex``, ``Dx`` (SNOMED-CT
    codes), ``Labels`` (PTB-XL), ``AHA``, ``Diagnosis`` (free text), the
    record's other fields and comments, and ``L2G:`` lines with the lead
    status and, for generated leads, how they were made. :func:`read_record`
    restores all of these.

    Parameters
    ----------
    record : Record
    directory : str or Path
        Output directory (created if missing).
    name : str, optional
        Record name; defaults to ``record.name``. Characters other than
        letters, digits, ``_`` and ``-`` become ``_``.
    deidentify : bool
        Write :meth:`Record.deidentified` (no patient name, identifiers or birth date; age
        and sex kept; the header says "de-identified by L2G-ECG").

    Returns
    -------
    Path
        The written ``.hea`` file.

    Raises
    ------
    ValueError
        If the record has no present lead, or a lead exceeds 2e6 mV.
    """
    rec = (record.deidentified() if deidentify else record).standardize()
    present = [i for i, st in enumerate(rec.status) if st != ABSENT]
    if not present:
        raise ValueError(f"{rec.name}: no recorded or generated lead to write; expected at least one")
    record_name = re.sub(r"[^-\w]", "_", name if name is not None else rec.name) or "record"
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)

    return write_mv_signals(record_name, out_dir, rec.fs, [rec.leads[i] for i in present],
                            rec.signal[present], header_comments(rec), what=rec.name)


def write_mv_signals(record_name: str, out_dir: Path, fs: float, sig_names: Sequence[str], x_mv: np.ndarray,
                     comments: Sequence[str], *, what: str) -> Path:
    """Write signals in mV as WFDB ``record_name`` in ``out_dir`` with the gain rule of :func:`write_wfdb`.

    Baseline 0 and a per-signal gain (ADC units per mV) that keeps the quantisation error at
    most 0.5 µV: gain = max(1000, floor(min(100000, limit / max|x|))), with limit 32000 in
    format 16, or 2e9 in format 32 when any signal exceeds 32 mV.

    Parameters
    ----------
    record_name : str
        Already file-name safe.
    out_dir : Path
        An existing folder.
    fs : float
        Hz.
    sig_names : sequence of str
        One per row of ``x_mv``.
    x_mv : ndarray, shape (signals, samples)
        mV.
    comments : sequence of str
        Header comment lines.
    what : str
        Names the record in an error.

    Returns
    -------
    Path
        The written ``.hea``.

    Raises
    ------
    ValueError
        If a signal exceeds 2e6 mV.
    """
    import wfdb

    x = np.asarray(x_mv, dtype=np.float64)
    fmt, gains = wfdb_scaling(np.max(np.abs(x), axis=1), what=what)
    digital = to_digital(x, gains).T  # (samples, signals)
    wfdb.wrsamp(
        record_name,
        fs=fs,
        units=["mV"] * len(sig_names),
        sig_name=list(sig_names),
        d_signal=digital,
        fmt=[fmt] * len(sig_names),
        adc_gain=[float(g) for g in gains],
        baseline=[0] * len(sig_names),
        comments=list(comments),
        write_dir=str(out_dir),
    )
    return out_dir / f"{record_name}.hea"


def wfdb_scaling(peak_mv: np.ndarray, *, what: str) -> tuple[str, np.ndarray]:
    """The format and gains :func:`write_mv_signals` stores signals with, from their peaks alone.

    Parameters
    ----------
    peak_mv : ndarray, shape (signals,)
        max |x| of each signal over the whole record, mV.
    what : str
        Names the record in an error.

    Returns
    -------
    fmt : {"16", "32"}
        ``"32"`` when any signal exceeds 32 mV.
    gains : ndarray of float64, shape (signals,)
        ADC units per mV: max(1000, floor(min(100000, limit / peak))), limit 32000 (format 16) or 2e9.

    Raises
    ------
    ValueError
        If a signal exceeds 2e6 mV.
    """
    peak = np.asarray(peak_mv, np.float64)
    fmt = "16" if float(peak.max()) <= 32.0 else "32"
    limit = 32000.0 if fmt == "16" else 2.0e9
    if float(peak.max()) * 1000.0 > limit:
        raise ValueError(f"{what}: peak amplitude {peak.max():g} mV; expected at most {limit / 1000:g} mV")
    gains = np.floor(np.minimum(100000.0, limit / np.maximum(peak, 1e-12)))
    return fmt, np.maximum(gains, 1000.0)


def to_digital(x_mv: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Signals in mV ``(signals, samples)`` as the integers :func:`write_mv_signals` stores (baseline 0), int64."""
    return np.round(np.asarray(x_mv, np.float64) * np.asarray(gains)[:, None]).astype(np.int64)


# ============================================================ WFDB header
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RECORD_LINE = re.compile(
    rf"^(?P<name>[-\w.]+)(?:/(?P<nseg>\d+))?\s+(?P<nsig>\d+)"
    rf"(?:\s+(?P<fs>{_NUM}|(?i:nan|[-+]?inf))(?:/{_NUM}(?:\({_NUM}\))?)?(?:\s+(?P<len>\d+)(?:\s+\S.*)?)?)?\s*$"
)
_SIGNAL_LINE = re.compile(
    rf"^(?P<file>\S+)\s+(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::(?P<skew>\d+))?(?:\+(?P<off>\d+))?"
    rf"(?:\s+(?P<gain>{_NUM})(?:\((?P<base>[-+]?\d+)\))?(?:/(?P<units>\S+))?"
    r"(?:\s+(?P<res>\d+)(?:\s+(?P<zero>[-+]?\d+)(?:\s+(?P<init>[-+]?\d+)(?:\s+(?P<cksum>[-+]?\d+)"
    r"(?:\s+(?P<bsize>\d+)(?:\s+(?P<desc>\S.*?))?)?)?)?)?)?)?\s*$"
)
_RECORD_EXPECT = "'<record> <n_signals> <fs> <n_samples> [time [date]]'"
_SIGNAL_EXPECT = ("'<file> <format>[x<spf>][:<skew>][+<offset>] <gain>[(<baseline>)][/<units>] "
                  "<adc_res> <adc_zero> <init> <checksum> <block_size> <lead name>'")
_BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "24": 3.0, "32": 4.0, "61": 2.0, "80": 1.0, "160": 2.0,
                     "212": 1.5, "310": 4 / 3, "311": 4 / 3, "508": 0.0, "516": 0.0, "524": 0.0}


@dataclass
class _SignalSpec:
    line: int
    file: str
    fmt: str
    spf: int
    offset: int
    gain: float
    baseline: int
    units: str | None
    name: str


@dataclass
class _Header:
    n_sig: int
    fs: float | None
    sig_len: int | None
    signals: list[_SignalSpec]
    comments: list[str]
    record_name: str = ""


def _excerpt(line: str, width: int = 60) -> str:
    """``repr`` of a header line, cut to ``width`` characters (binary garbage makes very long lines)."""
    return repr(line) if len(line) <= width else repr(line[:width]) + "..."


def _parse_header(hea: Path) -> _Header:
    """Validate a WFDB header line by line (wfdb's own errors give no line number)."""
    raw = hea.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    record: re.Match[str] | None = None
    signals: list[_SignalSpec] = []
    comments: list[str] = []
    n_sig = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
            continue
        if record is None:
            record = _RECORD_LINE.match(stripped)
            if record is None:
                raise ValueError(f"{hea}: line {lineno}: cannot parse the record line {_excerpt(stripped)}; "
                                 f"expected {_RECORD_EXPECT}")
            if record["nseg"]:
                raise ValueError(f"{hea}: line {lineno}: multi-segment records are not supported; "
                                 "expected a single-segment record")
            n_sig = int(record["nsig"])
            continue
        if len(signals) >= n_sig:
            raise ValueError(f"{hea}: line {lineno}: unexpected line {_excerpt(stripped)} after {n_sig} signal lines; "
                             "expected only '#' comments")
        m = _SIGNAL_LINE.match(stripped)
        if m is None or m["fmt"] not in _BYTES_PER_SAMPLE:
            what = f"unknown format {m['fmt']!r}" if m else f"cannot parse the signal line {_excerpt(stripped)}"
            raise ValueError(f"{hea}: line {lineno}: {what}; expected {_SIGNAL_EXPECT}")
        if re.search(r"[\\/]", m["file"]) or m["file"] in (".", ".."):
            raise ValueError(f"{hea}: line {lineno}: signal file {m['file']!r} is outside the header's folder; "
                             "expected a plain file name next to the header")
        gain = float(m["gain"]) if m["gain"] else 200.0
        signals.append(_SignalSpec(
            line=lineno, file=m["file"], fmt=m["fmt"], spf=int(m["spf"] or 1), offset=int(m["off"] or 0),
            gain=gain if gain != 0 else 200.0,
            baseline=int(m["base"]) if m["base"] else int(m["zero"] or 0),  # WFDB default: adc_zero
            units=m["units"], name=(m["desc"] or "").strip(),
        ))
    if record is None:
        raise ValueError(f"{hea}: no record line; expected a WFDB header starting with {_RECORD_EXPECT}")
    if len(signals) < n_sig:
        raise ValueError(f"{hea}: the header declares {n_sig} signals but has {len(signals)} signal lines; "
                         f"expected {n_sig} lines like {_SIGNAL_EXPECT}")
    return _Header(
        n_sig=n_sig,
        fs=float(record["fs"]) if record["fs"] else None,
        sig_len=int(record["len"]) if record["len"] else None,
        signals=signals,
        comments=comments,
        record_name=record["name"],
    )


# ===================================================== header comments
_KEY_VALUE = re.compile(r"^<?(?P<key>[A-Za-z][\w .\-/()]{0,40}?)>?\s*:\s*(?P<value>.*)$")


def _parse_comments(lines: Iterable[str], file: str) -> _Info:
    """Header comment lines (without '#') -> metadata, tolerant of the Challenge/LUDB/PTB-XL styles."""
    info = _Info()
    in_ludb_diagnoses = False
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if in_ludb_diagnoses:
            info.diagnoses.append(Diagnosis(code="", name=text, system="text"))
            continue
        m = _KEY_VALUE.match(text)
        if m is None:
            info.comments.append(text)
            continue
        key, value = m["key"].strip(), m["value"].strip()
        low = key.lower()
        if low == "age":
            info.age = _parse_age(value, file)
            if info.age is None and re.match(r"^\s*\d", value):
                info.fields[key] = value  # out of range (e.g. PTB-XL's 300): keep the raw value
        elif low in ("sex", "gender"):
            info.sex = _parse_sex(value)
        elif low == "dx":
            info.diagnoses += _snomed_diagnoses(value)
        elif low == "labels":
            info.diagnoses += [Diagnosis(code=c, name=_PTBXL_LABELS.get(c.upper(), ""), system="PTB-XL")
                               for c in _split_codes(value)]
        elif low in ("aha", "aha_code"):
            info.diagnoses += [Diagnosis(code=c, name="", system="AHA") for c in _split_codes(value)]
        elif low == "diagnosis":
            info.diagnoses.append(Diagnosis(code="", name=value, system="text"))
        elif low == "diagnoses" and text.startswith("<"):
            in_ludb_diagnoses = True  # LUDB: every following comment line is a diagnosis
            if value:
                info.diagnoses.append(Diagnosis(code="", name=value, system="text"))
        elif low == "l2g":
            if not _parse_l2g(value, info):
                info.comments.append(text)
        else:
            info.fields[key] = value
    return info


def header_comments(rec: Record) -> list[str]:
    """The header comment lines :func:`write_wfdb` writes for ``rec`` (what :func:`read_record` parses back).

    Challenge-style ``Age:``, ``Sex:``, ``Dx:`` lines plus, when ``rec`` holds
    generated leads, the ``L2G:`` lines: lead status, which leads are generated
    (not recorded), and from which leads by which model. A record with canonical
    lead order is expected (see :meth:`l2g.record.Record.standardize`).

    Returns
    -------
    list of str
        One comment per line, without the leading ``#``.
    """
    meta = rec.meta
    out: list[str] = []
    if meta.age is not None:
        out.append(f"Age: {meta.age:g}")
    if meta.sex is not None:
        out.append(f"Sex: {'Female' if meta.sex == 'F' else 'Male'}")
    by_system: dict[str, list[Diagnosis]] = {}
    for d in meta.diagnoses:
        by_system.setdefault(d.system, []).append(d)
    coded = {"SNOMED-CT": ("Dx", ","), "PTB-XL": ("Labels", ", "), "AHA": ("AHA", ",")}
    for system, items in by_system.items():  # systems in order of first appearance
        if system in coded and all(d.code for d in items):
            key, sep = coded[system]
            out.append(f"{key}: " + sep.join(d.code for d in items))
        else:
            out += [f"Diagnosis: {d.label()}" for d in items]
    out += [f"{k}: {v}" for k, v in meta.fields.items()]
    out += list(meta.comments)
    out.append("L2G: lead status: " + ",".join(f"{lead}={st}" for lead, st in zip(rec.leads, rec.status,
                                                                                    strict=True)))
    if rec.generated_leads:
        out.append(f"L2G: generated leads: {','.join(rec.generated_leads)} (not recorded)")
    if meta.provenance is not None:
        p = meta.provenance
        out.append(f"L2G: generated from: {','.join(p.available) or '-'} by {p.method} {p.model_version}".rstrip())
        if p.prior is not None:
            out.append(f"L2G: personalised mode: generated leads corrected on the {p.prior}")
        if p.note is not None:
            out.append(f"L2G: {p.note}")
    return [" ".join(str(c).split()) for c in out]  # one line each


# =========================================================== WFDB reading
def _check_signal_files(hea: Path, header: _Header) -> list[str]:
    """Every signal file exists and holds the samples the header promises (more: a warning).

    Returns the names of the signal files that are larger than the header declares.
    """
    larger: list[str] = []
    per_file: dict[str, list[_SignalSpec]] = {}
    for s in header.signals:
        per_file.setdefault(s.file, []).append(s)
    for fname, specs in per_file.items():
        path = hea.parent / fname
        if not path.is_file():
            raise ValueError(f"{hea}: signal file {fname!r} (line {specs[0].line}) not found; expected it "
                             f"next to the header")
        bps = _BYTES_PER_SAMPLE[specs[0].fmt]
        if header.sig_len is None or bps == 0 or path.suffix.lower() == ".mat" or _magic(path, 6) == b"MATLAB":
            continue  # length inferred by wfdb / compressed format / checked by _mat_layout
        frame = sum(s.spf for s in specs)
        need = specs[0].offset + math.floor(header.sig_len * frame * bps)
        have = path.stat().st_size
        if have < need:
            held = int((have - specs[0].offset) / (frame * bps)) if have > specs[0].offset else 0
            raise ValueError(
                f"{path}: truncated: holds {have} bytes ({held} samples per signal) but the header promises "
                f"{header.sig_len} samples; expected at least {need} bytes"
            )
        if have - need >= frame * bps:  # at least one whole frame more than declared
            _note(f"{path}: holds {have} bytes but {header.sig_len} samples of {len(specs)} signal(s) in format "
                  f"{specs[0].fmt} take {need}; only those are read (wrong format or length in {hea.name}?)")
            larger.append(fname)
    return larger


def provenance_lines(record: Record) -> list[str]:
    """``L2G:`` lines saying which leads are generated and how (those of :func:`header_comments`), and a warning.

    Written by every export (:func:`l2g.export.write_export`: CSV ``# L2G:`` lines, DICOM annotations);
    empty when the record holds no generated lead.
    """
    if not record.generated_leads:
        return []
    lines = [c for c in header_comments(record.standardize()) if c.startswith("L2G:")]
    return lines + ["L2G: generated leads are estimates from the recorded ones, not recordings (L2G-ECG, "
                    "research software, not a medical device)"]


def _mat_layout(mat: Path, hea: Path, header: _Header) -> str:
    """``"v4"`` if wfdb can read ``mat`` as the header says, ``"loadmat"`` if scipy must, else raise."""
    head = _magic(mat, 128)
    if head.startswith(b"MATLAB"):
        if b"MATLAB 7.3" in head[:20]:
            raise ValueError(f"{mat}: MATLAB v7.3 (HDF5) files are not supported; expected a v4 or v5 MAT file")
        return "loadmat"  # v5: 116-byte text header, tagged data; wfdb would read garbage
    if len(head) < 20:
        raise ValueError(f"{mat}: {len(head)} bytes, too short for a MAT file; expected a MATLAB v4 header")
    mopt, mrows, ncols, imagf, namlen = struct.unpack("<5i", head[:20])
    if not (0 <= mopt < 1000 and mopt % 10 == 0 and imagf == 0 and 0 < namlen < 64 and mrows > 0 and ncols >= 0):
        mopt_be = struct.unpack(">5i", head[:20])[0]
        if 1000 <= mopt_be < 2000:
            return "loadmat"  # big-endian v4
        raise ValueError(f"{mat}: not a MATLAB v4 or v5 MAT file (header {head[:20].hex()}); "
                         "expected a Challenge .mat file")
    precision = (mopt // 10) % 10  # 0 double, 1 single, 2 int32, 3 int16, 4 uint16, 5 uint8
    itemsize = {0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1}.get(precision)
    if itemsize is None:
        raise ValueError(f"{mat}: unknown MATLAB v4 data type {mopt}; expected int16 data")
    data_off = 20 + namlen
    have_cols = (mat.stat().st_size - data_off) // (itemsize * mrows)
    if mrows != header.n_sig:
        raise ValueError(f"{mat}: holds a {mrows}x{ncols} matrix but {hea.name} declares {header.n_sig} signals; "
                         f"expected {header.n_sig} rows")
    if have_cols < ncols:
        raise ValueError(f"{mat}: truncated: holds {have_cols} of the {ncols} samples its MAT header declares; "
                         "expected a complete file")
    if header.sig_len is not None and ncols < header.sig_len:
        raise ValueError(f"{mat}: holds {ncols} samples per signal but {hea.name} promises {header.sig_len}; "
                         "expected a complete file")
    s = header.signals
    wfdb_ok = (
        len({x.file for x in s}) == 1
        and all(x.spf == 1 for x in s)
        and all(x.offset == data_off for x in s)
        and all((x.fmt, precision) in (("16", 3), ("32", 2)) for x in s)
    )
    if wfdb_ok and header.sig_len is not None and ncols > header.sig_len:  # loadmat layouts: warned when read
        _note(f"{mat}: holds {ncols} samples per signal but {hea.name} declares {header.sig_len}; "
              "only those are read (wrong length in the header?)")
    return "v4" if wfdb_ok else "loadmat"


def read(hea: Path) -> RawECG:
    """Read the WFDB / PhysioNet Challenge record whose header is ``hea`` (``.dat`` via ``wfdb``, ``.mat`` v4/v5)."""
    return _read(hea, None)


def extent(hea: Path) -> tuple[int, float | None] | None:
    """``(samples per signal, rate in Hz or None)`` of the record ``hea`` when it can be read in ranges
    (:func:`read_span`), else None.

    From the header alone: a single-segment record whose signals sit in ``.dat`` files in a
    fixed-width format with one sample per frame and whose header states its length. A
    ``.mat`` (Challenge) record, a compressed or multi-rate one: None (read whole).
    """
    header = _parse_header(hea)
    files = {s.file for s in header.signals}
    ranged = (header.sig_len is not None and header.n_sig > 0
              and all(s.spf == 1 and _BYTES_PER_SAMPLE[s.fmt] > 0 for s in header.signals)
              and not any(f.lower().endswith(".mat") or _magic(hea.parent / f, 6) == b"MATLAB" for f in files))
    return (header.sig_len, header.fs) if ranged else None


def read_span(hea: Path, start: int, stop: int) -> RawECG:
    """:func:`read` of samples ``start:stop`` only (``wfdb.rdrecord(..., sampfrom=start, sampto=stop)``).

    Parameters
    ----------
    hea : Path
        A record :func:`extent` accepts.
    start, stop : int
        ``0 <= start < stop <=`` the record's length, samples.

    Raises
    ------
    ValueError
        For a range outside the record, or a record :func:`extent` refuses; the message names ``hea``.
    """
    size = extent(hea)
    if size is None:
        raise ValueError(f"{hea}: this record cannot be read in ranges (a .mat, compressed or multi-rate "
                         "record, or no length in the header); expected a .dat record of fixed-width samples")
    if not 0 <= start < stop <= size[0]:
        raise ValueError(f"{hea}: samples {start}:{stop} requested; expected 0 <= start < stop <= {size[0]}")
    return _read(hea, (start, stop))


def _read(hea: Path, span: tuple[int, int] | None) -> RawECG:
    """:func:`read` of the whole record (``span`` None) or of samples ``span[0]:span[1]``."""
    import wfdb

    header = _parse_header(hea)
    info = _parse_comments(header.comments, str(hea))
    if header.n_sig == 0:
        raise ValueError(f"{hea}: the header declares no signals; expected ECG leads")
    if header.sig_len == 0:
        raise ValueError(f"{hea}: the record has zero samples; expected at least one sample per lead")
    if header.fs is not None:  # the rate first: a record at 0 Hz or 1e9 Hz is not decoded
        check_rate(header.fs, str(hea))
    _check_length(str(hea), header.sig_len, header.fs)
    larger = _check_signal_files(hea, header)
    files = {s.file for s in header.signals}
    mats = [f for f in files if f.lower().endswith(".mat") or _magic(hea.parent / f, 6) == b"MATLAB"]
    if mats and len(files) > 1:
        raise ValueError(f"{hea}: signals split over several files including a .mat; expected one .mat file")
    layout = _mat_layout(hea.parent / mats[0], hea, header) if mats else "dat"
    if layout == "v4" and not re.fullmatch(r"[-\w]+", header.record_name):
        # a Challenge header naming the record with its extension ("E00271.mat 12 500 ..."): wfdb
        # refuses that record line, scipy reads the same v4 file
        layout = "loadmat"
    if layout == "loadmat":
        signal = _read_mat_loadmat(hea.parent / mats[0], hea, header)
        names = [s.name for s in header.signals]
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # wfdb warns about things we check ourselves
                wrec = wfdb.rdrecord(str(hea.with_suffix("")), physical=True,
                                     **({} if span is None else {"sampfrom": span[0], "sampto": span[1]}))
        except Exception as exc:  # wfdb raises many exception types; report them uniformly
            raise ValueError(f"{hea}: wfdb cannot read the record ({type(exc).__name__}: {exc}); "
                             "expected a valid WFDB record") from exc
        if wrec.p_signal is None:
            raise ValueError(f"{hea}: wfdb returned no samples; expected a single-segment record")
        signal = np.asarray(wrec.p_signal, dtype=np.float64).T
        want = header.sig_len if span is None else span[1] - span[0]
        if want is not None and signal.shape[1] != want:
            raise ValueError(f"{hea}: read {signal.shape[1]} samples per signal but the header promises "
                             f"{want}; expected a complete signal file")
        names = list(wrec.sig_name)
    units = [s.units or "mV" for s in header.signals]  # as written (wfdb mangles e.g. "µV")
    # invalid-sample codes in data decoded with the wrong format: say so, not just "missing samples"
    hint = (f"{', '.join(larger)} is larger than {hea.name} declares, so the format code in {hea.name} is "
            "probably wrong") if larger else ""
    # the WFDB default of 250 Hz is a guess we do not make for an ECG
    return raw_from_channels(str(hea), names, signal, header.fs, fmt="WFDB", info=info, units=units,
                             missing_hint=hint, source_format="wfdb-mat" if mats else "wfdb",
                             rate_missing=f"no sampling rate on the record line; expected {_RECORD_EXPECT} "
                                          "or the fs argument")


def _read_mat_loadmat(mat: Path, hea: Path, header: _Header) -> np.ndarray:
    """Read a Challenge .mat with scipy (v4 with an unusual layout, or v5) and apply the .hea scaling."""
    import scipy.io

    try:
        content = scipy.io.loadmat(str(mat))
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise ValueError(f"{mat}: scipy cannot read it ({exc}); expected a MATLAB v4/v5 file with 'val'") from exc
    variables = {k: v for k, v in content.items() if not k.startswith("__")}
    if "val" in variables:
        val = variables["val"]
    elif len(variables) == 1:
        val = next(iter(variables.values()))
    else:
        raise ValueError(f"{mat}: variables {sorted(variables)}; expected one named 'val'")
    val = np.asarray(val)
    if val.ndim != 2 or val.shape[0] != header.n_sig or not np.issubdtype(val.dtype, np.number):
        raise ValueError(f"{mat}: 'val' has shape {val.shape} ({val.dtype}); expected a numeric "
                         f"({header.n_sig}, samples) matrix")
    n = val.shape[1] if header.sig_len is None else header.sig_len
    if val.shape[1] < n:
        raise ValueError(f"{mat}: holds {val.shape[1]} samples per signal but {hea.name} promises {n}; "
                         "expected a complete file")
    if val.shape[1] > n:
        _note(f"{mat}: holds {val.shape[1]} samples per signal but {hea.name} declares {n}; "
              "only those are read (wrong length in the header?)")
    digital = val[:, :n].astype(np.float64)
    if val.dtype == np.int16:
        digital[val[:, :n] == -32768] = np.nan  # WFDB invalid sample
    gains = np.array([s.gain for s in header.signals])[:, None]
    base = np.array([s.baseline for s in header.signals], dtype=np.float64)[:, None]
    return (digital - base) / gains


READER = Reader(name="wfdb", kind="WFDB", suffixes=(".hea",), sniff=None, read=read, companions=(".dat", ".mat"),
                extent=extent, read_span=read_span)
