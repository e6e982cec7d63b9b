"""The cart XML readers: HL7 aECG, Philips SierraECG, GE MUSE, GE CardioSoft.

The real files live in ``../shared/clinical`` (see its PROVENANCE.md) and are read in place;
tests that need one skip when it is absent. Every malformed variant is written into a
temporary directory.

(a) each reader against a second way of reading the same file (a few lines of ElementTree
    + base64/numpy here; for Philips, ecgdatakit and the Einthoven/Goldberger relations);
(b) what ecgdatakit 2.0.3 makes of each file (the numbers quoted in docs/formats_xml.md);
(c) malformed files -> one FormatError each, never a raw KeyError/IndexError/binascii error;
    no entity expansion, no DTD fetch;
(d) sniff: true for its own file only.
"""

from __future__ import annotations

import base64
import functools
import http.server
import re
import struct
import threading
import warnings
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest

from l2g.io import aecg, cardiosoft, muse, philips
from l2g.io._raw import FormatError, RawECG

CLINICAL = Path(__file__).resolve().parents[1].parent / "shared" / "clinical"
FILES = {
    "aecg": "hl7_aecg/Example.xml",
    "philips": "philips_xml/129DYPRG.XML",
    "muse": "ge_muse_xml/muse_ecg_deidentified_1.xml",
    "cardiosoft": "ge_cardiosoft_xml/ukbb_scrubbed.xml",
}
MODULES = {"aecg": aecg, "philips": philips, "muse": muse, "cardiosoft": cardiosoft}
TWELVE = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def clinical(key: str) -> Path:
    """Path of a shared clinical file; skips the test when it is not there."""
    path = CLINICAL / FILES[key]
    if not path.is_file():
        pytest.skip(f"{path} not found: real cart files are read from ../shared/clinical")
    return path


@functools.cache
def _read_cached(key: str) -> RawECG:
    return MODULES[key].read(CLINICAL / FILES[key])


def read_shared(key: str) -> RawECG:
    clinical(key)
    return _read_cached(key)


def _variant(tmp_path: Path, key: str, edit, name: str | None = None) -> Path:
    """Write ``edit(text)`` of a shared file into tmp_path and return its path."""
    src = clinical(key)
    raw = src.read_bytes()
    enc = "iso-8859-1" if key in ("muse", "cardiosoft") else "utf-8"
    out = tmp_path / (name or src.name)
    out.write_bytes(edit(raw.decode(enc)).encode(enc))
    return out


def _one(pattern: str, text: str) -> re.Match:
    m = re.search(pattern, text, re.S)
    assert m is not None, pattern
    return m


# ---------------------------------------------------------------------------------------------
# (a) independent decodes
# ---------------------------------------------------------------------------------------------

def test_aecg_matches_plain_elementtree():
    r = read_shared("aecg")
    ns = {"h": "urn:hl7-org:v3"}
    root = ET.parse(clinical("aecg")).getroot()
    rhythm = [s for s in root.iterfind("h:component/h:series", ns)
              if s.find("h:code", ns).get("code") == "RHYTHM"][0]
    path = "h:component/h:sequenceSet/h:component/h:sequence"  # not the derived median beats
    seqs = {s.find("h:code", ns).get("code"): s for s in rhythm.iterfind(path, ns)}
    for code, label in [("MDC_ECG_LEAD_I", "I"), ("MDC_ECG_LEAD_V3", "V3"), ("MDC_ECG_LEAD_AVF", "aVF")]:
        value = seqs[code].find("h:value", ns)
        assert value.find("h:scale", ns).get("unit") == "uV"
        scale = float(value.find("h:scale", ns).get("value"))
        digits = np.array(value.find("h:digits", ns).text.split(), dtype=float)
        np.testing.assert_allclose(r.leads[label], digits * scale / 1000.0, rtol=0, atol=1e-12)
    assert r.fs == 500.0
    assert sorted(r.leads) == sorted(TWELVE)
    assert {v.size for v in r.leads.values()} == {5000}  # 10 s
    assert r.derived == {}
    assert all(np.isfinite(v).all() for v in r.leads.values())


