"""Philips SierraECG XML files written from the schema, for the reader's tests.

Independent of the reader in ``l2g/io/philips.py``: an XLI *encoder* (the inverse of its decoder),
the cart's residual storage of III/aVR/aVL/aVF, the calibration block, and a document laid out as
the SierraECG 1.04.01 schema describes it (``PhilipsECG.xsd``; ``parsedwaveforms`` documentation):

* all samples of channel 1 come first, then channel 2, ...;
* ``dataencoding`` Base64 or Plain ("10 20 35 ..."); ``compression="XLI"``, omitted when uncompressed;
* ``numberofleads``, ``leadlabels`` (space separated), ``durationperchannel`` (ms),
  ``samplespersecond``, ``resolution`` (uV per least significant bit), ``signaloffset`` (subtracted
  from every sample), ``signalsigned``, ``bitspersample`` (the word size).

1.03 documents use ``compressflag``/``compressmethod``/``nbitspersample`` instead and keep rate and
resolution in ``signalcharacteristics`` only (``schema="1.03"``).
"""

from __future__ import annotations

import base64
import struct

import numpy as np

TWELVE = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def lzw_encode(data: bytes) -> bytes:
    """LZW with 10-bit codes written most-significant bit first; code 1023 ends the stream."""
    table = {bytes([i]): i for i in range(256)}
    codes, w = [], b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        codes.append(table[w])
        if len(table) < 1023:
            table[wc] = len(table)
        w = bytes([byte])
    if w:
        codes.append(table[w])
    codes.append(1023)
    bits = "".join(f"{c:010b}" for c in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def xli_encode(x: np.ndarray) -> bytes:
    """One XLI chunk: 8-byte header (int32 size, int16 code, int16 first residual) + LZW payload.

    Samples 0 and 1 are stored as they are; sample i >= 2 as the residual of second-difference
    prediction r[i] = 2 x[i-1] - x[i-2] - x[i]; r[2] goes into the header, r[i] + 64 into slot
    i - 1 for i >= 3, and the last slot holds 64. The int16 slots are written as all their high
    bytes, then all their low bytes.
    """
    x = [int(v) for v in x]
    r = [0, 0] + [2 * x[i - 1] - x[i - 2] - x[i] for i in range(2, len(x))]
    d = x[:2] + [r[i + 1] + 64 for i in range(2, len(x) - 1)] + [64]
    u = np.array(d, dtype=np.int16).view(np.uint16)
    payload = lzw_encode(bytes((u >> 8).astype(np.uint8)) + bytes((u & 0xFF).astype(np.uint8)))
    return struct.pack("<ihh", len(payload), 1, r[2]) + payload


def limb_leads(n: int, fs: float, seed: int = 3) -> dict[str, np.ndarray]:
    """Counts of I, II and of III, aVR, aVL, aVF within a count of the Einthoven/Goldberger values."""
    t = np.arange(n) / fs
    rng = np.random.default_rng(seed)
    i = np.round(400 * np.sin(2 * np.pi * 1.1 * t) + rng.normal(0, 3, n)).astype(np.int64)
    ii = np.round(700 * np.sin(2 * np.pi * 1.1 * t + 0.4) + rng.normal(0, 3, n)).astype(np.int64)
    out = {"I": i, "II": ii, "III": ii - i + rng.integers(-1, 2, n), "aVR": -(i + ii) // 2 + rng.integers(-1, 2, n)}
    out["aVL"] = np.trunc((i - out["III"]) / 2).astype(np.int64) + rng.integers(-1, 2, n)
    out["aVF"] = np.trunc((ii + out["III"]) / 2).astype(np.int64) + rng.integers(-1, 2, n)
    return out


def chest_lead(n: int, fs: float, k: int) -> np.ndarray:
    t = np.arange(n) / fs
    return np.round((k + 1) * 90 * np.cos(2 * np.pi * 1.1 * t + k)).astype(np.int64)


def as_residuals(true: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The cart's storage: III, aVR, aVL, aVF as residuals against what I and II predict."""
    i, ii, iii = true["I"], true["II"], true["III"]
    stored = dict(true)
    stored["III"] = ii - i - iii
    stored["aVR"] = -true["aVR"] - np.trunc((i + ii) / 2).astype(np.int64)
    stored["aVL"] = np.trunc((i - iii) / 2).astype(np.int64) - true["aVL"]
    stored["aVF"] = np.trunc((ii + iii) / 2).astype(np.int64) - true["aVF"]
    return stored


def with_calibration(stored: dict[str, np.ndarray], fs: int, res_uv: float) -> dict[str, np.ndarray]:
    """Append the 1-s block: 200 ms zeros, a 200-ms 1-mV pulse, zeros (a residual III holds -pulse)."""
    pulse = int(round(1000 / res_uv))
    tail = np.concatenate([np.zeros(fs // 5), np.ones(fs // 5), np.zeros(fs - 2 * (fs // 5))]).astype(np.int64)
    return {k: np.concatenate([v, tail * (-pulse if k == "III" else pulse)]) for k, v in stored.items()}


def _words(x: np.ndarray, bits: int, signed: bool) -> bytes:
    if bits == 24:
        u = x.astype(np.int64) & 0xFFFFFF
        return np.stack([u & 0xFF, (u >> 8) & 0xFF, u >> 16], axis=1).astype(np.uint8).tobytes()
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    info = np.iinfo(dtype)
    assert x.min() >= info.min and x.max() <= info.max, "test counts do not fit the word size"
    return x.astype(dtype).tobytes()


def waveform_text(stored: dict[str, np.ndarray], *, compression: str | None = "XLI", encoding: str = "Base64",
                  bits: int = 16, signed: bool = True, offset: int = 0, extra_chunks: int = 0) -> str:
    """The text of ``parsedwaveforms`` for channels in ``stored`` order (counts before the offset)."""
    if compression == "XLI":
        blob = b"".join(xli_encode(v) for v in stored.values())
        blob += b"".join(xli_encode(np.zeros(8, dtype=np.int64)) for _ in range(extra_chunks))
        return base64.encodebytes(blob).decode()
    words = np.concatenate([v + offset for v in stored.values()])
    if encoding == "Plain":
        return " ".join(str(int(w)) for w in words)
    return base64.encodebytes(_words(words, bits, signed)).decode()


def philips_xml(stored: dict[str, np.ndarray], *, fs: int = 500, res_uv: float = 5.0, schema: str = "1.04",
                compression: str | None = "XLI", encoding: str = "Base64", bits: int = 16, signed: bool = True,
                offset: int = 0, numberofleads: int | None = None, labels: str | None = None,
                general_fs: float | None = None, general_res: float | None = None, extra_chunks: int = 0,
                attrs: str = "") -> str:
    """A whole SierraECG document holding ``stored`` (lead label -> counts, in storage order).

    ``general_fs``/``general_res`` set ``signalcharacteristics`` apart from the waveform's own
    attributes (default: the same values). ``attrs`` is appended to ``parsedwaveforms`` verbatim.
    """
    n = len(next(iter(stored.values())))
    duration = n * 1000 / fs
    duration_text = f"{duration:.0f}" if duration == int(duration) else f"{duration:g}"
    labels = labels if labels is not None else " ".join(stored)
    text = waveform_text(stored, compression=compression, encoding=encoding, bits=bits, signed=signed,
                         offset=offset, extra_chunks=extra_chunks)
    gfs = general_fs if general_fs is not None else fs
    gres = general_res if general_res is not None else res_uv
    if schema == "1.03":
        flag = "True" if compression else "False"
        pw = (f'<parsedwaveforms compressflag="{flag}" compressmethod="XLI" filterflag="True" '
              f'dataencoding="{encoding}" durationperchannel="{duration_text}" nbitspersample="{bits}" {attrs}>')
        res_tag = f"<signalresolution>{gres:g}</signalresolution>"
    else:
        comp = f'compression="{compression}" ' if compression else ""
        pw = (f'<parsedwaveforms dataencoding="{encoding}" {comp}numberofleads="{numberofleads or len(stored)}" '
              f'leadlabels="{labels}" durationperchannel="{duration_text}" samplespersecond="{fs}" '
              f'resolution="{res_uv:g}" signaloffset="{offset}" signalsigned="{signed}" bitspersample="{bits}" '
              f'hipass="0.05" lowpass="150" notchfiltered="False" notchfilterfreqs="0" donotfilter="False" {attrs}>')
        res_tag = f"<resolution>{gres:g}</resolution>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<restingecgdata xmlns="http://www3.medical.philips.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" status="New" lang="en" locale="US">'
        "<documentinfo><documenttype>PhilipsECG</documenttype>"
        f"<documentversion>{schema}</documentversion></documentinfo>"
        '<dataacquisition date="2020-02-29" time="23:59:58" statflag="False">'
        '<machine machineid="US7" detaildescription="Philips Medical Products:860315:A.07.04.03">'
        "PageWriter TC70</machine>"
        f"<signalcharacteristics><samplingrate>{gfs:g}</samplingrate>{res_tag}"
        "<acquisitiontype>10-WIRE</acquisitiontype><bitspersample>16</bitspersample>"
        "<signaloffset>0</signaloffset><signalsigned>True</signalsigned>"
        "<numberchannelsallocated>12</numberchannelsallocated><numberchannelsvalid>12</numberchannelsvalid>"
        "</signalcharacteristics></dataacquisition>"
        '<patient criteriaversionforpatientdata="0B"><generalpatientdata><patientid>P-2718</patientid>'
        "<name><lastname>Roe</lastname><firstname>Ann</firstname></name>"
        '<age defaultage="50"><years>67</years><dateofbirth>1952-06-01</dateofbirth></age>'
        "<sex>Female</sex></generalpatientdata></patient>"
        '<internalmeasurements measurementversion="10"><crossleadmeasurements>'
        "<meanventrate>71</meanventrate><pfrontaxis>40</pfrontaxis></crossleadmeasurements>"
        "</internalmeasurements>"
        '<interpretations><interpretation date="2020-02-29" time="23:59:58" criteriaversion="0B">'
        '<globalmeasurements editedflag="False"><heartrate editedflag="False">72</heartrate>'
        "<rrint>833</rrint><print>168</print><qrsdur>96</qrsdur><qtint>402</qtint><qtcb>440</qtcb>"
        "<qtcf>427</qtcf><pfrontaxis>55</pfrontaxis><qrsfrontaxis>-12</qrsfrontaxis>"
        "<tfrontaxis>38</tfrontaxis></globalmeasurements>"
        "<mdsignatureline>Unconfirmed Diagnosis</mdsignatureline>"
        '<severity code="AB" id="4">- ABNORMAL ECG -</severity>'
        '<statement editedflag="False"><statementcode>SR</statementcode>'
        "<leftstatement>Sinus rhythm</leftstatement><rightstatement>normal P axis, V-rate 50-99</rightstatement>"
        "</statement>"
        '<statement editedflag="False"><statementcode>LAD</statementcode>'
        "<leftstatement>Left axis deviation</leftstatement><rightstatement>QRS axis &lt; -30</rightstatement>"
        "</statement></interpretation></interpretations>"
        f"<waveforms>{pw}{text}</parsedwaveforms>"
        '<repbeats dataencoding="Base64" samplespersec="1000" resolution="1.0" repbeatmethod="mean">'
        '<repbeat leadname="I"><qrsdur>96</qrsdur><waveform duration="1200">AAAAAA==</waveform></repbeat>'
        "</repbeats></waveforms></restingecgdata>"
    )
