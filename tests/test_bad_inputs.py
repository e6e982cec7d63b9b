"""The bad-input corpus (issue #6): broken, hostile and odd files, each through the library, the CLI and the app.

Every case is a small function that writes its file(s) into a folder (the first file is the one opened)
and is registered with what must happen:

* library: ``read_record(path)`` and ``read_record(uploads)`` (what the app calls) raise a ValueError (or the
  case's subclass, e.g. InvalidSampleRate for a rate of 0, -500, NaN or 1e9 Hz) naming the file and the
  problem; or, for odd but plausible data, read it with a note in ``meta.notes`` (never a warning) and the
  record is checked (cases marked "warn");
* CLI: ``l2g reconstruct FILE --available I,II --out DIR`` exits with status 2 and exactly one stderr line
  naming the file and the problem; a readable file is reconstructed, its notes as ``l2g: note:`` lines;
* app: uploading the file(s) on the viewer page shows one error and keeps the open record and its lead
  selection; a readable file is opened, its notes shown.

Run: ``.venv/bin/python -m pytest tests/test_bad_inputs.py`` (table in docs/RELIABILITY.md, "Bad inputs").
"""

from __future__ import annotations

import contextlib
import re
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from streamlit.testing.v1 import AppTest

from l2g import io as l2gio
from l2g.cli import main
from l2g.io import InvalidSampleRate, read_record
from l2g.leads import LEADS
from l2g.record import ABSENT, RECORDED, Record
from tests.app_helpers import load_errors
from tests.ecg_factory import synthetic_record
from tests.test_io import write_challenge_mat, write_edf

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
FS = 500
LAYERS = ("path", "upload", "cli", "app")


# ------------------------------------------------------------------ the corpus
@dataclass(frozen=True)
class Case:
    """One bad input and what every layer must do with it."""

    write: Callable[[Path, str], list[Path]]  # (folder, stem) -> files written; the first is opened
    expect: str  # "error", "warn" or "ok"
    problem: str = ""  # regex the error (or one warning) matches
    check: Callable[[Record], None] | None = None  # the record read, for "warn" and "ok"
    layers: tuple[str, ...] = LAYERS
    upload: str | None = None  # outcome of an upload (library and app) when it differs from ``expect``
    upload_problem: str = ""
    upload_limit: int | None = None  # l2g.io.MAX_UPLOAD_BYTES during the case
    max_inflated: int | None = None  # most bytes read out of zip entries (zip bombs)
    raises: type[ValueError] = ValueError  # the library's error, for "error" (a ValueError subclass)

    def uploads(self, files: list[Path]) -> list[tuple[str, bytes]]:
        return [(p.name, p.read_bytes()) for p in files]


CASES: dict[str, Case] = {}


def case(name: str, expect: str, problem: str = "", **kw) -> Callable:
    """Register the decorated writer as corpus case ``name``."""

    def register(write: Callable[[Path, str], list[Path]]) -> Callable:
        CASES[name] = Case(write, expect, problem, **kw)
        return write

    return register


def ecg(seconds: float = 4.0, fs: float = FS, seed: int = 0) -> np.ndarray:
    """A plausible 12-lead ECG, (12, samples) mV."""
    return synthetic_record(duration_s=seconds, fs=fs, seed=seed).signal.astype(np.float64)


def wfdb_files(d: Path, stem: str, signal: np.ndarray | None = None, leads=LEADS, *, fs: float = FS,
               gain: float = 1000.0, fmt: str = "16", n_declared: int | None = None,
               comments: bytes = b"") -> list[Path]:
    """A format-16 WFDB record written by hand: ``<stem>.hea`` + ``<stem>.dat`` (``signal`` in mV)."""
    x = ecg(fs=fs) if signal is None else signal
    digital = np.clip(np.round(x * gain), -32768, 32767).astype("<i2")
    n = digital.shape[1]
    lines = [f"{stem} {len(leads)} {fs:g} {n if n_declared is None else n_declared}"]
    lines += [f"{stem}.dat {fmt} {gain:g}/mV 16 0 0 0 0 {lead}" for lead in leads]
    hea, dat = d / f"{stem}.hea", d / f"{stem}.dat"
    hea.write_bytes(("\n".join(lines) + "\n").encode() + comments)
    dat.write_bytes(digital.T.tobytes())
    return [hea, dat]


