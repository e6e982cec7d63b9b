"""Tests of l2g.io on files the tests write themselves (no shared data needed)."""

from __future__ import annotations

import io
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import wfdb

from l2g import io as l2gio
from l2g.io import read_record, write_csv, write_wfdb
from l2g.leads import LEADS, normalize_lead_name
from l2g.record import Diagnosis, Metadata, Provenance, Record
from l2g.snomed import SNOMED_CT, snomed_abbreviation, snomed_name

from .ecg_factory import assert_note, synthetic_record

FS = 500
N = 2000  # 4 s
UV = 1e-3  # 1 µV in mV


# ---------------------------------------------------------------- helpers
def synthetic_signal(n_leads: int = 12, n: int = N, fs: float = FS, seed: int = 0) -> np.ndarray:
    """(n_leads, n) float64 mV: a few sines plus noise, peaks around 1-3 mV."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    rows = []
    for k in range(n_leads):
        f1, f2 = 1.1 + 0.1 * k, 7.0 + 0.5 * k
        rows.append(1.5 * np.sin(2 * np.pi * f1 * t + k) + 0.4 * np.sin(2 * np.pi * f2 * t)
                    + 0.05 * rng.standard_normal(n))
    return np.array(rows)


def write_fmt16(
    directory: Path,
    name: str,
    digital: np.ndarray,
    sig_names: list[str],
    *,
    gains: list[float] | None = None,
    units: str = "mV",
    comments: list[str] = (),
    fs: float = FS,
    n_declared: int | None = None,
    ext: str = ".dat",
) -> Path:
    """Write a format-16 WFDB record by hand; ``digital`` is (channels, samples) int."""
    digital = np.asarray(digital, dtype=np.int16)
    n_ch, n = digital.shape
    gains = gains or [1000.0] * n_ch
    lines = [f"{name} {n_ch} {fs:g} {n if n_declared is None else n_declared}"]
    for k in range(n_ch):
        lines.append(f"{name}{ext} 16 {gains[k]:g}(0)/{units} 16 0 0 0 0 {sig_names[k]}")
    lines += [f"#{c}" for c in comments]
    (directory / f"{name}.hea").write_text("\n".join(lines) + "\n")
    (directory / f"{name}{ext}").write_bytes(digital.T.astype("<i2").tobytes())
    return directory / f"{name}.hea"


def write_challenge_mat(directory: Path, name: str, val: np.ndarray, *, fmt: str = "4",
                        comments: list[str] = ("Age: 60", "Sex: Male", "Dx: 426783006")) -> Path:
    """A Challenge-style record: <name>.mat (variable 'val', leads x samples) + <name>.hea."""
    scipy.io.savemat(directory / f"{name}.mat", {"val": val}, format=fmt)
    n_ch, n = val.shape
    lines = [f"{name} {n_ch} {FS} {n} 05-May-2020 14:50:55"]
    for k in range(n_ch):
        lines.append(f"{name}.mat 16+24 1000/mV 16 0 {int(val[k, 0])} 0 0 {LEADS[k]}")
    lines += [f"#{c}" for c in comments]
    (directory / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return directory / f"{name}.hea"


def write_edf(path: Path, signals: list[np.ndarray], labels: list[str], spr: list[int], *,
              units: str | list[str] = "mV", block_s: float = 1.0,
              phys: tuple[float, float] | list[tuple[float, float]] = (-10.0, 10.0),
              patient: str = "X X X X", recording: str = "Startdate X", reserved: str = "",
              n_records: int | None = None) -> float:
    """A minimal EDF writer (16-bit). ``spr``: samples per data record per signal.

    Returns the quantisation step of the first signal (its physical unit per digital step).
    """
    ns = len(labels)
    units = [units] * ns if isinstance(units, str) else units
    phys = [phys] * ns if isinstance(phys, tuple) else phys
    n_blocks = int(np.ceil(signals[0].size / spr[0]))
    dmin, dmax = -32768, 32767

    def f(value: object, width: int) -> bytes:
        return str(value).encode("latin-1")[:width].ljust(width)

    head = (f("0", 8) + f(patient, 80) + f(recording, 80) + f("01.01.20", 8) + f("10.00.00", 8)
            + f(256 * (ns + 1), 8) + f(reserved, 44) + f(n_blocks if n_records is None else n_records, 8)
            + f(f"{block_s:g}", 8) + f(ns, 4))
    head += b"".join(f(x, 16) for x in labels) + b"".join(f("", 80) for _ in labels)
    head += b"".join(f(u, 8) for u in units)
    head += b"".join(f(lo, 8) for lo, _ in phys) + b"".join(f(hi, 8) for _, hi in phys)
    head += b"".join(f(dmin, 8) for _ in labels) + b"".join(f(dmax, 8) for _ in labels)
    head += b"".join(f("", 80) for _ in labels) + b"".join(f(k, 8) for k in spr)
    head += b"".join(f("", 32) for _ in labels)
    blocks = []
    for sig, k, (pmin, pmax) in zip(signals, spr, phys, strict=True):
        step = (pmax - pmin) / (dmax - dmin)
        d = np.clip(np.round((sig - pmin) / step + dmin), dmin, dmax).astype(np.int64)
        d = np.concatenate([d, np.zeros(n_blocks * k - d.size, np.int64)])
        blocks.append(d.reshape(n_blocks, k))
    path.write_bytes(head + np.concatenate(blocks, axis=1).astype("<i2").tobytes())
    return (phys[0][1] - phys[0][0]) / (dmax - dmin)


def make_record(status: dict[str, str] | None = None, *, seed: int = 0, n: int = N) -> Record:
    sig = synthetic_signal(12, n, seed=seed).astype(np.float32)
    st = [(status or {}).get(lead, "recorded") for lead in LEADS]
    for i, s in enumerate(st):
        if s == "absent":
            sig[i] = np.nan
    generated = [lead for lead, s in zip(LEADS, st, strict=True) if s == "generated"]
    meta = Metadata(
        age=67.0,
        sex="F",
        diagnoses=(Diagnosis("426783006", snomed_name("426783006")), Diagnosis("164889003", "atrial fibrillation"),
                   Diagnosis("STTC", "ST/T change", "PTB-XL"), Diagnosis("22", "", "AHA"),
                   Diagnosis("", "Left ventricular hypertrophy.", "text")),
        comments=("free comment without a colon",),
        fields={"Rx": "Unknown", "Height": "150"},
        provenance=Provenance("model", "l2g-0.1.0", tuple(x for x in LEADS if x not in generated)[:3])
        if generated else None,
    )
    return Record(sig, FS, LEADS, tuple(st), name="synthetic", meta=meta, source_format="generated")


def uploads_of(*paths: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


# ------------------------------------------------------------ WFDB writer
STATUS_CASES = {
    "all recorded": {},
    "chest generated": {lead: "generated" for lead in LEADS[6:]},
    "mixed with absent": {"III": "absent", "aVR": "absent", "V2": "generated", "V5": "generated", "V6": "absent"},
    "single lead": {lead: "absent" for lead in LEADS if lead != "I"},
}


@pytest.mark.parametrize("case", list(STATUS_CASES))
def test_write_wfdb_round_trip_within_1uV(tmp_path: Path, case: str) -> None:
    rec = make_record(STATUS_CASES[case])
    hea = write_wfdb(rec, tmp_path / "out")
    assert hea == tmp_path / "out" / "synthetic.hea" and hea.exists()

    raw = wfdb.rdrecord(str(hea.with_suffix("")))
    assert raw.sig_name == list(rec.present_leads)
    assert raw.units == ["mV"] * len(rec.present_leads)
    idx = [LEADS.index(x) for x in rec.present_leads]
    assert np.abs(raw.p_signal.T - rec.signal[idx]).max() <= UV

    back = read_record(hea)
    assert back.leads == LEADS and back.status == rec.status
    assert back.meta == rec.meta  # age, sex, diagnoses, fields, comments, provenance
    assert np.allclose(back.signal, rec.signal, atol=UV, equal_nan=True)
    assert back.source_format == "wfdb" and back.fs == FS


def test_write_wfdb_comments_are_challenge_style(tmp_path: Path) -> None:
    rec = make_record({"V1": "generated", "V2": "generated", "V6": "absent"})
    text = write_wfdb(rec, tmp_path, name="my rec").read_text()
    assert (tmp_path / "my_rec.dat").exists()
    for line in ("# Age: 67", "# Sex: Female", "# Dx: 426783006,164889003", "# Labels: STTC",
                 "# L2G: generated leads: V1,V2 (not recorded)",
                 "# L2G: generated from: I,II,III by model l2g-0.1.0"):
        assert line in text
    assert "V6=absent" in text and "V1=generated" in text and "I=recorded" in text


@pytest.mark.parametrize("peak, fmt, gain", [(0.5, "16", 64000), (2.0, "16", 16000), (31.0, "16", 1032),
                                             (1e-6, "16", 100000), (50.0, "32", 100000)])
def test_write_wfdb_gain_rule(tmp_path: Path, peak: float, fmt: str, gain: float) -> None:
    sig = np.zeros((1, 1000), np.float32)
    sig[0, 10] = peak
    sig[0, 500:600] = np.linspace(-peak, peak, 100)
    rec = Record(sig, FS, ("II",), name="g")
    hea = write_wfdb(rec, tmp_path)
    head = wfdb.rdheader(str(hea.with_suffix("")))
    assert head.fmt == [fmt] and head.adc_gain[0] == gain
    back = read_record(hea)
    assert np.abs(back.lead("II") - sig[0]).max() <= 0.5 * UV + 1e-9


def test_write_wfdb_rejects_empty_record(tmp_path: Path) -> None:
    rec = make_record({lead: "absent" for lead in LEADS})
    with pytest.raises(ValueError, match="no recorded or generated lead"):
        write_wfdb(rec, tmp_path)


# -------------------------------------------------------------------- CSV
@pytest.mark.parametrize("case", list(STATUS_CASES))
def test_csv_round_trip(tmp_path: Path, case: str) -> None:
    rec = make_record(STATUS_CASES[case])
    path = write_csv(rec, tmp_path / "r.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header[0] == "time_s"
    assert header[1:] == [x + ("_generated" if rec.status_of(x) == "generated" else "") for x in rec.present_leads]
    back = read_record(path)
    assert back.fs == FS and back.status == rec.status and back.source_format == "csv"
    assert np.allclose(back.signal, rec.signal, atol=1e-6, equal_nan=True)


def test_csv_without_time_column_needs_fs(tmp_path: Path) -> None:
    sig = synthetic_signal(2, 100)
    path = tmp_path / "x.csv"
    path.write_text("ii,v1\n" + "\n".join(f"{a},{b}" for a, b in sig.T))
    with pytest.raises(ValueError, match="fs"):
        read_record(path)
    rec = read_record(path, fs=250)
    assert rec.fs == 250 and rec.present_leads == ("II", "V1")
    assert np.allclose(rec.lead("V1"), sig[1], atol=1e-6)


@pytest.mark.parametrize("column, scale", [("time", 1.0), ("t", 1.0), ("seconds", 1.0), ("ms", 1000.0),
                                           ("time_ms", 1000.0)])
def test_csv_time_column_gives_fs(tmp_path: Path, column: str, scale: float) -> None:
    fs = 360.0
    t = np.arange(50) / fs * scale
    path = tmp_path / "t.csv"
    path.write_text(f"{column};I;Resp\n" + "\n".join(f"{x:.6f};{np.sin(x)};0" for x in t))
    rec = read_record(path)
    assert_note(rec, "Resp")
    assert rec.fs == fs and rec.meta.other_channels == ("Resp",)
    with pytest.raises(ValueError, match="500 was given"):
        read_record(path, fs=500)


def test_csv_errors(tmp_path: Path) -> None:
    p = tmp_path / "numbers.csv"
    p.write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match="lead names"):
        read_record(p, fs=500)
    p = tmp_path / "text.csv"
    p.write_text("I,II\n1,oops\n")
    with pytest.raises(ValueError, match="line 2.*'II'.*not a number"):
        read_record(p, fs=500)
    p = tmp_path / "jitter.csv"
    p.write_text("time,I\n0,1\n0.002,1\n0.004,1\n0.020,1\n0.022,1\n")
    with pytest.raises(ValueError, match="uniformly"):
        read_record(p)


def test_csv_missing_cells_follow_nan_policy(tmp_path: Path) -> None:
    sig = synthetic_signal(2, 500)
    lines = ["time_s,I,II"]
    for i, (a, b) in enumerate(sig.T):
        lines.append(f"{i / FS},{'' if 100 <= i < 103 else a},{b}")
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"lead I has 3 missing \(NaN\) samples, the first at t=0.200 s"):
        read_record(path)
    rec = read_record(path, nan_policy="interpolate")
    assert_note(rec, "interpolated 3")
    assert np.allclose(rec.lead("I")[100:103], np.interp([100, 101, 102], [99, 103], sig[0, [99, 103]]), atol=1e-5)


# ------------------------------------------------------------ WFDB reading
@pytest.mark.parametrize("lead", LEADS)
def test_lowercase_and_alias_lead_names(tmp_path: Path, lead: str) -> None:
    digital = np.arange(200, dtype=np.int16).reshape(2, 100)
    hea = write_fmt16(tmp_path, "r", digital, [lead.lower(), "Resp"])
    rec = read_record(hea)
    assert_note(rec, "not ECG leads: Resp")
    assert rec.present_leads == (lead,)
    assert rec.meta.other_channels == ("Resp",)
    assert np.allclose(rec.lead(lead), digital[0] / 1000.0)


@pytest.mark.parametrize("form", ["hea", "stem", "dat", "str"])
def test_wfdb_path_forms(tmp_path: Path, form: str) -> None:
    digital = (synthetic_signal(12, 300) * 1000).astype(np.int16)
    hea = write_fmt16(tmp_path, "rec", digital, list(LEADS))
    source = {"hea": hea, "stem": tmp_path / "rec", "dat": tmp_path / "rec.dat", "str": str(hea)}[form]
    rec = read_record(source)
    assert rec.name == "rec" and rec.n_samples == 300 and rec.recorded_leads == LEADS
    assert np.allclose(rec.signal, digital / 1000.0, atol=1e-6)


@pytest.mark.parametrize("unit, factor", [("mV", 1.0), ("mv", 1.0), ("MV", 1.0), ("uV", 1e-3), ("µV", 1e-3),
                                          ("V", 1e3)])
def test_units_are_converted_to_mV(tmp_path: Path, unit: str, factor: float) -> None:
    digital = np.array([[100, -200, 300]], dtype=np.int16)
    hea = write_fmt16(tmp_path, "u", digital, ["V3"], gains=[10.0], units=unit)
    rec = read_record(hea)
    assert np.allclose(rec.lead("V3"), digital[0] / 10.0 * factor)


def test_unknown_unit_on_an_ecg_lead_is_an_error(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "u", np.ones((1, 10), np.int16), ["I"], units="mmHg")
    with pytest.raises(ValueError, match="unit 'mmHg'"):
        read_record(hea)


def test_duplicate_and_missing_leads(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "d", np.ones((2, 10), np.int16), ["II", "lead ii"])
    with pytest.raises(ValueError, match="both lead II"):
        read_record(hea)
    hea = write_fmt16(tmp_path, "n", np.ones((2, 10), np.int16), ["Resp", "Pleth"])
    with pytest.raises(ValueError, match="no ECG lead"):
        read_record(hea)


def test_missing_signal_file(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "m", np.ones((1, 10), np.int16), ["I"])
    (tmp_path / "m.dat").unlink()
    with pytest.raises(ValueError, match=r"m\.dat.*not found"):
        read_record(hea)


def test_truncated_dat(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "t", np.ones((12, 1000), np.int16), list(LEADS))
    dat = tmp_path / "t.dat"
    dat.write_bytes(dat.read_bytes()[: 12 * 2 * 700 + 5])
    with pytest.raises(ValueError, match=r"t\.dat: truncated.*700 samples.*promises 1000"):
        read_record(hea)


def test_header_promising_more_samples(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "p", np.ones((2, 100), np.int16), ["I", "II"], n_declared=150)
    with pytest.raises(ValueError, match="promises 150"):
        read_record(hea)


def test_zero_length_record(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "z", np.ones((2, 0), np.int16), ["I", "II"])
    with pytest.raises(ValueError, match="zero samples"):
        read_record(hea)
    p = tmp_path / "z.csv"
    p.write_text("I,II\n")
    with pytest.raises(ValueError, match="zero samples"):
        read_record(p, fs=500)


@pytest.mark.parametrize("bad_line, lineno, expected", [
    ("r 2 500 abc", 1, "record line"),
    ("r! 2 500 100", 1, "record line"),  # "E00271.mat 2 500 100" is read (test_io_dispatch.py)
    ("r.dat sixteen 1000/mV 16 0 0 0 0 I", 2, "signal line"),
    ("r.dat 999 1000/mV 16 0 0 0 0 I", 2, "unknown format"),
])
def test_bad_header_line_names_the_line(tmp_path: Path, bad_line: str, lineno: int, expected: str) -> None:
    write_fmt16(tmp_path, "r", np.ones((2, 100), np.int16), ["I", "II"])
    hea = tmp_path / "r.hea"
    lines = hea.read_text().splitlines()
    lines[lineno - 1] = bad_line
    hea.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"r\.hea: line {lineno}: .*{expected}.*expected"):
        read_record(hea)


def test_header_with_too_few_signal_lines(tmp_path: Path) -> None:
    write_fmt16(tmp_path, "r", np.ones((2, 100), np.int16), ["I", "II"])
    hea = tmp_path / "r.hea"
    hea.write_text(hea.read_text().replace("r 2 500", "r 3 500"))
    with pytest.raises(ValueError, match="declares 3 signals but has 2"):
        read_record(hea)


@pytest.mark.parametrize("style", ["#Dx: ", "# Dx: ", "#  Dx:"])
def test_header_comment_styles(tmp_path: Path, style: str) -> None:
    comments = ["Age: NaN" if "  " in style else " Age: 78", "Sex: F", f"{style[1:]}426783006,164889003",
                "Rx: Unknown", "no colon here"]
    hea = write_fmt16(tmp_path, "c", np.ones((1, 10), np.int16), ["I"], comments=comments)
    meta = read_record(hea).meta
    assert [d.code for d in meta.diagnoses] == ["426783006", "164889003"]
    assert meta.diagnoses[0] == Diagnosis("426783006", "sinus rhythm", "SNOMED-CT")
    assert meta.age == (None if "  " in style else 78.0) and meta.sex == "F"
    assert dict(meta.fields) == {"Rx": "Unknown"} and meta.comments == ("no colon here",)


def test_ludb_and_ptbxl_comments(tmp_path: Path) -> None:
    ludb = ["<age>: 51", "<sex>: M", "<diagnoses>:", "Rhythm: Sinus rhythm.", "Left ventricular hypertrophy. "]
    meta = read_record(write_fmt16(tmp_path, "l", np.ones((1, 10), np.int16), ["ii"], comments=ludb)).meta
    assert meta.age == 51 and meta.sex == "M" and not meta.fields
    assert meta.diagnoses == (Diagnosis("", "Rhythm: Sinus rhythm.", "text"),
                              Diagnosis("", "Left ventricular hypertrophy.", "text"))
    ptbxl = [" Age: 300", " Sex: Male", " Labels: STTC, HYP", " Image: x.png"]
    meta = read_record(write_fmt16(tmp_path, "p", np.ones((1, 10), np.int16), ["I"], comments=ptbxl)).meta
    assert_note(meta, "age '300'")
    assert meta.age is None and meta.fields["Age"] == "300" and meta.fields["Image"] == "x.png"
    assert meta.diagnoses == (Diagnosis("STTC", "ST/T change", "PTB-XL"), Diagnosis("HYP", "hypertrophy", "PTB-XL"))


def test_fs_argument_must_match_the_file(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "f", np.ones((1, 10), np.int16), ["I"])
    assert read_record(hea, fs=500).fs == 500
    with pytest.raises(ValueError, match="500 Hz but fs=250"):
        read_record(hea, fs=250)
    with pytest.raises(ValueError, match="nan_policy"):
        read_record(hea, nan_policy="zero")
    with pytest.raises(ValueError, match="fs=-1"):
        read_record(hea, fs=-1)


# --------------------------------------------------------------- NaN policy
def nan_record(tmp_path: Path, gap: int) -> tuple[Path, np.ndarray]:
    digital = (synthetic_signal(3, 1000) * 1000).astype(np.int16)
    digital[1, 300:300 + gap] = -32768  # WFDB "invalid sample" → NaN
    digital[2, :] = -32768  # entirely missing → absent, never an error
    return write_fmt16(tmp_path, "n", digital, ["I", "II", "V1"]), digital


@pytest.mark.parametrize("gap", [1, 50, 99])
def test_nan_policy_raise(tmp_path: Path, gap: int) -> None:
    hea, _ = nan_record(tmp_path, gap)
    with pytest.raises(ValueError, match=rf"lead II has {gap} missing \(NaN\) samples, the first at t=0.600 s"):
        read_record(hea)


@pytest.mark.parametrize("gap", [1, 50, 99])
def test_nan_policy_absent(tmp_path: Path, gap: int) -> None:
    hea, digital = nan_record(tmp_path, gap)
    rec = read_record(hea, nan_policy="absent")
    assert_note(rec, "lead II has")
    assert rec.present_leads == ("I",) and rec.status_of("II") == "absent" and rec.status_of("V1") == "absent"
    assert np.allclose(rec.lead("I"), digital[0] / 1000.0)


@pytest.mark.parametrize("gap", [1, 50, 99])
def test_nan_policy_interpolate_short_gaps(tmp_path: Path, gap: int) -> None:
    hea, digital = nan_record(tmp_path, gap)
    rec = read_record(hea, nan_policy="interpolate")
    assert_note(rec, f"interpolated {gap} missing samples in 1 gap")
    x = rec.lead("II")
    assert np.isfinite(x).all() and rec.status_of("V1") == "absent"
    ends = digital[1, [299, 300 + gap]] / 1000.0
    assert np.allclose(x[300:300 + gap], np.interp(np.arange(300, 300 + gap), [299, 300 + gap], ends), atol=1e-6)


@pytest.mark.parametrize("gap", [100, 400])
def test_nan_policy_interpolate_long_gap_raises(tmp_path: Path, gap: int) -> None:
    hea, _ = nan_record(tmp_path, gap)
    with pytest.raises(ValueError, match=rf"gap of {gap} missing samples .* at t=0.600 s"):
        read_record(hea, nan_policy="interpolate")


def test_lead_entirely_nan_is_absent_without_error(tmp_path: Path) -> None:
    digital = np.ones((2, 50), np.int16)
    digital[1] = -32768
    rec = read_record(write_fmt16(tmp_path, "a", digital, ["I", "V4"]))
    assert rec.present_leads == ("I",) and rec.status_of("V4") == "absent"


# ------------------------------------------------------- Challenge .mat
def test_mat_v4_reads_with_header_scaling(tmp_path: Path) -> None:
    val = (synthetic_signal(12, 700) * 1000).astype(np.int16)
    rec = read_record(write_challenge_mat(tmp_path, "A0001", val))
    assert rec.source_format == "wfdb-mat" and rec.recorded_leads == LEADS and rec.n_samples == 700
    assert np.allclose(rec.signal, val / 1000.0, atol=1e-6)
    assert rec.meta.age == 60 and rec.meta.sex == "M" and rec.meta.diagnoses[0].name == "sinus rhythm"


def test_mat_v5_is_read_correctly(tmp_path: Path) -> None:
    """A v5 MAT file must not be read as raw int16 at offset 24: it is read with scipy (same values as v4)."""
    val = (synthetic_signal(12, 700) * 1000).astype(np.int16)
    v4 = read_record(write_challenge_mat(tmp_path, "v4", val, fmt="4"))
    hea = write_challenge_mat(tmp_path, "v5", val, fmt="5")
    assert (tmp_path / "v5.mat").read_bytes().startswith(b"MATLAB 5.0 MAT-file")
    v5 = read_record(hea)
    assert v5.source_format == "wfdb-mat"
    assert np.array_equal(v5.signal, v4.signal)


def test_mat_v4_with_double_data_is_read_with_scipy(tmp_path: Path) -> None:
    val = np.round(synthetic_signal(12, 300) * 1000)  # float64: wfdb's int16-at-offset-24 read would be garbage
    rec = read_record(write_challenge_mat(tmp_path, "d", val))
    assert np.allclose(rec.signal, val / 1000.0, atol=1e-6)


def test_mat_truncated_and_short(tmp_path: Path) -> None:
    val = np.ones((12, 500), np.int16)
    hea = write_challenge_mat(tmp_path, "t", val)
    mat = tmp_path / "t.mat"
    mat.write_bytes(mat.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"t\.mat: truncated"):
        read_record(hea)
    hea = write_challenge_mat(tmp_path, "s", val)
    hea.write_text(hea.read_text().replace("s 12 500 500", "s 12 500 800"))
    with pytest.raises(ValueError, match="holds 500 samples per signal but s.hea promises 800"):
        read_record(hea)
    (tmp_path / "s.mat").unlink()
    with pytest.raises(ValueError, match=r"s\.mat.*not found"):
        read_record(hea)


def test_mat_not_a_mat_file(tmp_path: Path) -> None:
    hea = write_challenge_mat(tmp_path, "g", np.ones((12, 10), np.int16))
    (tmp_path / "g.mat").write_bytes(b"\xff" * 400)
    with pytest.raises(ValueError, match="not a MATLAB v4 or v5"):
        read_record(hea)


# --------------------------------------------------------------------- EDF
def test_edf_reads_whole_data_records_in_mV(tmp_path: Path) -> None:
    sig = synthetic_signal(3, 1250)  # 2.5 data records of 500 → padded to 3
    path = tmp_path / "e.edf"
    step = write_edf(path, [sig[0], sig[1] * 1000, sig[2][::2]], ["ECG I", "ECG II", "Resp"], [500, 500, 250],
                     units=["mV", "uV", "Ohm"], phys=[(-10.0, 10.0), (-10000.0, 10000.0), (-10.0, 10.0)])
    rec = read_record(path)
    assert_note(rec, "Resp")
    assert rec.source_format == "edf" and rec.fs == 500 and rec.present_leads == ("I", "II")
    assert rec.n_samples == 1500  # EDF stores whole data records
    assert np.abs(rec.lead("I")[:1250] - sig[0]).max() <= step / 2 + 1e-6
    assert np.abs(rec.lead("II")[:1250] - sig[1]).max() <= step / 2 + 1e-6  # µV range 1000x wider, x 1e-3
    assert rec.meta.other_channels == ("Resp",)


def test_edf_plus_annotations_and_patient(tmp_path: Path) -> None:
    sig = synthetic_signal(2, 1000)
    path = tmp_path / "p.edf"
    write_edf(path, [sig[0], sig[1], np.zeros(1000)], ["V1", "V2", "EDF Annotations"], [500, 500, 500],
              patient="MCH-0234567 F 02-MAY-1951 Haagse_Harry", recording="Startdate 02-MAR-2002 X X X",
              reserved="EDF+C")
    rec = read_record(path)  # the annotation channel is neither a lead nor an "other channel"
    assert rec.present_leads == ("V1", "V2") and rec.meta.other_channels == ()
    assert rec.meta.sex == "F" and rec.meta.age == 50


def test_edf_errors(tmp_path: Path) -> None:
    sig = synthetic_signal(2, 1000)
    path = tmp_path / "r.edf"
    write_edf(path, [sig[0], sig[1][::2]], ["I", "II"], [500, 250])
    with pytest.raises(ValueError, match="different rates.*I 500 Hz, II 250 Hz"):
        read_record(path)
    write_edf(path, [sig[0], sig[1]], ["I", "II"], [500, 500])
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated: holds 1 complete data records.*promises 2"):
        read_record(path)
    write_edf(path, [sig[0]], ["I"], [500], units="mmHg")
    with pytest.raises(ValueError, match="unit 'mmHg'"):
        read_record(path)
    write_edf(path, [sig[0]], ["I"], [500], reserved="EDF+D")
    with pytest.raises(ValueError, match="EDF\\+D"):
        read_record(path)


# -------------------------------------------------------------------- HDF5
def write_sph(directory: Path, name: str, sig: np.ndarray, metadata: str | None = None) -> Path:
    path = directory / f"{name}.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("ecg", data=sig.astype(np.float16))
    if metadata is not None:
        (directory / "metadata.csv").write_text(metadata)
    return path


def test_hdf5_sph_like(tmp_path: Path) -> None:
    sig = synthetic_signal(12, 1000)
    meta = ("ECG_ID,AHA_Code,Patient_ID,Age,Sex,N,Date,fs,SNOMEDCTCode,SR\n"
            'SPH00001.h5,22;23,S00001,55,M,1000,2020-03-04,500,"426177001,427393009",0\n')
    rec = read_record(write_sph(tmp_path, "SPH00001", sig, meta))
    assert rec.source_format == "hdf5" and rec.fs == 500 and rec.recorded_leads == LEADS
    assert np.allclose(rec.signal, sig.astype(np.float16), atol=1e-6)
    assert rec.meta.age == 55 and rec.meta.sex == "M" and rec.meta.fields["Patient_ID"] == "S00001"
    assert [(d.code, d.system) for d in rec.meta.diagnoses] == [
        ("22", "AHA"), ("23", "AHA"), ("426177001", "SNOMED-CT"), ("427393009", "SNOMED-CT")]
    assert rec.meta.diagnoses[2].name == "sinus bradycardia"


def test_hdf5_defaults_and_errors(tmp_path: Path) -> None:
    path = write_sph(tmp_path, "x", synthetic_signal(12, 100))
    assert read_record(path).fs == l2gio.SPH_FS == 500
    assert read_record(path, fs=250).fs == 250  # no rate in the file: the argument wins
    with h5py.File(tmp_path / "bad.hdf5", "w") as h5:
        h5.create_dataset("ecg", data=np.zeros((8, 100)))
    with pytest.raises(ValueError, match=r"shape \(8, 100\); expected \(12, samples\)"):
        read_record(tmp_path / "bad.hdf5")
    with h5py.File(tmp_path / "none.h5", "w") as h5:
        h5.create_dataset("signal", data=np.zeros((12, 100)))
    with pytest.raises(ValueError, match="no dataset 'ecg'"):
        read_record(tmp_path / "none.h5")


# ----------------------------------------------------------------- uploads
class FakeUpload:
    """Mimics streamlit's UploadedFile (.name, .getvalue())."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def l2g_temp_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("l2g-*")}


