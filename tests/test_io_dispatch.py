"""read_record dispatches by content (issue #13): the cart formats, unknown files, notes, reader defects.

Real cart files are read in place from ``../shared/clinical`` (see its PROVENANCE.md); tests that
need one skip when it is absent. Copies under a wrong name are made in ``tmp_path`` only.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from l2g.catalog import find_records
from l2g.io import FORMATS, FormatError, MissingSampleRate, UnknownFormat, read_record, sniff_format
from l2g.io.scp import crc_ccitt
from l2g.leads import LEADS
from l2g.reconstruction import MIN_RECORD_S, RecordTooShort, reconstruct
from l2g.record import Record

from .ecg_factory import assert_note

REPO = Path(__file__).resolve().parents[1]
CLINICAL = REPO.parent / "shared" / "clinical"
# file -> (reader module, rate in Hz)
FILES = {
    "dicom/waveform_ecg.dcm": ("dicom", 1000.0),
    "scp_ecg/Example.scp": ("scp", 500.0),
    "ishne/ECG_P28.01.ecg": ("ishne", 1000.0),
    "hl7_aecg/Example.xml": ("aecg", 500.0),
    "philips_xml/129DYPRG.XML": ("philips", 500.0),
    "ge_muse_xml/muse_ecg_deidentified_1.xml": ("muse", 240.0),
    "ge_cardiosoft_xml/ukbb_scrubbed.xml": ("cardiosoft", 500.0),
}


def clinical(rel: str) -> Path:
    path = CLINICAL / rel
    if not path.is_file():
        pytest.skip(f"{path} not found: real cart files are read from ../shared/clinical")
    return path


def test_cart_formats_come_before_the_generic_ones() -> None:
    carts = ("dicom", "scp", "ishne", "aecg", "philips", "muse", "cardiosoft")
    assert FORMATS[: len(carts)] == carts and set(FORMATS[len(carts):]) >= {"csv", "edf", "hdf5", "archive"}


@pytest.mark.parametrize("rel", list(FILES))
def test_each_cart_file_is_read_by_its_reader_whatever_its_name(rel: str, tmp_path: Path) -> None:
    fmt, fs = FILES[rel]
    path = clinical(rel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # readers note, never warn
        rec = read_record(path)
    assert rec.source_format == fmt and rec.fs == fs and rec.leads == LEADS
    assert rec.recorded_leads == LEADS and rec.name == path.stem
    for wrong in ("record.csv", "record.edf", "record", "record.txt"):
        copy = tmp_path / wrong
        shutil.copyfile(path, copy)
        again = read_record(copy)
        assert again.source_format == fmt and again.n_samples == rec.n_samples
        np.testing.assert_array_equal(again.signal, rec.signal)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(path, path.name)
        if fmt == "ishne":
            ann = path.with_suffix(".ann")
            if ann.is_file():
                zf.write(ann, ann.name)  # the annotation file beside it is not the record
    zipped = read_record([("export.zip", buf.getvalue())])
    assert zipped.source_format == fmt and zipped.n_samples == rec.n_samples


def test_cart_metadata_reaches_the_record_without_identity() -> None:
    rec = read_record(clinical("ge_muse_xml/muse_ecg_deidentified_1.xml"))
    meta = rec.meta
    assert rec.fs == 240.0 and meta.sex == "M" and meta.age == 66.0 and meta.acquired.startswith("2000-04-22")
    assert meta.measurements["QRS_ms"] == 83.0 and meta.interpretation
    assert set(meta.derived) == {"III", "aVR", "aVL", "aVF"}  # 8 stored leads; the 4 others computed exactly
    assert all(rec.status_of(lead) == "recorded" for lead in meta.derived)  # never "generated"
    assert_note(rec, "median beats ignored")
    assert_note(rec, r"III = II - I")


def test_an_unknown_xml_names_the_kinds_looked_for(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?>\n<invoice xmlns="urn:x"><total>3</total></invoice>\n')
    with pytest.raises(UnknownFormat, match=r"other\.xml.*'invoice'.*HL7 aECG.*Philips SierraECG.*GE MUSE"
                                            r".*GE CardioSoft"):
        read_record(path)


@pytest.mark.parametrize("suffix", [".bin", ".xml", ".scp", ".ecg", ""])
def test_random_bytes_are_refused_naming_the_formats_tried(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"blob{suffix}"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"blob.*DICOM.*SCP-ECG.*ISHNE Holter.*EDF") as err:
        read_record(path)
    assert isinstance(err.value, UnknownFormat)


def _damaged(data: bytes, fmt: str, cut: int) -> bytes:
    """The first ``cut`` bytes of a cart file, still claimed by its own sniffer.

    SCP-ECG states its length and a CRC of the whole record in its preamble, and its sniffer
    refuses a file shorter than the stated length: both are rewritten for the cut, so the
    decoder itself meets the missing sections.
    """
    head = bytearray(data[:cut])
    if fmt == "scp":
        head[2:6] = struct.pack("<I", cut)
        head[0:2] = struct.pack("<H", crc_ccitt(bytes(head[2:])))
    return bytes(head)


@pytest.mark.parametrize("rel", list(FILES))
def test_a_damaged_cart_file_reaches_its_decoder_and_raises_a_format_error(rel: str, tmp_path: Path) -> None:
    fmt, _ = FILES[rel]
    data = clinical(rel).read_bytes()
    for fraction in (0.05, 0.3, 0.5, 0.9, 0.999):
        path = tmp_path / f"cut{fraction:g}{Path(rel).suffix}"
        path.write_bytes(_damaged(data, fmt, int(len(data) * fraction)))
        assert sniff_format(path) == fmt, path.name  # claimed by its reader: the decoder sees the damage
        with pytest.raises(FormatError, match=re.escape(path.name)):  # not KeyError, OSError, struct.error...
            read_record(path)


def test_cart_folder_is_found_by_content(tmp_path: Path) -> None:
    for rel in FILES:
        shutil.copyfile(clinical(rel), tmp_path / Path(rel).name)
    (tmp_path / "manifest.xml").write_text('<?xml version="1.0"?><manifest/>')
    (tmp_path / "ECG_P28.01.ann").write_bytes(b"ANN  1.0" + bytes(600))
    names = sorted(p.name for p in find_records(tmp_path))
    assert names == sorted(Path(rel).name for rel in FILES)


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
@pytest.mark.parametrize("rel", list(FILES))
def test_cli_reconstructs_every_cart_file(rel: str, tmp_path: Path) -> None:
    path = clinical(rel)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "l2g", "reconstruct", str(path), "--available", "I,II",
                           "--out", str(out), "--no-progress"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert all(line.startswith(("l2g: note: ", "l2g: warning: ")) for line in proc.stderr.splitlines()), proc.stderr
    hea, = out.glob("*.hea")  # the name made safe: ECG_P28.01 -> ECG_P28_01
    back = read_record(hea)
    assert back.leads == LEADS and back.present_leads == LEADS and back.recorded_leads == ("I", "II")


# ------------------------------------------------------------------ notes instead of warnings
def test_odd_files_give_notes_not_warnings(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    t = np.arange(1000) / 500
    rows = "\n".join(f"{x:.4f},{np.sin(7 * x):.4f},0,0.1" for x in t)
    path.write_text("time,I,II,Resp\n" + rows + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = read_record(path)
    assert_note(rec, "lead II is flat")
    assert_note(rec, "not ECG leads: Resp")


def test_csv_without_time_and_fs_raises_missing_sample_rate(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("I,II\n0.1,0.2\n0.2,0.3\n")
    with pytest.raises(MissingSampleRate, match="no time column"):
        read_record(path)
    assert read_record(path, fs=250).fs == 250


# ------------------------------------------------------------------ reader defects (#13 item 6)
def test_challenge_header_naming_the_record_with_its_extension(tmp_path: Path) -> None:
    """``E00271.mat 12 500 5000 ...``: the record line names the signal file, extension included."""
    digital = np.random.default_rng(0).normal(0, 300, (12, 5000)).astype(np.int16)
    scipy.io.savemat(tmp_path / "E00271.mat", {"val": digital}, format="4")
    lines = ["E00271.mat 12 500 5000 05-Feb-2020 11:39:16"]
    lines += [f"E00271.mat 16+24 1000/mV 16 0 {v} 0 0 {lead}" for v, lead in zip(digital[:, 0], LEADS, strict=True)]
    (tmp_path / "E00271.hea").write_text("\n".join(lines + ["#Age: 53", "#Sex: Male"]) + "\n")
    for source in (tmp_path / "E00271.hea", tmp_path / "E00271.mat", tmp_path / "E00271"):
        rec = read_record(source)
        assert rec.source_format == "wfdb-mat" and rec.fs == 500 and rec.n_samples == 5000 and rec.meta.age == 53
        assert np.abs(rec.signal - digital / 1000.0).max() < 1e-6


def test_a_record_shorter_than_one_beat_is_not_reconstructed() -> None:
    fs = 500.0
    short = Record(np.zeros((12, 40), np.float32) + np.linspace(0, 1, 40, dtype=np.float32), fs, LEADS, name="s")
    with pytest.raises(RecordTooShort, match=r"s: 40 samples at 500 Hz \(0\.08 s\).*at least 1 s"):
        reconstruct(short, ["I", "II"], method="linear")
    n = int(MIN_RECORD_S * fs)
    ok = Record(np.random.default_rng(0).normal(0, 0.1, (12, n)).astype(np.float32), fs, LEADS, name="ok")
    assert reconstruct(ok, ["I", "II"], method="linear").n_samples == n


def test_cli_refuses_a_too_short_record_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("time,I,II\n" + "\n".join(f"{k / 500:.4f},{k % 7 / 10},{k % 5 / 10}" for k in range(40)) + "\n")
    proc = subprocess.run([sys.executable, "-m", "l2g", "reconstruct", str(path), "--available", "I,II",
                           "--out", str(tmp_path / "out"), "--method", "linear"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("l2g: error: short: 40 samples") and "shorter than one beat" in proc.stderr


@pytest.mark.parametrize(("n", "fs", "checked"), [(40, 500.0, False), (99, 50.0, False), (499, 500.0, False),
                                                  (500, 500.0, True), (100, 100.0, True)])
def test_flat_and_saturated_checks_need_one_second_and_100_samples(n: int, fs: float, checked: bool,
                                                                   tmp_path: Path) -> None:
    x = np.zeros(n)
    x[: n // 2] = 1.0  # half the samples at the maximum, half at the minimum: "saturated" when checked
    path = tmp_path / "r.csv"
    path.write_text("time,I,II\n" + "\n".join(f"{k / fs:.6f},{x[k]:.3f},0" for k in range(n)) + "\n")
    notes = read_record(path).meta.notes
    assert any("saturated" in note for note in notes) == checked, notes
    assert any("flat" in note for note in notes) == checked, notes


def test_catalog_of_a_cart_folder_round_trips_record_ids(tmp_path: Path) -> None:
    """``l2g catalog`` of a folder of cart exports: every file read, and each id leads back to its file."""
    from l2g.catalog import record_path, scan

    for rel in FILES:
        shutil.copyfile(clinical(rel), tmp_path / Path(rel).name)
    table = scan(tmp_path, progress=False)
    assert (table["error"] == "").all(), table[["record_id", "error"]]
    assert sorted(table["format"]) == sorted(fmt for fmt, _ in FILES.values())
    for rid in table["record_id"]:
        assert record_path(tmp_path, rid).name in {Path(rel).name for rel in FILES}