def mat_files(d: Path, stem: str, **kw) -> list[Path]:
    """A Challenge record: ``<stem>.hea`` + ``<stem>.mat`` (MATLAB v4 unless ``fmt="5"``)."""
    hea = write_challenge_mat(d, stem, np.round(ecg() * 1000).astype(np.int16), **kw)
    return [hea, hea.with_suffix(".mat")]


def edf_file(d: Path, stem: str) -> Path:
    path = d / f"{stem}.edf"
    x = ecg()
    write_edf(path, [x[0], x[1]], ["ECG I", "ECG II"], [FS, FS])
    return path


def csv_text(seconds: float = 2.0, fs: float = 250.0) -> list[str]:
    x = ecg(seconds, fs)
    return ["time_s,I,II,V2"] + [f"{k / fs:.4f},{a:.4f},{b:.4f},{c:.4f}" for k, (a, b, c) in enumerate(x[[0, 1, 7]].T)]


def zip_of(path: Path, entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def garbage(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


# WFDB headers -----------------------------------------------------------
@case("hea-empty", "error", r"no record line; expected a WFDB header")
def _(d: Path, stem: str) -> list[Path]:
    files = wfdb_files(d, stem)
    files[0].write_bytes(b"")
    return files


@case("hea-truncated", "error", r"the header declares 12 signals but has 3 signal lines")
def _(d: Path, stem: str) -> list[Path]:
    files = wfdb_files(d, stem)
    files[0].write_bytes(files[0].read_bytes()[:150])  # cut inside the fourth signal line
    return files


@case("hea-binary-garbage", "error", r"line 1: cannot parse the record line")
def _(d: Path, stem: str) -> list[Path]:
    files = wfdb_files(d, stem)
    files[0].write_bytes(garbage(600, 1).replace(b"\n", b" ").replace(b"#", b" "))
    return files


@case("hea-non-utf8-comments", "ok",
      check=lambda r: r.meta.diagnoses[0].name == "Vorhofflimmern mit Überleitung" and r.meta.age == 71)
def _(d: Path, stem: str) -> list[Path]:
    comments = "#Age: 71\n#Diagnosis: Vorhofflimmern mit Überleitung\n".encode("latin-1") + b"#\x80\xfe\xff raw\n"
    return wfdb_files(d, stem, comments=comments)


# WFDB signal files ------------------------------------------------------
@case("dat-empty", "error", r"truncated: holds 0 bytes")
def _(d: Path, stem: str) -> list[Path]:
    files = wfdb_files(d, stem)
    files[1].write_bytes(b"")
    return files


@case("dat-truncated", "error", r"truncated: holds 1001 bytes \(41 samples per signal\)")
def _(d: Path, stem: str) -> list[Path]:
    files = wfdb_files(d, stem)
    files[1].write_bytes(files[1].read_bytes()[:1001])
    return files


@case("dat-binary-garbage", "warn", r"peak-to-peak amplitude I \d+(\.\d+)? mV, .*expected at most 30 mV",
      check=lambda r: r.recorded_leads == LEADS)
def _(d: Path, stem: str) -> list[Path]:  # any bytes are format-16 samples: only the amplitude gives it away
    files = wfdb_files(d, stem)
    noise = np.random.default_rng(2).integers(-32767, 32768, 12 * 4 * FS).astype("<i2")
    files[1].write_bytes(noise.tobytes())
    return files


@case("header-promises-more-samples", "error", r"truncated: .* but the header promises 4000 samples")
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, n_declared=4000)


@case("header-declares-fewer-samples", "warn", r"holds 48000 bytes but 1000 samples .* only those are read",
      check=lambda r: r.n_samples == 1000)
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, n_declared=1000)


@case("format-unknown", "error", r"line 2: unknown format '17'")
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, fmt="17")


@case("format-8-on-16-bit-data", "warn", r"in format 8 take 24000; only those are read")
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, fmt="8")


# Challenge .mat ---------------------------------------------------------
@case("mat-empty", "error", r"0 bytes, too short for a MAT file")
def _(d: Path, stem: str) -> list[Path]:
    files = mat_files(d, stem)
    files[1].write_bytes(b"")
    return files


@case("mat-truncated", "error", r"truncated: holds \d+ of the 2000 samples its MAT header declares")
def _(d: Path, stem: str) -> list[Path]:
    files = mat_files(d, stem)
    files[1].write_bytes(files[1].read_bytes()[:5000])
    return files