@pytest.mark.parametrize("kind", ["tuples", "objects", "zip", "zip path", "edf", "csv", "h5+metadata"])
def test_uploads(tmp_path: Path, kind: str) -> None:
    rec = make_record({"V3": "generated"})
    hea = write_wfdb(rec, tmp_path / "rec")
    files = [hea, hea.with_suffix(".dat")]
    before = l2g_temp_dirs()
    if kind == "tuples":
        source = uploads_of(*files)
    elif kind == "objects":
        source = [FakeUpload(p.name, p.read_bytes()) for p in files]
    elif kind in ("zip", "zip path"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, arcname=f"folder/{p.name}")
        (tmp_path / "rec.zip").write_bytes(buf.getvalue())
        source = [("rec.zip", buf.getvalue())] if kind == "zip" else tmp_path / "rec.zip"
    elif kind == "csv":
        source = uploads_of(write_csv(rec, tmp_path / "synthetic.csv"))
    elif kind == "edf":
        write_edf(tmp_path / "synthetic.edf", list(rec.signal.astype(np.float64)), list(LEADS), [500] * 12)
        source = [FakeUpload("synthetic.edf", (tmp_path / "synthetic.edf").read_bytes())]
    else:
        h5 = write_sph(tmp_path, "synthetic", rec.signal.astype(np.float64),
                       "ECG_ID,Age,Sex,fs\nsynthetic.h5,67,F,500\n")
        source = uploads_of(h5, tmp_path / "metadata.csv")
    back = read_record(source)
    assert back.name == "synthetic" and back.fs == FS
    assert np.allclose(back.signal, rec.signal, atol=1e-3)
    if kind in ("tuples", "objects", "zip", "zip path"):
        assert back == read_record(hea)
    if kind == "csv":
        assert back.status == rec.status
    if kind == "h5+metadata":
        assert back.meta.age == 67 and back.meta.sex == "F"
    assert l2g_temp_dirs() <= before  # the private temporary directory is gone