def test_aecg_metadata():
    r = read_shared("aecg")
    assert r.acquired == "2002-11-22T09:10:00"
    assert r.sex == "M" and r.age == 46.0
    assert r.device == "Mortara Instrument, Inc. ELI250"
    assert r.measurements == {"P_ms": 102.0, "PR_ms": 148.0, "QRS_ms": 120.0, "QT_ms": 420.0,
                              "QTc_ms": 443.0, "P_axis_deg": 44.0, "QRS_axis_deg": -61.0,
                              "T_axis_deg": 86.0}
    assert r.interpretation == ["Sinus Rhythm"]
    assert r.identity["birth_date"] == "1953-05-08"
    assert any("representative" in n for n in r.notes)


def test_muse_matches_plain_base64_and_derives_limb_leads_exactly():
    r = read_shared("muse")
    root = ET.parse(clinical("muse")).getroot()  # expat does not load the external DTD
    rhythm = [w for w in root.iter("Waveform") if w.findtext("WaveformType") == "Rhythm"][0]
    counts = {}
    for ld in rhythm.iter("LeadData"):
        counts[ld.findtext("LeadID")] = np.frombuffer(base64.b64decode(ld.findtext("WaveFormData")), "<i2")
        assert ld.findtext("LeadAmplitudeUnits") == "MICROVOLTS"
        assert float(ld.findtext("LeadAmplitudeUnitsPerBit")) == 4.88
    assert sorted(counts) == ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    for label in ("I", "II", "V5"):
        np.testing.assert_allclose(r.leads[label], counts[label] * 4.88 / 1000.0, rtol=0, atol=1e-12)
    assert r.fs == 240.0  # exactly the file's rate, not 250 or 500
    assert {v.size for v in r.leads.values()} == {2500}  # 2500 / 240 = 10.4 s
    assert sorted(r.leads) == sorted(TWELVE)
    assert r.derived == {"III": "II - I", "aVR": "-(I + II) / 2", "aVL": "I - II / 2", "aVF": "II - I / 2"}
    i, ii = counts["I"] * 4.88e-3, counts["II"] * 4.88e-3
    np.testing.assert_allclose(r.leads["III"], ii - i, atol=1e-12)
    np.testing.assert_allclose(r.leads["aVR"], -(i + ii) / 2, atol=1e-12)
    np.testing.assert_allclose(r.leads["aVL"], i - ii / 2, atol=1e-12)
    np.testing.assert_allclose(r.leads["aVF"], ii - i / 2, atol=1e-12)


def test_muse_metadata_and_identity_kept_apart():
    r = read_shared("muse")
    assert r.age == 66.0 and r.sex == "M"
    assert r.acquired == "2000-04-22T11:34:00"
    assert r.device == "MAC"
    assert r.measurements == {"HR_bpm": 102.0, "PR_ms": 167.0, "QRS_ms": 83.0, "QT_ms": 367.0,
                              "QTc_ms": 478.0, "P_axis_deg": 48.0, "QRS_axis_deg": -31.0, "T_axis_deg": 59.0}
    assert r.interpretation[:2] == ["BASELINE ARTIFACT", "SINUS TACHYCARDIA WITH ONE VENTRICULAR PREMATURE BEAT"]
    assert r.identity == {"name": "WEST, KANYE", "id": "502542127", "birth_date": "03-21-1941"}
    blob = repr((r.notes, r.interpretation, r.device, r.acquired, dict(r.fields)))
    assert "WEST" not in blob and "502542127" not in blob
    assert any("median" in n for n in r.notes)


def test_cardiosoft_matches_plain_text_parse():
    r = read_shared("cardiosoft")
    root = ET.parse(clinical("cardiosoft")).getroot()
    strip = root.find("StripData")
    assert strip.findtext("Resolution") == "5" and strip.find("Resolution").get("units") == "uVperLsb"
    for wd in strip.iter("WaveformData"):
        if wd.get("lead") in ("I", "V1", "aVF"):
            ints = np.array([int(t) for t in wd.text.split(",") if t.strip()], dtype=float)
            np.testing.assert_allclose(r.leads[wd.get("lead")], ints * 5 / 1000.0, rtol=0, atol=1e-12)
    assert r.fs == 500.0
    assert list(r.leads) == TWELVE
    assert {v.size for v in r.leads.values()} == {5000}
    # the stored limb leads obey Einthoven exactly in this file
    assert np.abs(r.leads["III"] - (r.leads["II"] - r.leads["I"])).max() < 1e-9