@case("mat-binary-garbage", "error", r"not a MATLAB v4 or v5 MAT file")
def _(d: Path, stem: str) -> list[Path]:
    files = mat_files(d, stem)
    files[1].write_bytes(garbage(48020, 3))
    return files


@case("mat-v7.3-hdf5", "error", r"MATLAB v7.3 \(HDF5\) files are not supported")
def _(d: Path, stem: str) -> list[Path]:
    files = mat_files(d, stem)
    with h5py.File(files[1], "w", userblock_size=512) as h5:
        h5["val"] = np.zeros((2000, 12), np.int16)
    raw = bytearray(files[1].read_bytes())
    raw[:128] = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(124) + b"\x00\x02IM"
    files[1].write_bytes(bytes(raw))
    return files


@case("mat-v5-struct", "error", r"'val' has shape \(1, 1\) .*expected a numeric \(12, samples\) matrix")
def _(d: Path, stem: str) -> list[Path]:
    files = mat_files(d, stem, fmt="5")
    scipy.io.savemat(files[1], {"val": {"leads": np.zeros((12, 10))}})
    return files


@case("mat-v5", "ok", check=lambda r: r.source_format == "wfdb-mat" and r.recorded_leads == LEADS)
def _(d: Path, stem: str) -> list[Path]:
    return mat_files(d, stem, fmt="5")


@case("mat-longer-than-header", "warn", r"holds 2000 samples per signal but \S+ declares 1500",
      check=lambda r: r.n_samples == 1500)
def _(d: Path, stem: str) -> list[Path]:
    files = mat_files(d, stem)
    text = files[0].read_text()
    files[0].write_text(text.replace(f"{stem} 12 {FS} 2000", f"{stem} 12 {FS} 1500", 1))
    return files


# EDF, CSV, HDF5 ---------------------------------------------------------
@case("edf-empty", "error", r"0 bytes, too short for an EDF header")
def _(d: Path, stem: str) -> list[Path]:
    (d / f"{stem}.edf").write_bytes(b"")
    return [d / f"{stem}.edf"]


@case("edf-truncated", "error", r"truncated: holds 2 complete data records but the header promises 4")
def _(d: Path, stem: str) -> list[Path]:
    path = edf_file(d, stem)
    path.write_bytes(path.read_bytes()[:-3000])
    return [path]


@case("edf-binary-garbage", "error", r"is not supported; expected EDF")
def _(d: Path, stem: str) -> list[Path]:
    (d / f"{stem}.edf").write_bytes(garbage(3000, 4))
    return [d / f"{stem}.edf"]


@case("csv-empty", "error", r"empty file; expected a first row of lead names")
def _(d: Path, stem: str) -> list[Path]:
    (d / f"{stem}.csv").write_bytes(b"")
    return [d / f"{stem}.csv"]


@case("csv-binary-garbage", "error", r"binary data \(NUL bytes\), not text")
def _(d: Path, stem: str) -> list[Path]:
    (d / f"{stem}.csv").write_bytes(b"\x00" + garbage(3000, 5))
    return [d / f"{stem}.csv"]


@case("csv-missing-cells", "error", r"lead I has 3 missing \(NaN\) samples, the first at t=0\.040 s")
def _(d: Path, stem: str) -> list[Path]:
    lines = csv_text()
    for k in (11, 12, 40):  # empty cells in lead I (time 0.04 s, 0.044 s, 0.156 s)
        t, _, rest = lines[k].split(",", 2)
        lines[k] = f"{t},,{rest}"
    (d / f"{stem}.csv").write_text("\n".join(lines) + "\n")
    return [d / f"{stem}.csv"]


@case("csv-missing-time", "error", r"time column 'time_s' has missing values")
def _(d: Path, stem: str) -> list[Path]:
    lines = csv_text()
    lines[5] = "," + lines[5].split(",", 1)[1]
    (d / f"{stem}.csv").write_text("\n".join(lines) + "\n")
    return [d / f"{stem}.csv"]


@case("h5-binary-garbage", "error", r"not an HDF5 file \(bad signature\)")
def _(d: Path, stem: str) -> list[Path]:
    (d / f"{stem}.h5").write_bytes(garbage(3000, 6))
    return [d / f"{stem}.h5"]


@case("h5-truncated", "error", r"h5py cannot read it .*truncated file")
def _(d: Path, stem: str) -> list[Path]:
    path = d / f"{stem}.h5"
    with h5py.File(path, "w") as h5:
        h5["ecg"] = ecg()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return [path]