def test_upload_error_messages_hide_the_temporary_directory(tmp_path: Path) -> None:
    hea = write_fmt16(tmp_path, "r", np.ones((2, 100), np.int16), ["I", "II"])
    with pytest.raises(ValueError, match=r"^r\.hea: signal file 'r\.dat' \(line 2\) not found") as err:
        read_record(uploads_of(hea))
    assert tempfile.gettempdir() not in str(err.value)
    with pytest.raises(ValueError, match=r"r\.dat without its \.hea"):
        read_record(uploads_of(tmp_path / "r.dat"))
    with pytest.raises(ValueError, match="several records"):
        read_record([("a.hea", b"a 1 500 1"), ("b.hea", b"b 1 500 1")])
    with pytest.raises(ValueError, match="no files uploaded"):
        read_record([])
    with pytest.raises(ValueError, match="two files named"):
        read_record([("x/a.csv", b"I\n1"), ("y/a.csv", b"I\n1")])


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("entry", ["../evil.hea", "a/../../evil.hea", "/etc/evil.hea", "..\\evil.hea",
                                   "C:/evil.hea"])
def test_zip_with_unsafe_paths_is_refused(tmp_path: Path, entry: str) -> None:
    data = zip_bytes({entry: b"r 1 500 10\n", "r.dat": b"\x00" * 20})
    with pytest.raises(ValueError, match="absolute or parent path"):
        read_record([("x.zip", data)])
    (tmp_path / "x.zip").write_bytes(data)
    with pytest.raises(ValueError, match="absolute or parent path"):
        read_record(tmp_path / "x.zip")
    assert not (tmp_path.parent / "evil.hea").exists() and not Path("/etc/evil.hea").exists()


