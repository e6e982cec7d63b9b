"""Philips SierraECG XML 1.04 / 1.04.01 (and the 1.03 attribute set) from files written by the tests.

No 1.04 file may be shared in ``../shared/clinical``, so the files are written from the schema
(``tests/philips_factory.py``): ``parsedwaveforms`` with ``compression="XLI"`` or none,
``numberofleads``, ``leadlabels``, ``samplespersecond``, ``resolution``, ``signaloffset``,
``signalsigned``, ``bitspersample``; measurements in ``interpretation/globalmeasurements``. The XLI
encoder there is independent of the reader's decoder. Every test compares the decoded mV with the
counts that were encoded times the resolution. The 1.03 file a cart wrote is tested in
``test_io_xml.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from l2g.io import philips, read_record
from l2g.io._raw import FormatError

from .philips_factory import TWELVE, as_residuals, chest_lead, limb_leads, philips_xml, with_calibration


def _true_leads(n: int, fs: int, chest=("V1", "V2", "V3", "V4", "V5", "V6")) -> dict[str, np.ndarray]:
    true = limb_leads(n, fs)
    for k, name in enumerate(chest):
        true[name] = chest_lead(n, fs, k)
    return true


def _write(tmp_path, text: str, name: str = "ecg.xml", encoding: str = "utf-8"):
    path = tmp_path / name
    if encoding == "utf-16":  # as IntelliSpace / TraceMasterVue write them: UTF-16 LE with BOM
        path.write_bytes(text.replace('encoding="utf-8"', 'encoding="utf-16"', 1).encode("utf-16"))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _assert_leads(raw, true: dict[str, np.ndarray], res_uv: float) -> None:
    assert list(raw.leads) == list(true)
    for k, v in true.items():
        np.testing.assert_allclose(raw.leads[k], v * res_uv / 1000.0, rtol=0, atol=1e-12, err_msg=k)


# ---------------------------------------------------------------------------------------------
# XLI-compressed 1.04: any labels, any resolution, the calibration block, UTF-16
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("res_uv, fs, order, encoding", [
    (2.5, 1000, ("V1", "V2", "V3", "V4", "V5", "V6", "V4R"), "utf-8"),
    (1.25, 500, ("V1", "V2", "V3", "V4", "V5", "V6"), "utf-16"),
    (4.88, 250, ("V3", "V1"), "utf-8"),
])
def test_104_xli_leads_in_mv(tmp_path, res_uv, fs, order, encoding):
    """Fails on the reader before 1.04 support: "parsedwaveforms compressflag=None ..."."""
    true = _true_leads(3 * fs, fs, chest=order)
    stored = with_calibration(as_residuals(true), fs, res_uv)
    path = _write(tmp_path, philips_xml(stored, fs=fs, res_uv=res_uv, extra_chunks=4), encoding=encoding)
    assert philips.sniff(path.read_bytes()[:4096], path)
    raw = philips.read(path)
    assert raw.fs == float(fs) and raw.fields["document_version"] == "1.04"
    _assert_leads(raw, true, res_uv)
    assert any("calibration pulse" in n for n in raw.notes)
    assert any("4 unused XLI channel(s)" in n for n in raw.notes)


def test_104_record_measurements_and_statements(tmp_path):
    """read_record: 12 recorded leads in mV, V4R left out with a note, the cart's 1.04 measurements."""
    fs, res_uv = 1000, 2.5
    true = _true_leads(3 * fs, fs, chest=("V1", "V2", "V3", "V4", "V5", "V6", "V4R"))
    path = _write(tmp_path, philips_xml(with_calibration(as_residuals(true), fs, res_uv), fs=fs, res_uv=res_uv))
    rec = read_record(path)
    assert rec.fs == 1000.0 and rec.source_format == "philips" and rec.leads == TWELVE
    assert rec.status == ("recorded",) * 12
    for j, lead in enumerate(TWELVE):
        np.testing.assert_allclose(rec.signal[j], true[lead] * 0.0025, rtol=0, atol=1e-6, err_msg=lead)
    assert any("V4R" in n for n in rec.meta.notes) and rec.meta.other_channels == ("V4R",)
    assert rec.meta.measurements == {"HR_bpm": 72.0, "PR_ms": 168.0, "QRS_ms": 96.0, "QT_ms": 402.0,
                                     "QTc_ms": 440.0, "P_axis_deg": 55.0, "QRS_axis_deg": -12.0, "T_axis_deg": 38.0}
    assert rec.meta.interpretation == ("Sinus rhythm; normal P axis, V-rate 50-99",
                                       "Left axis deviation; QRS axis < -30", "ABNORMAL ECG")
    assert rec.meta.age == 67.0 and rec.meta.sex == "F"
    assert rec.meta.acquired == "2020-02-29T23:59:58" and rec.meta.device == "PageWriter TC70"


def test_104_waveform_attributes_win_over_signalcharacteristics(tmp_path):
    true = _true_leads(2000, 1000)
    text = philips_xml(as_residuals(true), fs=1000, res_uv=2.5, general_fs=500, general_res=5)
    raw = philips.read(_write(tmp_path, text))
    assert raw.fs == 1000.0
    _assert_leads(raw, true, 2.5)
    assert any("samplespersecond=1000 differs" in n for n in raw.notes)
    assert any("resolution=2.5 differs" in n for n in raw.notes)