# zip archives and upload limits ---------------------------------------------
@case("zip-binary-garbage", "error", r"not a readable zip file")
def _(d: Path, stem: str) -> list[Path]:
    (d / f"{stem}.zip").write_bytes(b"PK\x03\x04" + garbage(3000, 7))
    return [d / f"{stem}.zip"]


@case("zip-truncated", "error", r"not a readable zip file")
def _(d: Path, stem: str) -> list[Path]:
    hea, dat = wfdb_files(d, stem)
    path = zip_of(d / f"{stem}.zip", {hea.name: hea.read_bytes(), dat.name: dat.read_bytes()})
    hea.unlink()
    dat.unlink()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return [path]


@case("zip-parent-path", "error", r"entry '\.\./evil_zip_parent_path\.hea' has an absolute or parent path")
def _(d: Path, stem: str) -> list[Path]:
    hea, dat = wfdb_files(d, stem)
    entries = {f"../evil_{stem}.hea": hea.read_bytes(), dat.name: dat.read_bytes()}
    hea.unlink()
    dat.unlink()
    return [zip_of(d / f"{stem}.zip", entries)]


@case("zip-bomb-ratio", "error", r"entry 'bomb\.csv' expands \d+-fold; .*\(zip bomb\?\)", max_inflated=0)
def _(d: Path, stem: str) -> list[Path]:  # 64 MiB of zeros in ~65 kB
    return [zip_of(d / f"{stem}.zip", {"bomb.csv": bytes(64 << 20)})]


@case("zip-bomb-declared-size", "error", r"4000000000 bytes uncompressed; expected at most 209715200 bytes",
      max_inflated=0)
def _(d: Path, stem: str) -> list[Path]:  # entries declaring 4 GB: refused before anything is inflated
    path = zip_of(d / f"{stem}.zip", {"bomb.csv": bytes(1 << 20)})
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size, local + central header
        pos = data.find(sig)
        data[pos + offset:pos + offset + 4] = struct.pack("<I", 4_000_000_000)
    path.write_bytes(bytes(data))
    return [path]


@case("zip-bomb-lying-size", "error", r"entry 'bomb\.csv' is larger than declared|cannot extract 'bomb\.csv'",
      max_inflated=1 << 20)
def _(d: Path, stem: str) -> list[Path]:  # declares 1000 bytes, inflates to 8 MiB: stopped at the first chunk
    path = zip_of(d / f"{stem}.zip", {"bomb.csv": b"I\n" + b"1\n" * (4 << 20)})
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = data.find(sig)
        data[pos + offset:pos + offset + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    return [path]


@case("zip-too-many-entries", "error", r"1001 files; expected at most 1000", max_inflated=0)
def _(d: Path, stem: str) -> list[Path]:
    return [zip_of(d / f"{stem}.zip", {f"f{k}.csv": b"" for k in range(1001)}, zipfile.ZIP_STORED)]


@case("upload-over-the-limit", "ok", check=lambda r: r.recorded_leads == LEADS, upload="error",
      upload_problem=r"^upload \S+, \S+: \d+ bytes in all; expected at most 30000 bytes", upload_limit=30_000)
def _(d: Path, stem: str) -> list[Path]:  # 48 kB of samples; a local file has no size limit
    return wfdb_files(d, stem)


# missing samples and odd signals --------------------------------------------
@case("nan-run", "error", r"lead V2 has 250 missing \(NaN\) samples, the first at t=1\.000 s")
def _(d: Path, stem: str) -> list[Path]:
    files = wfdb_files(d, stem)
    digital = np.frombuffer(files[1].read_bytes(), "<i2").reshape(-1, 12).copy()
    digital[FS:FS + FS // 2, LEADS.index("V2")] = -32768  # WFDB's invalid sample: 0.5 s missing
    files[1].write_bytes(digital.tobytes())
    return files


@case("lead-off-flat", "warn", r"leads V2, V3 are flat \(peak-to-peak below 0\.02 mV",
      check=lambda r: r.status_of("V2") == RECORDED and np.ptp(r.lead("V2")) == 0)
def _(d: Path, stem: str) -> list[Path]:
    x = ecg()
    x[LEADS.index("V2")] = 0.0
    x[LEADS.index("V3")] = 0.25
    return wfdb_files(d, stem, x)


@case("saturated-lead", "warn", r"lead II is saturated: [\d.]+% of the samples sit at the lead's maximum or minimum",
      check=lambda r: np.max(r.lead("II")) == 0.5)
def _(d: Path, stem: str) -> list[Path]:
    x = ecg()
    x[1] = np.clip(3 * x[1], -0.5, 0.5)
    return wfdb_files(d, stem, x)


@case("uV-labelled-as-mV", "warn", r"peak-to-peak amplitude I [\d.]+ mV, II [\d.]+ mV.*µV labelled as mV",
      check=lambda r: np.ptp(r.lead("II")) > 500)
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, ecg()[:2] * 1000, leads=("I", "II"), gain=1.0)


# durations and rates ------------------------------------------------------
@case("record-1-s", "ok", check=lambda r: (r.n_samples, r.fs, r.recorded_leads) == (FS, FS, LEADS))
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, ecg(1.0))