def test_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = zip_bytes({"r.csv": b"I\n" + b"0\n" * (4 * 1024 * 1024)})  # 8 MB of "0\n": ratio > 500
    with pytest.raises(ValueError, match="zip bomb"):
        read_record([("bomb.zip", bomb)], fs=500)
    monkeypatch.setattr(l2gio.archive, "MAX_UPLOAD_BYTES", 1000)
    small = zip_bytes({"r.csv": bytes(np.random.default_rng(0).integers(48, 58, 5000, dtype=np.uint8))})
    with pytest.raises(ValueError, match="expected at most 1000 bytes"):
        read_record([("big.zip", small)], fs=500)
    with pytest.raises(ValueError, match="expected at most 1000 bytes"):
        read_record([("big.csv", b"I\n" + b"1\n" * 600)], fs=500)


def test_zip_with_lying_sizes_is_refused() -> None:
    """An entry whose data is bigger than its header says (a crafted bomb) is refused while extracting."""
    data = bytearray(zip_bytes({"r.csv": b"I\n" + b"1\n" * 50_000}))
    # patch the declared uncompressed size (local header and central directory) down to 1000 bytes
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = data.find(sig)
        data[pos + offset:pos + offset + 4] = struct.pack("<I", 1000)
    with pytest.raises(ValueError, match="larger than declared|cannot extract"):
        read_record([("lie.zip", bytes(data))], fs=500)