def test_cardiosoft_metadata():
    r = read_shared("cardiosoft")
    assert r.acquired == "2001-01-01T01:01:01"
    assert r.sex == "F" and r.age == 1.0
    assert r.device == "CardioSoft V6.73"
    assert r.measurements["HR_bpm"] == 75.0 and r.measurements["QTc_ms"] == 422.0
    assert "PR_ms" not in r.measurements  # PQInterval is empty in this file
    assert r.interpretation[0] == "Normal sinus rhythm" and "---" not in r.interpretation
    assert any("FullDisclosure" in n for n in r.notes) and any("median" in n for n in r.notes)


def test_philips_leads_look_like_ecg_and_obey_einthoven_goldberger():
    r = read_shared("philips")
    assert r.fs == 500.0
    assert list(r.leads) == TWELVE
    n = {v.size for v in r.leads.values()}
    assert n == {5264}, n  # 11 s stored; the last 236 samples are pad + 1-mV pulse + pad
    L = r.leads
    q = 0.005  # 5 uV per count
    # residuals rebuilt: every limb relation holds to within the cart's quantisation
    assert np.abs(L["III"] - (L["II"] - L["I"])).max() <= 2 * q + 1e-9
    assert np.abs(L["aVR"] + (L["I"] + L["II"]) / 2).max() <= 2 * q + 1e-9
    assert np.abs(L["aVL"] - (L["I"] - L["II"] / 2)).max() <= 2 * q + 1e-9
    assert np.abs(L["aVF"] - (L["II"] - L["I"] / 2)).max() <= 2 * q + 1e-9
    for label, x in L.items():
        ptp = np.ptp(x)
        assert 0.2 < ptp < 5.0, (label, ptp)  # ECG amplitudes, no drift from a wrong decode
        assert abs(np.median(x)) < 0.3, label
        assert not np.any(np.all(np.abs(x[-50:] - 1.0) < 1e-9)), label  # no pulse left
    assert any("calibration" in note for note in r.notes)


def test_philips_matches_ecgdatakit_where_it_is_right():
    pytest.importorskip("ecgdatakit")
    from ecgdatakit import FileParser

    r = read_shared("philips")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = FileParser.parse(clinical("philips"), auto_scale=False)
    theirs = {lead.label: np.asarray(lead.samples, dtype=float) for lead in rec.leads}
    n = r.leads["I"].size
    for label in ["I", "II", "III", "V1", "V2", "V3", "V4", "V5", "V6"]:
        np.testing.assert_array_equal(np.round(r.leads[label] / 0.005), theirs[label][:n], err_msg=label)
    for label in ["aVR", "aVL", "aVF"]:
        diff = np.abs(np.round(r.leads[label] / 0.005) - theirs[label][:n])
        assert diff.max() == 1  # floor vs truncating division of odd negative sums
    # what ecgdatakit keeps after the signal: zero pad, a 200-count (1 mV) pulse, zero pad
    assert theirs["I"].size == 5500
    np.testing.assert_array_equal(theirs["I"][5350:5450], 200)
    np.testing.assert_array_equal(theirs["I"][5264:5350], 0)


def test_philips_metadata():
    r = read_shared("philips")
    assert r.fields["document_version"] == "1.03"
    assert r.acquired == "2011-12-01T07:27:34"
    assert r.device == "HeartstartMRx"
    assert r.age == 50.0 and r.sex == "M"
    assert r.measurements == {"HR_bpm": 41.0, "PR_ms": 151.0, "QRS_ms": 135.0, "QT_ms": 476.0,
                              "QTc_ms": 393.0, "P_axis_deg": 66.0, "QRS_axis_deg": -21.0, "T_axis_deg": 59.0}
    assert r.interpretation[0] == "Sinus bradycardia; rate< 50"
    assert r.interpretation[-1] == "ABNORMAL ECG"


