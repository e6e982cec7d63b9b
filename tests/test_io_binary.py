"""SCP-ECG and ISHNE Holter readers (l2g.io.scp, l2g.io.ishne).

The real files are read in place from ``../shared/clinical`` (never copied into the repo) and
checked against independent decodes: the HL7 aECG conversion of the same ECG for SCP-ECG (its
RHYTHM digits x scale, parsed here with xml.etree), a few lines of numpy on the raw int16
block for ISHNE, and ecgdatakit for both. Other variants (8-lead storage, reference beat
subtraction, custom Huffman tables, pad values) and damaged files are written by the tests.
"""

from __future__ import annotations

import binascii
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from l2g.io import ishne, scp
from l2g.io._raw import FormatError

CLINICAL = Path(__file__).resolve().parents[1].parent / "shared" / "clinical"
SCP_FILE = CLINICAL / "scp_ecg" / "Example.scp"
AECG_FILE = CLINICAL / "hl7_aecg" / "Example.xml"
ISHNE_FILE = CLINICAL / "ishne" / "ECG_P28.01.ecg"
ISHNE_ANN = CLINICAL / "ishne" / "ECG_P28.01.ann"
HL7 = "{urn:hl7-org:v3}"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} not found: real-file tests need ../shared/clinical next to the repository")
    return path