@case("record-24-h", "ok", layers=("path",),
      check=lambda r: (r.fs, r.duration, r.recorded_leads) == (250, 86400, ("I", "II"))
      and float(np.ptp(r.lead("II"))) < 5)
def _(d: Path, stem: str) -> list[Path]:  # two leads at 250 Hz: 43 MB; read only (reconstruction: bench/)
    files = wfdb_files(d, stem, ecg(20.0, 250.0)[:2], leads=("I", "II"), fs=250, n_declared=24 * 3600 * 250)
    files[1].write_bytes(files[1].read_bytes() * (24 * 3600 // 20))  # the 20-s strip, 4320 times
    return files


@case("fs-128-Hz", "ok", check=lambda r: (r.fs, r.n_samples) == (128, 1280))
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, ecg(10.0, 128.0), fs=128)


@case("fs-1-kHz", "ok", check=lambda r: (r.fs, r.n_samples) == (1000, 4000))
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, ecg(4.0, 1000.0), fs=1000)


# rates that no ECG has (issue #24: a WFDB header at 0 Hz crashed with a ZeroDivisionError) ------------
RATE_PROBLEM = r"sampling rate {} Hz in the file; expected a number from 1 to 100000 Hz"


def edf_with_block(d: Path, stem: str, block: str) -> list[Path]:
    """An EDF file whose data-record duration field reads ``block`` (rate = samples per record / duration)."""
    path = edf_file(d, stem)
    raw = bytearray(path.read_bytes())
    raw[244:252] = block.encode().ljust(8)
    path.write_bytes(bytes(raw))
    return [path]


def h5_with_rate(d: Path, stem: str, fs: float) -> list[Path]:
    path = d / f"{stem}.h5"
    with h5py.File(path, "w") as h5:
        h5["ecg"] = ecg()
        h5["ecg"].attrs["fs"] = fs
    return [path]


for _label, _fs, _shown in (("zero", 0.0, "0"), ("negative", -500.0, "-500"), ("nan", float("nan"), "nan"),
                            ("1e9", 1e9, r"1e\+09")):
    case(f"fs-{_label}", "error", RATE_PROBLEM.format(_shown), raises=InvalidSampleRate)(
        lambda d, stem, fs=_fs: wfdb_files(d, stem, ecg(), fs=fs))
    case(f"h5-fs-{_label}", "error", RATE_PROBLEM.format(_shown), raises=InvalidSampleRate)(
        lambda d, stem, fs=_fs: h5_with_rate(d, stem, fs))


@case("edf-duration-nan", "error", r"data record duration nan; expected a positive number of seconds")
def _(d: Path, stem: str) -> list[Path]:  # EDF states no rate but a duration: the duration is refused
    return edf_with_block(d, stem, "nan")


@case("edf-fs-5e11", "error", RATE_PROBLEM.format(r"5e\+11"), raises=InvalidSampleRate)
def _(d: Path, stem: str) -> list[Path]:  # 500 samples per 1 ns data record
    return edf_with_block(d, stem, "1e-9")


@case("csv-fs-1e9", "error", RATE_PROBLEM.format(r"1e\+09"), raises=InvalidSampleRate)
def _(d: Path, stem: str) -> list[Path]:  # a time column in seconds that was meant in ns
    x = ecg(0.5)
    rows = ["time_s,I,II"] + [f"{k * 1e-9:.12g},{a:.4f},{b:.4f}" for k, (a, b) in enumerate(x[:2].T)]
    (d / f"{stem}.csv").write_text("\n".join(rows) + "\n")
    return [d / f"{stem}.csv"]