def test_104_numberofleads_reads_the_first_labels(tmp_path):
    true = _true_leads(1500, 500)
    stored = as_residuals(true)
    text = philips_xml(stored, numberofleads=12, labels=" ".join(TWELVE) + " V4R V5R")
    raw = philips.read(_write(tmp_path, text))
    _assert_leads(raw, true, 5.0)
    bad = philips_xml(stored, numberofleads=14)
    with pytest.raises(FormatError, match="numberofleads='14' but leadlabels names 12"):
        philips.read(_write(tmp_path, bad, "bad.xml"))


# ---------------------------------------------------------------------------------------------
# uncompressed 1.04: Base64 words (8/16/24/32 bits, signed or not, offset) and Plain text
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits, signed, offset, residuals", [
    (16, True, 0, True),
    (16, True, 0, False),
    (16, False, 32768, False),
    (24, True, -7, True),
    (32, True, 100000, False),
])
def test_104_uncompressed_base64(tmp_path, bits, signed, offset, residuals):
    """Fails on the reader before 1.04 support (no compressflag: refused)."""
    fs, res_uv = 500, 3.0
    true = _true_leads(2500, fs)
    stored = with_calibration(as_residuals(true) if residuals else true, fs, res_uv)
    text = philips_xml(stored, fs=fs, res_uv=res_uv, compression=None, bits=bits, signed=signed, offset=offset)
    raw = philips.read(_write(tmp_path, text))
    _assert_leads(raw, true, res_uv)
    assert any("calibration pulse" in n for n in raw.notes)
    assert any("stored as leads" in n for n in raw.notes) != residuals


def test_104_uncompressed_8_bit(tmp_path):
    true = {k: np.clip(v // 8, -120, 120) for k, v in _true_leads(1000, 500).items() if k in ("I", "II", "V1")}
    raw = philips.read(_write(tmp_path, philips_xml(true, res_uv=40, compression=None, bits=8)))
    _assert_leads(raw, true, 40.0)


def test_104_plain_samples(tmp_path):
    true = _true_leads(1200, 500)
    text = philips_xml(as_residuals(true), compression=None, encoding="Plain", res_uv=2.0)
    _assert_leads(philips.read(_write(tmp_path, text)), true, 2.0)


def test_103_attributes_uncompressed_and_with_leadlabels(tmp_path):
    """1.03 names: compressflag/compressmethod, nbitspersample; rate and resolution in signalcharacteristics."""
    true = _true_leads(2000, 1000, chest=("V1", "V2", "V3", "V4", "V5", "V6", "V4R"))
    stored = with_calibration(as_residuals(true), 1000, 2.5)
    labels = f'leadlabels="{" ".join(stored)}"'
    for compression in ("XLI", None):
        text = philips_xml(stored, fs=1000, res_uv=2.5, schema="1.03", compression=compression, attrs=labels)
        raw = philips.read(_write(tmp_path, text, f"{compression}.xml"))
        assert raw.fs == 1000.0 and raw.fields["document_version"] == "1.03"
        _assert_leads(raw, true, 2.5)


def test_104_sample_count_must_fit_leads_and_duration(tmp_path):
    true = _true_leads(1000, 500)
    text = philips_xml(true, compression=None).replace('durationperchannel="2000"', 'durationperchannel="2100"')
    with pytest.raises(FormatError, match=r"holds 12000 samples; 12 leads x 1050 samples \(2100 ms at 500 Hz\)"):
        philips.read(_write(tmp_path, text))


def test_104_inverted_avr_is_left_out(tmp_path):
    true = _true_leads(1500, 500)
    stored = {("-aVR" if k == "aVR" else k): (-v if k == "aVR" else v) for k, v in true.items()}
    raw = philips.read(_write(tmp_path, philips_xml(stored, compression=None)))
    assert "aVR" not in raw.leads and "-aVR" not in raw.leads
    assert any("-aVR (inverted aVR) left out" in n for n in raw.notes)
    _assert_leads(raw, {k: v for k, v in true.items() if k != "aVR"}, 5.0)
    assert raw.other_channels == ["-aVR"]


# ---------------------------------------------------------------------------------------------
# variants not supported yet: refused in plain words, naming the file, no parser internals
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    ({"compression": "ZIP"}, "Philips XML 1.04 with compression='ZIP' waveforms is not supported yet"),
    ({"compression": None, "encoding": "Hex"}, "Philips XML 1.04 with dataencoding='Hex' is not supported yet"),
    ({"bits": 12}, "Philips XML 1.04 with XLI compression and bitspersample=12 is not supported yet"),
    ({"signed": False}, "Philips XML 1.04 with XLI compression and signalsigned=False is not supported yet"),
    ({"compression": None, "bits": 12}, "Philips XML 1.04 with uncompressed 12-bit samples is not supported yet"),
])
def test_104_unsupported_variant_in_plain_words(tmp_path, kwargs, words):
    true = _true_leads(600, 500)
    if kwargs.get("encoding") == "Hex" or kwargs.get("bits") == 12:
        text = philips_xml(true, **{**kwargs, "encoding": "Base64", "bits": 16})
        text = text.replace('dataencoding="Base64"', f'dataencoding="{kwargs.get("encoding", "Base64")}"', 1)
        text = text.replace('bitspersample="16"', f'bitspersample="{kwargs.get("bits", 16)}"', 1)
    else:
        text = philips_xml(true, **kwargs)
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        philips.read(path)
    message = str(info.value)
    assert str(path) in message and words in message
    for internal in ("compressflag=None", "None", "KeyError", "Traceback"):
        assert internal not in message