@pytest.mark.parametrize("bom", [True, False])
def test_philips_utf16(tmp_path, bom):
    text = clinical("philips").read_text("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    out = tmp_path / "utf16.xml"
    out.write_bytes(text.encode("utf-16" if bom else "utf-16-le"))
    assert philips.sniff(out.read_bytes()[:4096], out)
    r = philips.read(out)
    ref = read_shared("philips")
    assert list(r.leads) == list(ref.leads)
    for k in ref.leads:
        np.testing.assert_array_equal(r.leads[k], ref.leads[k])
    assert r.measurements == ref.measurements


def test_philips_xli_detects_undefined_lzw_code():
    bits = "".join(f"{c:010b}" for c in [65, 900, 1023])
    bits += "0" * (-len(bits) % 8)
    payload = int(bits, 2).to_bytes(len(bits) // 8, "big")
    with pytest.raises(ValueError, match="LZW code 900"):
        philips.xli_decode(struct.pack("<ihh", len(payload), 1, 0) + payload)


# ---------------------------------------------------------------------------------------------
# a synthetic aECG: lead order, mV scale with origin, ms increment, relative time
# ---------------------------------------------------------------------------------------------

def _aecg_text(series_code="RHYTHM", increment='value="2" unit="ms"', time_code="TIME_RELATIVE",
               leads=(("MDC_ECG_LEAD_V2", "1 2 3 4"), ("MDC_ECG_LEAD_AVR", "-4 -3 -2 -1")),
               scale='value="0.5" unit="mV"', origin='value="100" unit="uV"'):
    seqs = "".join(
        f'<component><sequence><code code="{c}"/><value xsi:type="SLIST_PQ"><origin {origin}/>'
        f'<scale {scale}/><digits>{d}</digits></value></sequence></component>' for c, d in leads)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><effectiveTime><center value="20240102030405"/>'
        f'</effectiveTime><component><series><code code="{series_code}"/><component><sequenceSet>'
        f'<component><sequence><code code="{time_code}"/><value xsi:type="GLIST_PQ"><head value="0" unit="s"/>'
        f'<increment {increment}/></value></sequence></component>{seqs}</sequenceSet></component>'
        '</series></component></AnnotatedECG>')


def test_aecg_synthetic_units_order_relative_time(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text(_aecg_text())
    r = aecg.read(p)
    assert r.fs == 500.0
    assert list(r.leads) == ["V2", "aVR"]
    np.testing.assert_allclose(r.leads["V2"], [0.6, 1.1, 1.6, 2.1])
    np.testing.assert_allclose(r.leads["aVR"], [-1.9, -1.4, -0.9, -0.4])
    assert r.acquired == "2024-01-02T03:04:05"


def test_aecg_utf8_bom_and_utf16(tmp_path):
    for name, data in [("bom8.xml", b"\xef\xbb\xbf" + _aecg_text().encode()),
                       ("u16.xml", _aecg_text().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))]:
        p = tmp_path / name
        p.write_bytes(data)
        assert aecg.sniff(data[:4096], p)
        assert list(aecg.read(p).leads) == ["V2", "aVR"]


def test_aecg_non_integer_rate_kept(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text(_aecg_text(increment='value="0.0016670" unit="s"'))
    assert aecg.read(p).fs == pytest.approx(1 / 0.001667, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# (b) ecgdatakit on each shared file (numbers quoted in docs/formats_xml.md)
# ---------------------------------------------------------------------------------------------

def _ecgdatakit(path: Path):
    pytest.importorskip("ecgdatakit")
    from ecgdatakit import FileParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FileParser.parse(path, units="mV")


@pytest.mark.parametrize("key", ["aecg", "muse"])
def test_ecgdatakit_agrees_on_aecg_and_muse_stored_leads(key):
    rec = _ecgdatakit(clinical(key))
    ours = read_shared(key)
    theirs = {lead.label: np.asarray(lead.samples, dtype=float) for lead in rec.leads}
    assert {lead.sampling_rate for lead in rec.leads} == {int(ours.fs)}
    for label, x in theirs.items():
        assert not np.isnan(x).any()
        assert np.abs(x - ours.leads[label]).max() < 1e-9, label
    if key == "muse":
        assert sorted(theirs) == ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]  # no III/aVR/aVL/aVF


def test_ecgdatakit_philips_keeps_the_calibration_pulse():
    rec = _ecgdatakit(clinical("philips"))
    for lead in rec.leads:
        x = np.asarray(lead.samples, dtype=float)
        assert x.size == 5500 and x.max() == pytest.approx(1.0)  # the 1-mV pulse is in every lead


def test_ecgdatakit_does_not_read_cardiosoft():
    pytest.importorskip("ecgdatakit")
    from ecgdatakit import FileParser, UnsupportedFormatError

    with pytest.raises(UnsupportedFormatError):
        FileParser.parse(clinical("cardiosoft"))


# ---------------------------------------------------------------------------------------------
# (c) malformed files
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", list(FILES))
def test_truncated_file(tmp_path, key):
    src = clinical(key).read_bytes()
    for frac in (0.1, 0.5, 0.97):
        p = tmp_path / f"cut{frac}.xml"
        p.write_bytes(src[: int(len(src) * frac)])
        with pytest.raises(FormatError, match="not well-formed"):
            MODULES[key].read(p)


MISSING_WAVEFORM = {
    "aecg": lambda t: t.replace('<code code="RHYTHM"', '<code code="SOMETHING"', 1),
    "philips": lambda t: re.sub(r"<parsedwaveforms.*?</parsedwaveforms>", "", t, flags=re.S),
    "muse": lambda t: t.replace("<WaveformType>Rhythm</WaveformType>", "<WaveformType>Median</WaveformType>"),
    "cardiosoft": lambda t: re.sub(r"<StripData>.*?</StripData>", "", t, flags=re.S),
}


@pytest.mark.parametrize("key", list(FILES))
def test_missing_waveform(tmp_path, key):
    p = _variant(tmp_path, key, MISSING_WAVEFORM[key])
    with pytest.raises(FormatError, match=r"RHYTHM|Rhythm|parsedwaveforms|StripData") as e:
        MODULES[key].read(p)
    assert str(p) in str(e.value)


def test_muse_bad_base64(tmp_path):
    def edit(t):
        start = t.index("<WaveformType>Rhythm</WaveformType>")
        i = t.index("<WaveFormData>", start) + len("<WaveFormData>")
        return t[:i] + "@@not*base64@@" + t[i:]
    with pytest.raises(FormatError, match="not valid Base64"):
        muse.read(_variant(tmp_path, "muse", edit))


def test_muse_sample_count_and_crc_mismatch(tmp_path):
    def count(t):
        start = t.index("<WaveformType>Rhythm</WaveformType>")
        i = t.index("<LeadSampleCountTotal>2500<", start)
        return t[:i] + "<LeadSampleCountTotal>2400<" + t[i + len("<LeadSampleCountTotal>2500<"):]
    with pytest.raises(FormatError, match="LeadSampleCountTotal says 2400"):
        muse.read(_variant(tmp_path, "muse", count, "count.xml"))

    def crc(t):
        return re.sub(r"<LeadDataCRC32>\d+<", "<LeadDataCRC32>1<", t)
    with pytest.raises(FormatError, match="CRC32"):
        muse.read(_variant(tmp_path, "muse", crc, "crc.xml"))


def test_muse_lead_length_mismatch(tmp_path):
    def edit(t):
        # one rhythm lead loses 50 samples; its own counts and CRC are made consistent with that
        start = t.index("<WaveformType>Rhythm</WaveformType>")
        a = t.index("<LeadData>", start)
        b = t.index("</LeadData>", a)
        block = t[a:b]
        body = _one(r"<WaveFormData>(.*?)</WaveFormData>", block).group(1)
        raw = base64.b64decode(re.sub(r"\s", "", body))[:-100]
        block = block.replace(body, base64.b64encode(raw).decode())
        block = re.sub(r"<LeadByteCountTotal>\d+<", f"<LeadByteCountTotal>{len(raw)}<", block)
        block = re.sub(r"<LeadSampleCountTotal>\d+<", f"<LeadSampleCountTotal>{len(raw) // 2}<", block)
        block = re.sub(r"<LeadDataCRC32>\d+<", f"<LeadDataCRC32>{zlib.crc32(raw)}<", block)
        return t[:a] + block + t[b:]
    with pytest.raises(FormatError, match="different lengths"):
        muse.read(_variant(tmp_path, "muse", edit))


def test_muse_twelve_stored_leads_not_derived(tmp_path):
    def edit(t):
        start = t.index("<WaveformType>Rhythm</WaveformType>")
        a = t.index("<LeadData>", start)
        b = t.index("</LeadData>", a) + len("</LeadData>")
        copy = t[a:b].replace("<LeadID>I</LeadID>", "<LeadID>III</LeadID>")
        t = t[:b] + copy + t[b:]
        return t.replace("<NumberofLeads>8</NumberofLeads>", "<NumberofLeads>9</NumberofLeads>")
    r = muse.read(_variant(tmp_path, "muse", edit))
    np.testing.assert_array_equal(r.leads["III"], r.leads["I"])  # the stored III, not II - I
    assert "III" not in r.derived and "aVR" in r.derived


def test_cardiosoft_length_mismatch_and_bad_sample(tmp_path):
    def short(t):
        return re.sub(r'(<StripData>.*?<WaveformData lead="V1">\s*)(-?\d+,){10}', r"\1", t, count=1, flags=re.S)
    with pytest.raises(FormatError, match="different lengths"):
        cardiosoft.read(_variant(tmp_path, "cardiosoft", short, "short.xml"))

    def bad(t):
        return re.sub(r'(<StripData>.*?<WaveformData lead="V1">\s*)-?\d+,', r"\1x1,", t, count=1, flags=re.S)
    with pytest.raises(FormatError, match="not an integer"):
        cardiosoft.read(_variant(tmp_path, "cardiosoft", bad, "bad.xml"))

    def count(t):
        return t.replace("<ChannelSampleCountTotal>5000<", "<ChannelSampleCountTotal>5001<")
    with pytest.raises(FormatError, match="ChannelSampleCountTotal"):
        cardiosoft.read(_variant(tmp_path, "cardiosoft", count, "count.xml"))


def test_aecg_length_mismatch_and_bad_digits(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text(_aecg_text(leads=(("MDC_ECG_LEAD_I", "1 2 3"), ("MDC_ECG_LEAD_II", "1 2"))))
    with pytest.raises(FormatError, match="different lengths"):
        aecg.read(p)
    p.write_text(_aecg_text(leads=(("MDC_ECG_LEAD_I", "1 2 x3"),)))
    with pytest.raises(FormatError, match="not an integer"):
        aecg.read(p)
    p.write_text(_aecg_text(scale='value="1" unit="furlong"'))
    with pytest.raises(FormatError, match="furlong"):
        aecg.read(p)
    p.write_text(_aecg_text(increment='value="0" unit="s"'))
    with pytest.raises(FormatError, match="not positive"):
        aecg.read(p)


def test_philips_bad_base64_and_damaged_xli(tmp_path):
    def bad(t):
        return t.replace('nbitspersample="16">', 'nbitspersample="16">@@@', 1)
    with pytest.raises(FormatError, match="not valid Base64"):
        philips.read(_variant(tmp_path, "philips", bad, "bad.xml"))

    def cut(t):  # drop most of the payload, keeping valid Base64
        m = _one(r'nbitspersample="16">(.*?)</parsedwaveforms>', t)
        body = re.sub(r"\s", "", m.group(1))
        short = base64.b64encode(base64.b64decode(body)[:3000]).decode()
        return t[:m.start(1)] + short + t[m.end(1):]
    with pytest.raises(FormatError, match="XLI"):
        philips.read(_variant(tmp_path, "philips", cut, "cut.xml"))

    def uncompressed(t):  # XLI bytes read as 16-bit words: too few for 12 leads x 11 s
        return t.replace('compressflag="True"', 'compressflag="False"', 1)
    with pytest.raises(FormatError, match=r"holds \d+ samples; 12 leads x 5500 samples \(11000 ms at 500 Hz\)"):
        philips.read(_variant(tmp_path, "philips", uncompressed, "raw.xml"))

    def hex_text(t):
        return t.replace('dataencoding="Base64"', 'dataencoding="Hex"', 1)
    with pytest.raises(FormatError, match="Philips XML 1.03 with dataencoding='Hex' and XLI compression is not "
                                          "supported yet"):
        philips.read(_variant(tmp_path, "philips", hex_text, "hex.xml"))


@pytest.mark.parametrize("key", list(FILES))
def test_corrupted_bytes_give_format_error_or_a_record(tmp_path, key):
    """Random damage inside the file: a FormatError or a valid RawECG, never another error."""
    src = bytearray(clinical(key).read_bytes())
    rng = np.random.default_rng(7)
    for k in range(4):
        data = bytearray(src)
        for pos in rng.integers(len(data) // 3, len(data), size=8):
            data[pos] = int(rng.choice(list(b"0123456789-,<>/ ABCxyz=+")))
        p = tmp_path / f"c{k}.xml"
        p.write_bytes(bytes(data))
        try:
            r = MODULES[key].read(p)
        except FormatError as e:
            assert str(p) in str(e)
        else:
            assert len({v.size for v in r.leads.values()}) == 1


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE {root} [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<{root}><x>&lol9;</x></{root}>
"""
ROOTS = {"aecg": "AnnotatedECG", "philips": "restingecgdata", "muse": "RestingECG", "cardiosoft": "CardiologyXML"}
XXE = """<?xml version="1.0"?>
<!DOCTYPE {root} [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<{root}><x>&secret;</x></{root}>
"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion_laughs", "external_entity"])
@pytest.mark.parametrize("key", list(FILES))
def test_entity_declarations_refused(tmp_path, key, payload):
    p = tmp_path / "lol.xml"
    p.write_text(payload.format(root=ROOTS[key]))
    assert MODULES[key].sniff(p.read_bytes()[:4096], p)
    with pytest.raises(FormatError, match="entities"):
        MODULES[key].read(p)


def test_muse_external_dtd_never_read_or_fetched(tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "fetched">')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/restecg.dtd"
        p = _variant(tmp_path, "muse", lambda t: t.replace('SYSTEM "restecg.dtd"', f'SYSTEM "{url}"'))
        # a local restecg.dtd that would break the parse if it were read
        (tmp_path / "restecg.dtd").write_text("<!ENTITY % broken garbage that is not a DTD")
        r = muse.read(p)
        r2 = muse.read(_variant(tmp_path, "muse", lambda t: t, "local.xml"))
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    assert r.leads["I"].size == r2.leads["I"].size == 2500


def test_unreadable_path_is_format_error(tmp_path):
    with pytest.raises(FormatError, match="cannot read"):
        muse.read(tmp_path / "absent.xml")


# ---------------------------------------------------------------------------------------------
# (d) sniff
# ---------------------------------------------------------------------------------------------

GENERIC = {
    "plain": b'<?xml version="1.0"?><root><a/></root>',
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    "xhtml": b'<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
    "comment": b"<!-- <RestingECG> --><other/>",
    "other_ns_aecg": b'<AnnotatedECG xmlns="urn:example:not-hl7"/>',
    "other_ns_philips": b'<x:restingecgdata xmlns:x="urn:example:other"/>',
    "binary": bytes(range(256)) * 4,
    "empty": b"",
}


def test_sniff_matrix():
    heads = {k: clinical(k).read_bytes()[:4096] for k in FILES}
    for other in ("dicom/waveform_ecg.dcm", "scp_ecg/Example.scp", "ishne/ECG_P28.01.ecg"):
        if (CLINICAL / other).is_file():
            heads[other] = (CLINICAL / other).read_bytes()[:4096]
    heads.update(GENERIC)
    for name, module in MODULES.items():
        for key, head in heads.items():
            assert module.sniff(head, Path("x.xml")) is (key == name), (name, key)


def test_sniff_ignores_extension_and_reads_utf16_heads():
    head = '\ufeff<?xml version="1.0" encoding="UTF-16"?>\n<!-- c --><RestingECG>'.encode("utf-16-le")
    assert muse.sniff(head, Path("ecg.dcm"))
    head = '<?xml version="1.0" encoding="UTF-16"?><restingecgdata>'.encode("utf-16-be")
    assert philips.sniff(head, Path("ecg.txt"))
    assert not muse.sniff(b"<restingecgdata>", Path("muse.xml"))