# lead names -------------------------------------------------------------
@case("duplicate-lead", "error", r"channels 'II' and 'II' are both lead II")
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, leads=[("II" if lead == "III" else lead) for lead in LEADS])


@case("duplicate-lead-alias", "error", r"channels 'II' and 'ECG_II' are both lead II")
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, leads=[("ECG_II" if lead == "V6" else lead) for lead in LEADS])


@case("unknown-lead-names", "warn", r"ignoring channel\(s\) that are not ECG leads: foo, Resp",
      check=lambda r: r.status_of("III") == ABSENT and r.meta.other_channels == ("foo", "Resp"))
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, leads=[{"III": "foo", "aVR": "Resp"}.get(lead, lead) for lead in LEADS])


@case("no-ecg-lead", "error", r"no ECG lead among the channels \['foo', 'bar'\]")
def _(d: Path, stem: str) -> list[Path]:
    return wfdb_files(d, stem, ecg()[:2], leads=("foo", "bar"))


# ------------------------------------------------------------------ harness
def write_case(name: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Case, list[Path]]:
    """The case and its files (named after it, so that every message can be traced to it)."""
    c = CASES[name]
    if c.upload_limit is not None:
        monkeypatch.setattr(l2gio.archive, "MAX_UPLOAD_BYTES", c.upload_limit)
    folder.mkdir(parents=True, exist_ok=True)
    return c, c.write(folder, re.sub(r"\W", "_", name))


@contextlib.contextmanager
def inflation(limit: int | None) -> Iterator[None]:
    """Fail if more than ``limit`` bytes are read out of zip entries inside the block (None: no check)."""
    read = zipfile.ZipExtFile.read
    total = [0]

    def counting(self, n=-1):
        data = read(self, n)
        total[0] += len(data)
        return data

    with pytest.MonkeyPatch.context() as mp:
        if limit is not None:
            mp.setattr(zipfile.ZipExtFile, "read", counting)
        yield
    assert limit is None or total[0] <= limit, f"{total[0]} bytes inflated; expected at most {limit}"


def names_a_file(message: str, files: list[Path]) -> bool:
    return any(p.name in message for p in files)


def nothing_escaped(stem: str) -> None:
    assert not list(Path(tempfile.gettempdir()).glob(f"evil_{stem}*"))


def read_as_expected(c: Case, source, expect: str, problem: str, files: list[Path]) -> None:
    """``read_record(source)`` raises, warns or reads as ``expect`` says, naming the file."""
    with inflation(c.max_inflated):
        if expect == "error":
            with pytest.raises(c.raises, match=problem) as err:
                read_record(source)
            assert names_a_file(str(err.value), files), err.value
            assert tempfile.gettempdir() not in str(err.value) or not isinstance(source, list)
            return
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # readers return notes, they never warn
            rec = read_record(source)
        notes = rec.meta.notes
        if expect == "warn":
            assert any(re.search(problem, n) for n in notes), notes
            assert all(names_a_file(n, files) for n in notes), notes
        else:
            assert not notes, notes
    assert c.check is None or c.check(rec), rec


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "record-24-h" else n
                                  for n in CASES])
def test_library(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_record on the file, and on the same files uploaded (the app's path)."""
    c, files = write_case(name, tmp_path, monkeypatch)
    if "path" in c.layers:
        read_as_expected(c, files[0], c.expect, c.problem, files)
    if "upload" in c.layers:
        read_as_expected(c, c.uploads(files), c.upload or c.expect, c.upload_problem or c.problem, files)
    nothing_escaped(files[0].stem)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "cli" in c.layers])