def crc(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


# ----------------------------------------------------------------------------------------------
# A small SCP-ECG writer (default Huffman table), independent of the reader
# ----------------------------------------------------------------------------------------------


def huffman_default(values) -> bytes:
    """Encode integers with the SCP default Huffman table (MSB first, zero padded)."""
    bits = []
    for v in (int(x) for x in values):
        if v == 0:
            bits.append("0")
        elif abs(v) <= 8:
            bits.append("1" * abs(v) + "0" + ("1" if v < 0 else "0"))
        elif -128 <= v <= 127:
            bits.append("1111111110" + format(v & 0xFF, "08b"))
        else:
            bits.append("1111111111" + format(v & 0xFFFF, "016b"))
    s = "".join(bits)
    s += "0" * (-len(s) % 8)
    return int(s, 2).to_bytes(len(s) // 8, "big") if s else b""


def differences(x: np.ndarray, mode: int) -> np.ndarray:
    x = np.asarray(x, np.int64)
    if mode == 0:
        return x
    if mode == 1:
        return np.concatenate((x[:1], np.diff(x)))
    return np.concatenate((x[:2], x[2:] - 2 * x[1:-1] + x[:-2]))


def section(sid: int, body: bytes, reserved: bytes = bytes(6), protocol: int = 20) -> bytes:
    if len(body) % 2:
        body += b"\x00"
    rest = struct.pack("<HIBB", sid, 16 + len(body), protocol, protocol) + reserved + body
    return struct.pack("<H", crc(rest)) + rest


def record(bodies: dict[int, bytes], protocol: int = 20) -> bytes:
    """An SCP record from section bodies {id: body}; section 0 and all CRCs computed."""
    ids = sorted(set(range(12)) | set(bodies) | {0})
    len0 = 16 + 10 * len(ids)
    offset = 6 + len0
    pointers, blobs = [], []
    for sid in ids:
        if sid == 0:
            pointers.append((0, len0, 7))
        elif sid in bodies:
            blob = section(sid, bodies[sid], protocol=protocol)
            pointers.append((sid, len(blob), offset + 1))
            blobs.append(blob)
            offset += len(blob)
        else:
            pointers.append((sid, 0, 0))
    sec0 = section(0, b"".join(struct.pack("<HII", *p) for p in pointers), b"SCPECG", protocol)
    rest = struct.pack("<I", 6 + len(sec0) + sum(map(len, blobs))) + sec0 + b"".join(blobs)
    return struct.pack("<H", crc(rest)) + rest


def data_section(leads, avm=5000, interval=2000, diff=2, flag=0, huffman=True) -> bytes:
    chunks = []
    for x in leads:
        d = differences(x, diff)
        chunks.append(huffman_default(d) if huffman else d.astype("<i2").tobytes())
    head = struct.pack("<HHBB", avm, interval, diff, flag) + struct.pack(f"<{len(chunks)}H", *map(len, chunks))
    return head + b"".join(chunks)


def lead_section(codes, n, flags=0x04) -> bytes:
    return struct.pack("<BB", len(codes), flags) + b"".join(struct.pack("<IIB", 1, n, c) for c in codes)


def tags_section(tags: dict[int, bytes]) -> bytes:
    out = b"".join(struct.pack("<BH", t, len(v)) + v for t, v in tags.items())
    return out + struct.pack("<BH", 255, 0)


EIGHT = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8}


def synthetic(n=1500, seed=0) -> dict[str, np.ndarray]:
    """Integer ECG-like leads (random walks + spikes), in units of the AVM."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = {}
    for k, name in enumerate(EIGHT):
        walk = np.cumsum(rng.integers(-3, 4, n))
        spikes = 400 * np.exp(-(((t % 400) - 200) / 6.0) ** 2) * (1 + k / 8)
        out[name] = (walk + spikes).round().astype(np.int64)
    return out


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def fix_crcs(data: bytearray) -> bytes:
    """Recompute every section CRC and the record CRC of an SCP record (after a test edits it)."""
    len0 = struct.unpack_from("<I", data, 10)[0]
    for k in range((len0 - 16) // 10):
        _, length, index = struct.unpack_from("<HII", data, 22 + 10 * k)
        if length:
            o = index - 1
            struct.pack_into("<H", data, o, crc(bytes(data[o + 2:o + length])))
    struct.pack_into("<H", data, 0, crc(bytes(data[2:])))
    return bytes(data)


def section_offset(data: bytes, sid: int) -> int:
    len0 = struct.unpack_from("<I", data, 10)[0]
    for k in range((len0 - 16) // 10):
        s, length, index = struct.unpack_from("<HII", data, 22 + 10 * k)
        if s == sid and length:
            return index - 1
    raise AssertionError(f"no section {sid}")


# ----------------------------------------------------------------------------------------------
# SCP-ECG: the shared file against its aECG conversion and ecgdatakit
# ----------------------------------------------------------------------------------------------


def aecg_rhythm(kind: str = "RHYTHM") -> tuple[dict[str, np.ndarray], dict[str, float], float]:
    """Digits per lead of Example.xml's RHYTHM series (or REPRESENTATIVE_BEAT derived series),
    their scale (µV) and the annotated measurements (ms, deg)."""
    root = ET.parse(need(AECG_FILE)).getroot()
    leads, scale = {}, None
    for series in (*root.iter(f"{HL7}series"), *root.iter(f"{HL7}derivedSeries")):
        if series.find(f"{HL7}code").get("code") != kind:
            continue
        for seq in series.findall(f"{HL7}component/{HL7}sequenceSet/{HL7}component/{HL7}sequence"):
            code = seq.find(f"{HL7}code").get("code")
            if code.startswith("MDC_ECG_LEAD_"):
                value = seq.find(f"{HL7}value")
                scale = float(value.find(f"{HL7}scale").get("value"))
                assert float(value.find(f"{HL7}origin").get("value")) == 0
                leads[code[len("MDC_ECG_LEAD_"):]] = np.array(value.find(f"{HL7}digits").text.split(), np.int64)
    measured = {}
    for ann in root.iter(f"{HL7}annotation"):
        code, value = ann.find(f"{HL7}code"), ann.find(f"{HL7}value")
        if code is not None and value is not None and value.get("unit") in ("ms", "deg"):
            measured.setdefault(code.get("code"), float(value.get("value")))
    return leads, measured, scale


SCP_NAMES = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}


def test_scp_shared_file_matches_its_aecg_conversion():
    ecg = scp.read(need(SCP_FILE))
    reference, measured, scale_uv = aecg_rhythm()
    assert ecg.fs == 500.0
    assert list(ecg.leads) == ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "III", "aVR", "aVL", "aVF"]
    assert ecg.derived == {}  # the file stores all 12 leads
    assert len(reference) == 12
    for name, digits in reference.items():
        mv = ecg.leads[SCP_NAMES.get(name, name)]
        assert mv.dtype == np.float64 and mv.shape == (5000,)
        # same ECG, same quantum (2.5 µV): the integers agree exactly, no offset
        np.testing.assert_array_equal(np.round(mv / (scale_uv * 1e-3)).astype(np.int64), digits, err_msg=name)
        assert np.abs(mv - digits * scale_uv * 1e-3).max() < 1e-12
    assert ecg.measurements == {
        "P_ms": measured["MDC_ECG_TIME_PD_P"], "PR_ms": measured["MDC_ECG_TIME_PD_PR"],
        "QRS_ms": measured["MDC_ECG_TIME_PD_QRS"], "QT_ms": measured["MDC_ECG_TIME_PD_QT"],
        "QTc_ms": measured["MDC_ECG_TIME_PD_QTc"], "P_axis_deg": measured["MDC_ECG_ANGLE_P_FRONT"],
        "QRS_axis_deg": measured["MDC_ECG_ANGLE_QRS_FRONT"], "T_axis_deg": measured["MDC_ECG_ANGLE_T_FRONT"],
    }
    assert ecg.measurements["PR_ms"] == 148 and ecg.measurements["QRS_axis_deg"] == -61


def test_scp_shared_file_reference_beats_match_the_aecg_median_beats():
    beats, fs = scp.read_reference_beats(need(SCP_FILE))
    reference, _, scale_uv = aecg_rhythm("REPRESENTATIVE_BEAT")
    assert fs == 500.0 and len(reference) == 12
    for name, digits in reference.items():
        mv = beats[SCP_NAMES.get(name, name)]
        assert mv.shape == digits.shape == (599,)
        np.testing.assert_array_equal(np.round(mv / (scale_uv * 1e-3)).astype(np.int64), digits, err_msg=name)


def test_scp_shared_file_metadata():
    ecg = scp.read(need(SCP_FILE))
    assert ecg.sex == "M"
    assert ecg.acquired == "2002-11-22T09:10:00"
    assert ecg.age == 49.0  # born 1953-05-08
    assert ecg.device == "ECGConversion ELI250"
    assert ecg.identity == {"name": "Clark", "id": "SBJ-123", "birth_date": "1953-05-08"}
    assert ecg.fmt == "SCP-ECG v2.0"
    assert any("section 5" in n for n in ecg.notes)


def test_scp_shared_file_matches_ecgdatakit():
    ecgdatakit = pytest.importorskip("ecgdatakit")
    ours = scp.read(need(SCP_FILE))
    theirs = ecgdatakit.FileParser().parse(str(SCP_FILE))
    assert [lead.label for lead in theirs.leads] == list(ours.leads)
    for lead in theirs.leads:
        assert lead.sampling_rate == ours.fs
        np.testing.assert_allclose(np.asarray(lead.samples), ours.leads[lead.label], atol=1e-12)


# ----------------------------------------------------------------------------------------------
# SCP-ECG: variants written by the tests
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("diff", [0, 1, 2])
def test_scp_eight_lead_storage_derives_limb_leads_exactly(tmp_path, diff):
    leads = synthetic()
    data = record({1: tags_section({8: b"\x02", 25: struct.pack("<HBB", 2021, 3, 4), 26: bytes([23, 59, 1])}),
                   2: struct.pack("<H", 19999), 3: lead_section(list(EIGHT.values()), 1500),
                   6: data_section(leads.values(), avm=5000, interval=2000, diff=diff)})
    path = write(tmp_path, "eight.bin", data)
    assert scp.sniff(data[:4096], path)
    ecg = scp.read(path)
    assert ecg.fs == 500.0
    for name, x in leads.items():
        np.testing.assert_array_equal(ecg.leads[name], x * 5e-3)
    i, ii = leads["I"] * 5e-3, leads["II"] * 5e-3
    np.testing.assert_allclose(ecg.leads["III"], ii - i, atol=1e-12)
    np.testing.assert_allclose(ecg.leads["aVR"], -(i + ii) / 2, atol=1e-12)
    np.testing.assert_allclose(ecg.leads["aVL"], i - ii / 2, atol=1e-12)
    np.testing.assert_allclose(ecg.leads["aVF"], ii - i / 2, atol=1e-12)
    assert set(ecg.derived) == {"III", "aVR", "aVL", "aVF"} and ecg.derived["III"] == "II - I"
    assert ecg.sex == "F" and ecg.acquired == "2021-03-04T23:59:01"


def test_scp_without_huffman_and_odd_interval(tmp_path):
    leads = synthetic(n=300)
    data = record({3: lead_section([1, 2], 300), 6: data_section([leads["I"], leads["II"]], avm=1000,
                                                                  interval=1953, diff=1, huffman=False)},
                  protocol=13)
    ecg = scp.read(write(tmp_path, "raw.scp", data))
    assert ecg.fs == 1e6 / 1953  # exact, not rounded
    np.testing.assert_array_equal(ecg.leads["I"], leads["I"] * 1e-3)
    assert ecg.fmt == "SCP-ECG v1.3"


def test_scp_custom_huffman_table_bit_reversed_codes(tmp_path):
    # the default table written out as a custom table: codes are stored bit-reversed
    rows = [(1, 1, 1, 0, "0")]
    for m in range(1, 9):
        rows += [(m + 2, m + 2, 1, m, "1" * m + "00"), (m + 2, m + 2, 1, -m, "1" * m + "01")]
    rows += [(10, 18, 1, 0, "1111111110"), (10, 26, 1, 0, "1111111111")]
    table = struct.pack("<HH", 1, len(rows)) + b"".join(
        struct.pack("<BBBhI", p, t, mode, v, int(code[::-1], 2)) for p, t, mode, v, code in rows)
    leads = synthetic(n=800)
    data = record({2: table, 3: lead_section([1, 2, 3], 800),
                   6: data_section([leads["I"], leads["II"], leads["V1"]], avm=2500, diff=2)})
    ecg = scp.read(write(tmp_path, "custom.scp", data))
    np.testing.assert_array_equal(ecg.leads["V1"], leads["V1"] * 2.5e-3)


def test_scp_reference_beat_subtraction_is_added_back(tmp_path):
    n, fiducial_ref = 2000, 50  # reference beat: 100 samples, fiducial at its sample 50 (1-based)
    t = np.arange(100)
    beat = {name: (300 * np.exp(-((t - 49) / 5.0) ** 2) * (k + 1) / 3).round().astype(np.int64)
            for k, name in enumerate(["I", "II", "V1"])}
    rng = np.random.default_rng(3)
    residual = {name: np.cumsum(rng.integers(-2, 3, n)) for name in beat}
    fiducials = [300, 900, 1500]  # 1-based sample numbers of the QRS fiducials
    full = {name: r.copy() for name, r in residual.items()}
    zones = b""
    for f in fiducials:
        start, end = f - 20, f + 30
        zones += struct.pack("<HIII", 0, start, f, end)
        for name in full:
            full[name][start - 1:end] += beat[name][fiducial_ref - f + start - 1:fiducial_ref - f + end]
    s4 = struct.pack("<HHH", 200, fiducial_ref, len(fiducials)) + zones + bytes(8 * len(fiducials))
    data = record({2: struct.pack("<H", 19999), 3: lead_section([1, 2, 3], n, flags=0x05),
                   4: s4, 5: data_section(beat.values(), avm=2500, diff=2),
                   6: data_section(residual.values(), avm=2500, diff=2)})
    ecg = scp.read(write(tmp_path, "refbeat.scp", data))
    for name in full:
        np.testing.assert_array_equal(ecg.leads[name], full[name] * 2.5e-3)
    assert any("reference beat" in note for note in ecg.notes)


def test_scp_leads_recorded_at_different_times_are_nan_padded(tmp_path):
    leads = synthetic(n=1000)
    s3 = struct.pack("<BB", 2, 0) + struct.pack("<IIB", 1, 500, 1) + struct.pack("<IIB", 501, 1000, 3)
    data = record({3: s3, 6: data_section([leads["I"][:500], leads["V1"][500:]], avm=1000, huffman=False)})
    ecg = scp.read(write(tmp_path, "groups.scp", data + bytes(7)))  # trailing bytes tolerated
    assert len(ecg.leads["I"]) == len(ecg.leads["V1"]) == 1000
    assert np.isnan(ecg.leads["I"][500:]).all() and np.isnan(ecg.leads["V1"][:500]).all()
    np.testing.assert_array_equal(ecg.leads["V1"][500:], leads["V1"][500:] * 1e-3)
    assert any("not all recorded at the same time" in n for n in ecg.notes)
    assert any("7 bytes after the end" in n for n in ecg.notes)
    assert scp.sniff(data + bytes(7), tmp_path / "groups.scp")


def test_scp_interpretation_statements(tmp_path):
    def statements(texts, kind=None):
        body = b"\x00" + struct.pack("<HBB", 2021, 3, 4) + bytes([10, 0, 0, len(texts)])
        for k, text in enumerate(texts, 1):
            value = (bytes([kind]) if kind else b"") + text.encode() + b"\x00"
            body += struct.pack("<BH", k, len(value)) + value
        return body

    leads = synthetic(n=100)
    data = record({3: lead_section([1], 100), 6: data_section([leads["I"]], huffman=False),
                   8: statements(["Sinus rhythm", "Left axis deviation"]),
                   11: statements(["Sinus rhythm", "Abnormal ECG"], kind=2)})
    ecg = scp.read(write(tmp_path, "text.scp", data))
    assert ecg.interpretation == ["Sinus rhythm", "Left axis deviation", "Abnormal ECG"]


def test_scp_sample_count_beyond_the_data(tmp_path):
    leads = synthetic(n=100)
    data = record({2: struct.pack("<H", 19999), 3: lead_section([1], 4_000_000_000),
                   6: data_section([leads["I"]])})
    with pytest.raises(FormatError, match=r"4000000000 samples expected, its \d+ bytes hold at most"):
        scp.read(write(tmp_path, "huge.scp", data))


# ----------------------------------------------------------------------------------------------
# SCP-ECG: damaged and unsupported files -> one clear FormatError each
# ----------------------------------------------------------------------------------------------


def test_scp_truncated(tmp_path):
    data = need(SCP_FILE).read_bytes()
    with pytest.raises(FormatError, match=r"truncated.*says 34144 bytes.*has 20000"):
        scp.read(write(tmp_path, "cut.scp", data[:20000]))
    with pytest.raises(FormatError, match="too short"):
        scp.read(write(tmp_path, "tiny.scp", data[:12]))


def test_scp_wrong_record_crc(tmp_path):
    data = bytearray(need(SCP_FILE).read_bytes())
    data[10_000] ^= 0x01  # one bit of the rhythm data
    with pytest.raises(FormatError, match=r"flip\.scp: SCP-ECG: record CRC mismatch"):
        scp.read(write(tmp_path, "flip.scp", bytes(data)))


def test_scp_wrong_section_crc(tmp_path):
    data = bytearray(need(SCP_FILE).read_bytes())
    data[10_000] ^= 0x01
    struct.pack_into("<H", data, 0, crc(bytes(data[2:])))  # the record CRC is right, section 6's is not
    with pytest.raises(FormatError, match="section 6 CRC mismatch"):
        scp.read(write(tmp_path, "s6.scp", bytes(data)))


def test_scp_section_6_missing(tmp_path):
    data = bytearray(need(SCP_FILE).read_bytes())
    for k in range(12):  # section 0's pointer to section 6: length 0, index 0
        if struct.unpack_from("<H", data, 22 + 10 * k)[0] == 6:
            struct.pack_into("<II", data, 22 + 10 * k + 2, 0, 0)
    with pytest.raises(FormatError, match="no section 6"):
        scp.read(write(tmp_path, "no6.scp", fix_crcs(data)))


def test_scp_unknown_difference_encoding(tmp_path):
    data = bytearray(need(SCP_FILE).read_bytes())
    data[section_offset(bytes(data), 6) + 16 + 4] = 3
    with pytest.raises(FormatError, match=r"unknown difference encoding 3; expected 0 \(none\)"):
        scp.read(write(tmp_path, "diff3.scp", fix_crcs(data)))


def test_scp_bimodal_refused(tmp_path):
    data = bytearray(need(SCP_FILE).read_bytes())
    s6 = section_offset(bytes(data), 6) + 16
    data[s6 + 5] = 1
    # sections 5 and 6 both at 2000 µs: decimation factor 1, nothing to undo
    ecg = scp.read(write(tmp_path, "bimodal1.scp", fix_crcs(data)))
    assert ecg.fs == 500.0 and any("bimodal" in n for n in ecg.notes)
    struct.pack_into("<H", data, s6 + 2, 8000)  # rhythm at 125 Hz, reference beats at 500 Hz
    with pytest.raises(FormatError, match="bimodal compression .* not supported"):
        scp.read(write(tmp_path, "bimodal.scp", fix_crcs(data)))


def test_scp_damaged_huffman_stream(tmp_path):
    leads = synthetic(n=400)
    body = bytearray(data_section([leads["I"]], diff=2))
    struct.pack_into("<H", body, 6, 55)  # the lead's data said to be 55 bytes (440 bits): ends too early
    data = record({2: struct.pack("<H", 19999), 3: lead_section([1], 400), 6: bytes(body)})
    with pytest.raises(FormatError, match=r"lead 1: Huffman data end after \d+ of 400 samples"):
        scp.read(write(tmp_path, "short.scp", data))


def test_scp_reference_beat_subtraction_without_section_4(tmp_path):
    leads = synthetic(n=400)
    data = record({2: struct.pack("<H", 19999), 3: lead_section([1], 400, flags=0x05),
                   6: data_section([leads["I"]])})
    with pytest.raises(FormatError, match="reference beat was subtracted, but section 4 is missing"):
        scp.read(write(tmp_path, "ref.scp", data))
    with pytest.raises(FormatError, match="reference beats were asked for, but section 4 is missing"):
        scp.read_reference_beats(tmp_path / "ref.scp")


def test_scp_duplicate_lead(tmp_path):
    leads = synthetic(n=100)
    data = record({3: lead_section([1, 1], 100), 6: data_section([leads["I"], leads["II"]], huffman=False)})
    with pytest.raises(FormatError, match="lists lead I .* twice"):
        scp.read(write(tmp_path, "dup.scp", data))


# ----------------------------------------------------------------------------------------------
# ISHNE Holter
# ----------------------------------------------------------------------------------------------


def ishne_bytes(samples: np.ndarray, codes, resolution=2500, fs=200, quality=None, nleads=None,
                sex=1, birth=(15, 6, 1950), recorded=(2, 3, 2020), start=(8, 30, 5), magic=b"ISHNE1.0",
                crc_value=None, nsamples=None) -> bytes:
    """An ISHNE 1.0 file: samples int16 of shape (n, leads)."""
    n, k = samples.shape
    quality = quality if quality is not None else [1] * k
    pad12 = lambda xs, fill=0: list(xs) + [fill] * (12 - len(xs))  # noqa: E731
    header = struct.pack("<iiiih", 0, n if nsamples is None else nsamples, 522, 522, 1)
    header += b"Ann".ljust(40, b"\0") + b"Other".ljust(40, b"\0") + b"P-1".ljust(20, b"\0")
    header += struct.pack("<hh3h3h3h3h", sex, 0, *birth, *recorded, *recorded, *start)
    header += struct.pack("<h12h12h12hh", k if nleads is None else nleads, *pad12(codes),
                          *pad12(quality), *pad12([resolution] * k), 0)
    header += b"Holter-X".ljust(40, b"\0") + struct.pack("<h", fs) + bytes(80 + 80 + 88)
    assert len(header) == 512
    value = crc(header) if crc_value is None else crc_value
    return magic + struct.pack("<H", value) + header + samples.astype("<i2").tobytes()


def test_ishne_shared_file_matches_raw_decode_and_ecgdatakit():
    path = need(ISHNE_FILE)
    ecg = ishne.read(path)
    raw = np.fromfile(path, dtype="<i2", offset=522).reshape(-1, 12)  # independent decode
    assert ecg.fs == 1000.0
    assert list(ecg.leads) == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for k, mv in enumerate(ecg.leads.values()):
        assert mv.dtype == np.float64
        np.testing.assert_array_equal(mv, raw[:, k] * 5e-3)  # 5000 nV per count
    assert len(ecg.leads["I"]) / ecg.fs == pytest.approx(95.573)
    assert ecg.acquired == "2000-01-01T07:00:00"
    assert ecg.sex is None and ecg.age is None  # sex 0 (unknown), birth date -9/-9/-9
    assert ecg.notes == []
    ecgdatakit = pytest.importorskip("ecgdatakit")
    theirs = ecgdatakit.FileParser().parse(str(path))
    for lead in theirs.leads:
        assert lead.sampling_rate == ecg.fs
        np.testing.assert_allclose(np.asarray(lead.samples), ecg.leads[lead.label], atol=1e-12)


def test_ishne_synthetic_metadata_and_pad_values(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(-2000, 2000, (1000, 3))
    x[500, 1] = -32768  # one invalid sample
    x[-40:] = -32768  # the writer's padding
    codes = [2, 1, 11]
    path = write(tmp_path, "h.dat", ishne_bytes(x, codes))
    ecg = ishne.read(path)
    assert list(ecg.leads) == ["X", "bipolar 2", "V1"]
    assert ecg.fs == 200.0 and len(ecg.leads["X"]) == 960
    assert np.isnan(ecg.leads["bipolar 2"][500]) and np.isnan(ecg.leads["bipolar 2"]).sum() == 1
    np.testing.assert_array_equal(ecg.leads["V1"], x[:960, 2] * 2.5e-3)
    assert ecg.sex == "M" and ecg.age == 69.0 and ecg.acquired == "2020-03-02T08:30:05"
    assert ecg.device == "Holter-X" and ecg.identity["birth_date"] == "1950-06-15"
    assert any("40 trailing" in n for n in ecg.notes) and any("1 samples of invalid" in n for n in ecg.notes)


def test_ishne_absent_lead_and_zero_crc(tmp_path):
    x = np.arange(300, dtype=np.int64).reshape(100, 3)
    ecg = ishne.read(write(tmp_path, "q.ecg", ishne_bytes(x, [5, 6, 7], quality=[1, -9, 1], crc_value=0)))
    assert list(ecg.leads) == ["I", "III"]
    assert any("CRC is 0" in n for n in ecg.notes) and any("absent" in n for n in ecg.notes)


def test_ishne_wrong_magic(tmp_path):
    x = np.zeros((10, 2))
    with pytest.raises(FormatError, match=r"m\.ecg: ISHNE: magic b'ISHNE2\.0'; expected b'ISHNE1\.0'"):
        ishne.read(write(tmp_path, "m.ecg", ishne_bytes(x, [5, 6], magic=b"ISHNE2.0")))


def test_ishne_truncated(tmp_path):
    data = need(ISHNE_FILE).read_bytes()
    with pytest.raises(FormatError, match=r"truncated: the header declares 95573 samples per lead"):
        ishne.read(write(tmp_path, "cut.ecg", data[:1_000_000]))
    with pytest.raises(FormatError, match="shorter than the 522-byte ISHNE header"):
        ishne.read(write(tmp_path, "cut2.ecg", data[:300]))


def test_ishne_zero_leads(tmp_path):
    x = np.zeros((10, 2))
    with pytest.raises(FormatError, match="0 leads in the header; expected 1 to 12"):
        ishne.read(write(tmp_path, "z.ecg", ishne_bytes(x, [5, 6], nleads=0)))


def test_ishne_wrong_crc(tmp_path):
    data = bytearray(need(ISHNE_FILE).read_bytes())
    data[10 + 262] ^= 0x01  # the sampling rate's low byte: 1000 Hz would read as 1001 Hz
    with pytest.raises(FormatError, match="header CRC mismatch"):
        ishne.read(write(tmp_path, "crc.ecg", bytes(data)))


def test_ishne_annotation_file_is_not_an_ecg():
    with pytest.raises(FormatError, match="annotation file"):
        ishne.read(need(ISHNE_ANN))


# ----------------------------------------------------------------------------------------------
# Sniffing: content decides, for own and other files
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["scp_ecg/Example.scp", "ishne/ECG_P28.01.ecg", "ishne/ECG_P28.01.ann",
                                  "hl7_aecg/Example.xml", "dicom/waveform_ecg.dcm", "philips_xml/129DYPRG.XML",
                                  "ge_muse_xml/muse_ecg_deidentified_1.xml",
                                  "ge_cardiosoft_xml/ukbb_scrubbed.xml"])
def test_sniff_shared_files(name):
    path = need(CLINICAL / name)
    head = path.read_bytes()[:4096]
    assert scp.sniff(head, path) == (name == "scp_ecg/Example.scp")
    assert ishne.sniff(head, path) == (name == "ishne/ECG_P28.01.ecg")


def test_sniff_ignores_extensions_and_random_binaries(tmp_path):
    rng = np.random.default_rng(7)
    junk = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    for name in ("random.scp", "random.ecg"):
        path = write(tmp_path, name, junk)
        assert not scp.sniff(junk[:4096], path) and not ishne.sniff(junk[:4096], path)
    # record length right but no section 0 behind it
    faked = bytearray(junk)
    struct.pack_into("<I", faked, 2, len(faked))
    path = write(tmp_path, "faked.scp", bytes(faked))
    assert not scp.sniff(bytes(faked[:4096]), path)
    # section 0 looks right but its CRC does not match (and no "SCPECG"): not SCP
    ok = record({3: lead_section([1], 10), 6: data_section([np.zeros(10)], huffman=False)})
    bad = bytearray(ok)
    bad[16:22] = bytes(6)
    path = write(tmp_path, "bad.bin", bytes(bad))
    assert not scp.sniff(bytes(bad), path)
    assert scp.sniff(fix_crcs(bad), path)  # a v1.x record (no "SCPECG") with a right CRC is SCP
    with pytest.raises(FormatError, match="ISHNE: magic"):
        ishne.read(path)
    with pytest.raises(FormatError, match="SCP-ECG"):
        scp.read(write(tmp_path, "junk.bin", junk))
    assert not scp.sniff(b"", path) and not ishne.sniff(b"", path)