def test_nested_zip_is_refused() -> None:
    inner = zip_bytes({"r.csv": b"I\n1\n2\n"})
    with pytest.raises(ValueError, match="zip inside a zip"):
        read_record([("outer.zip", zip_bytes({"inner.zip": inner}))], fs=500)


def test_unknown_extension_is_sniffed(tmp_path: Path) -> None:
    p = tmp_path / "ecg.data"
    p.write_text("time,II\n0,0.1\n0.004,0.2\n0.008,0.3\n")
    rec = read_record(p)
    assert rec.fs == 250 and rec.present_leads == ("II",)
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(ValueError, match="unknown file type"):
        read_record(tmp_path / "blob.bin")
    with pytest.raises(ValueError, match="file not found"):
        read_record(tmp_path / "nothing.hea")


# ------------------------------------------------------------------ SNOMED
def test_snomed_table() -> None:
    assert len(SNOMED_CT) == 133 and all(code.isdigit() for code in SNOMED_CT)
    assert snomed_name("164889003") == "atrial fibrillation" and snomed_abbreviation(426177001) == "SB"
    assert snomed_name("0") == "" and snomed_abbreviation("nope") == ""


def test_no_warnings_on_a_clean_record(tmp_path: Path) -> None:
    hea = write_wfdb(make_record(), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_record(hea)


# ------------------------------------------------------- more header guards
@pytest.mark.parametrize("fname", ["../r.dat", "/etc/passwd", "sub\\r.dat"])
def test_signal_file_outside_the_header_folder_is_refused(tmp_path: Path, fname: str) -> None:
    """An uploaded header must not make us read some other file on the server."""
    hea = write_fmt16(tmp_path, "r", np.ones((1, 10), np.int16), ["I"])
    hea.write_text(hea.read_text().replace("r.dat 16", f"{fname} 16"))
    with pytest.raises(ValueError, match="line 2: signal file .* outside the header's folder"):
        read_record(uploads_of(hea, tmp_path / "r.dat"))


def test_header_without_fs_needs_the_argument(tmp_path: Path) -> None:
    hea = tmp_path / "n.hea"
    (tmp_path / "n.dat").write_bytes(np.arange(20, dtype="<i2").tobytes())
    hea.write_text("n 2\nn.dat 16 1000/mV 16 0 0 0 0 I\nn.dat 16 1000/mV 16 0 0 0 0 II\n")
    with pytest.raises(ValueError, match="no sampling rate.*fs argument"):
        read_record(hea)
    rec = read_record(hea, fs=360)
    assert rec.fs == 360 and rec.n_samples == 10
    assert np.allclose(rec.lead("II"), np.arange(1, 20, 2) / 1000.0)


def test_mat_baseline_and_adc_zero_are_applied(tmp_path: Path) -> None:
    """v5 (scipy path) and v4 (wfdb path) apply the same baseline: explicit, else adc_zero."""
    val = (synthetic_signal(12, 100) * 1000).astype(np.int16)
    out = {}
    for fmt in ("4", "5"):
        hea = write_challenge_mat(tmp_path, f"b{fmt}", val, fmt=fmt)
        lines = hea.read_text().splitlines()
        lines[1] = lines[1].replace("1000/mV 16 0", "1000(100)/mV 16 0")  # explicit baseline on lead I
        lines[2] = lines[2].replace("1000/mV 16 0", "1000/mV 16 -50")  # adc_zero on lead II
        hea.write_text("\n".join(lines) + "\n")
        out[fmt] = read_record(hea)
    assert np.allclose(out["4"].lead("I"), (val[0] - 100) / 1000.0)
    assert np.allclose(out["4"].lead("II"), (val[1] + 50) / 1000.0)
    assert np.array_equal(out["4"].signal, out["5"].signal)


def test_csv_time_column_spellings(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("Time (ms),Lead II\n0,0.1\n2,0.2\n4,0.3\n")
    rec = read_record(p)
    assert rec.fs == 500 and rec.present_leads == ("II",)
    p.write_text("time,II\n0,0.1\nx,0.2\n0.004,0.3\n")
    with pytest.raises(ValueError, match="time column 'time' has missing values"):
        read_record(p)


def test_uploads_go_to_a_private_temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = l2gio._read_path

    def spy(path: Path, **kwargs: object) -> Record:
        seen.append((path, path.parent.stat().st_mode & 0o777))
        return real(path, **kwargs)

    monkeypatch.setattr(l2gio, "_read_path", spy)
    hea = write_wfdb(make_record(), tmp_path)
    read_record(uploads_of(hea, hea.with_suffix(".dat")))
    (path, mode), = seen
    assert mode == 0o700 and Path(tempfile.gettempdir()) in path.parents
    assert not path.exists()
    with pytest.raises(ValueError, match="raw bytes without a file name"):
        read_record(hea.read_bytes())


def test_provenance_without_available_leads_round_trips(tmp_path: Path) -> None:
    rec = make_record({lead: "generated" for lead in LEADS})
    rec = rec.replace(meta=Metadata(provenance=Provenance("linear", "", ())))
    back = read_record(write_wfdb(rec, tmp_path))
    assert back.meta.provenance == Provenance("linear", "", ()) and back.generated_leads == LEADS


@pytest.mark.parametrize("fmt", ["wfdb", "hdf5", "edf", "csv"])
def test_max_samples_refuses_a_long_record_before_decoding(tmp_path: Path, fmt: str, monkeypatch) -> None:
    from l2g.io import RecordTooLong

    rec = synthetic_record(duration_s=4.0, name="long")  # 2000 samples at 500 Hz
    if fmt == "wfdb":
        path = write_wfdb(rec, tmp_path, "long")
        import wfdb

        def no_decode(*args, **kwargs):
            raise AssertionError("the signal was decoded although the header already showed it too long")

        monkeypatch.setattr(wfdb, "rdrecord", no_decode)
    elif fmt == "hdf5":
        import h5py

        path = tmp_path / "long.h5"
        with h5py.File(path, "w") as h5:
            h5.create_dataset("ecg", data=rec.signal)
            h5["ecg"].attrs["fs"] = rec.fs
    elif fmt == "edf":
        path = tmp_path / "long.edf"
        write_edf(path, [rec.signal[0], rec.signal[1]], ["ECG I", "ECG II"], [500, 500])
    else:
        path = write_csv(rec, tmp_path / "long.csv")
    with pytest.raises(RecordTooLong, match=r"long\.\w+: 2,000 samples per lead .*longer than the 1,999 samples"):
        read_record(path, max_samples=1999)
    if fmt != "wfdb":
        assert read_record(path, max_samples=2000).n_samples == 2000
    # the same through an upload (the dashboard's path): the subclass survives the temporary folder
    files = [(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir()) if p.stem == "long"]
    with pytest.raises(RecordTooLong, match="not decoded"):
        read_record(files, max_samples=1999)


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_max_samples_must_be_a_positive_count(tmp_path: Path, bad) -> None:
    path = write_wfdb(synthetic_record(duration_s=1.0), tmp_path, "r")
    with pytest.raises(ValueError, match="max_samples=.* is not valid"):
        read_record(path, max_samples=bad)


def test_wrong_format_code_is_named_as_the_likely_cause(tmp_path: Path) -> None:
    # 16-bit samples declared as format 212: the decoded garbage holds invalid-sample codes (NaN)
    hea = write_wfdb(synthetic_record(duration_s=4.0, name="f"), tmp_path, "f")
    hea.write_text(hea.read_text().replace("f.dat 16", "f.dat 212"))
    with pytest.raises(ValueError, match=r"missing \(NaN\) samples.*f\.dat is larger than f\.hea declares, "
                                         r"so the format code in f\.hea is probably wrong"):
        read_record(hea)


def test_an_inverted_lead_minus_avr_is_another_channel_not_avr(tmp_path: Path) -> None:
    """``-aVR`` (Cabrera display) is aVR with the opposite sign: never read as aVR (it was, with the wrong sign)."""
    t = np.arange(1000) / 500.0
    i, ii = np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t)
    minus_avr = (i + ii) / 2  # -aVR = (I + II) / 2
    csv = tmp_path / "cabrera.csv"
    csv.write_text("time,I,II,-aVR\n" + "".join(f"{a:.4f},{b:.6f},{c:.6f},{d:.6f}\n"
                                               for a, b, c, d in zip(t, i, ii, minus_avr, strict=True)))
    wfdb.wrsamp("cabrera", fs=500, units=["mV"] * 3, sig_name=["I", "II", "-aVR"],
                p_signal=np.stack([i, ii, minus_avr], axis=1), fmt=["16"] * 3, adc_gain=[1000.0] * 3,
                baseline=[0] * 3, write_dir=str(tmp_path))
    for path in (csv, tmp_path / "cabrera.hea"):
        rec = read_record(path)
        assert rec.present_leads == ("I", "II"), path.name
        assert rec.meta.other_channels == ("-aVR",), path.name
    for label in ("-aVR", " -aVR", "\u2212aVR", "Lead -aVR", "ECG -aVR"):
        assert normalize_lead_name(label) is None, label
    assert normalize_lead_name("ECG-II") == "II" and normalize_lead_name("V-1") == "V1"