def test_cli(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``l2g reconstruct FILE --available I,II --out DIR``: one error line, or a reconstruction."""
    c, files = write_case(name, tmp_path / "in", monkeypatch)
    out = tmp_path / "out"
    with inflation(c.max_inflated):
        rc = main(["reconstruct", str(files[0]), "--available", "I,II", "--out", str(out), "--no-progress"])
    stdout, stderr = capsys.readouterr()
    lines = stderr.splitlines()
    if c.expect == "error":
        assert rc == 2 and stdout == ""
        assert len(lines) == 1 and lines[0].startswith("l2g: error: "), stderr
        assert names_a_file(lines[0], files) and re.search(c.problem, lines[0]), lines[0]
        assert not out.exists()
    else:
        assert rc == 0, stderr
        assert all(line.startswith(("l2g: note: ", "l2g: warning: ")) for line in lines), stderr
        assert not any(line.startswith("l2g: warning: ") and names_a_file(line, files) for line in lines), stderr
        ours = [line for line in lines if names_a_file(line, files)]
        if c.expect == "warn":
            assert any(re.search(c.problem, line) for line in ours), stderr
        else:
            assert not ours, stderr
        back, given = read_record(out / f"{files[0].stem}.hea"), read_record(files[0])
        assert (back.fs, back.n_samples) == (given.fs, given.n_samples)
        assert np.abs(back.signal[:2] - given.signal[:2]).max() <= 1e-3  # I and II kept (1 µV)
    nothing_escaped(files[0].stem)


@pytest.mark.parametrize(("name", "after"), [("hea-binary-garbage", "line 1:"), ("fs-zero", "sampling rate 0 Hz")])
def test_cli_process_prints_one_line_and_no_traceback(name: str, after: str, tmp_path: Path) -> None:
    """The real ``python -m l2g`` process (no capsys): one stderr line, exit status 2."""
    c, files = write_case(name, tmp_path, pytest.MonkeyPatch())
    proc = subprocess.run([sys.executable, "-m", "l2g", "reconstruct", str(files[0]), "--available", "I,II",
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"l2g: error: {files[0]}: {after}"), proc.stderr


@pytest.mark.parametrize("fs", ["0", "-500", "nan", "1e9"])
def test_fs_argument_out_of_range(fs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV without a time column at an impossible ``fs``: the typed error in the library, one line from the CLI."""
    path = tmp_path / "no_time.csv"
    path.write_text("I,II\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in ecg(2.0)[:2].T))
    problem = rf"fs={re.escape(f'{float(fs):g}')} Hz; expected a number from 1 to 100000 Hz$"
    with pytest.raises(InvalidSampleRate, match=f"^{problem}"):
        read_record(path, fs=float(fs))
    out = tmp_path / "out"
    rc = main(["reconstruct", str(path), "--available", "I,II", "--fs", fs, "--out", str(out), "--no-progress"])
    stdout, stderr = capsys.readouterr()
    assert rc == 2 and stdout == "" and not out.exists()
    assert len(stderr.splitlines()) == 1 and re.match(f"l2g: error: {problem}", stderr.strip()), stderr


# ------------------------------------------------------------------ the app
@pytest.fixture(scope="module")
def app() -> Iterator[AppTest]:
    """One viewer session for the whole corpus, with a good record open and V2 unticked."""
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
        mp.delenv("L2G_DATA_DIR", raising=False)
        at = AppTest.from_file(APP, default_timeout=180).run()
        files = wfdb_files(Path(tmp), "good_record")
        at.file_uploader(key="upload").set_value([(p.name, p.read_bytes(), "application/octet-stream")
                                                  for p in files]).run()
        at.checkbox(key="lead_V2").uncheck().run()
        assert not at.exception and not at.error
        yield at


def title(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("#### "))


def ticked(at: AppTest) -> tuple[str, ...]:
    return tuple(lead for lead in LEADS if at.checkbox(key=f"lead_{lead}").value)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "app" in c.layers])
def test_app(name: str, app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upload on the viewer page: an error and the open record kept, or the new record opened."""
    c, files = write_case(name, tmp_path, monkeypatch)
    before, selection = title(app), ticked(app)
    with inflation(c.max_inflated):
        app.file_uploader(key="upload").set_value([(p.name, p.read_bytes(), "application/octet-stream")
                                                   for p in files]).run()
    assert not app.exception, app.exception
    expect, problem = c.upload or c.expect, c.upload_problem or c.problem
    if expect == "error":
        errors = load_errors(app)
        assert len(errors) == 1, errors
        detail = errors[0].split("  \nWhy: ", 1)[1]  # the reader's words, after the plain ones
        assert names_a_file(detail, files) and re.search(problem, detail), detail
        assert title(app) == before and ticked(app) == selection  # the open record stays, as it was
    else:
        assert not load_errors(app), load_errors(app)
        assert f"#### {files[0].stem}\n" in title(app)
        shown = [w.value for w in app.warning]
        if expect == "warn":
            assert any(re.search(problem, w) for w in shown), shown
        else:
            assert not [w for w in shown if names_a_file(w, files)], shown
    nothing_escaped(files[0].stem)
