"""Philips SierraECG XML (root ``restingecgdata``), as written by PageWriter carts, TraceMaster
and HeartStart monitors; document versions 1.03, 1.04 and 1.04.01.

What is read
------------
* ``waveforms/parsedwaveforms``: Base64 text, XLI-compressed (``compressmethod="XLI"``), one
  chunk per channel. Uncompressed waveforms are refused (no example file to verify the layout).
* XLI, as the public sierra-ecg-tools describe it, implemented here from that description:
  each chunk is an 8-byte header (int32 LE payload size, int16 code, int16 first residual)
  and an LZW payload (10-bit codes read most-significant bit first, 256 single-byte codes,
  code 1023 ends the chunk, the table stops growing when full). The decoded bytes are two
  halves, high bytes then low bytes, of int16 values d. Sample 0 and 1 are d[0] and d[1];
  sample i >= 2 is 2 x[i-1] - x[i-2] - r[i], where the residual r[2] is the header's first
  residual and r[i] = d[i-1] - 64 after that (second-difference prediction, 16-bit wrap).
* Channel labels from the ``leadlabels`` attribute (1.04) or the standard 12-lead order.
  Philips stores III, aVR, aVL, aVF as residuals against the values computed from I and II;
  they are rebuilt with C integer division (truncation toward zero, which leaves the
  Goldberger deviations unbiased; floor division biases them by half a count)::

      III = II - I - r_III
      aVR = -r_aVR - trunc((I + II) / 2)
      aVL = trunc((I - III) / 2) - r_aVL
      aVF = trunc((II + III) / 2) - r_aVF

  The stored channel is taken as a residual only when that fits the data better than reading
  it as the lead itself (|r_III| against |III - (II - I)|), so a file that stores real limb
  leads is read as it is (a note says which).
* The calibration block at the end of each channel (``durationperchannel`` 11000 ms holds a
  zero pad, a 1-mV 200-ms pulse and a zero pad after the signal) is removed: the reader looks
  in the last second for a run of at least 20 ms where every stored lead (I, II, chest leads)
  equals exactly 1 mV / resolution, and cuts at the start of the all-zero pad before it. No
  pulse -> nothing is cut (a note says so). In the shared 1.03 file this keeps 5264 of 5500
  samples (10.528 s of signal; the last 236 samples are pad, pulse, pad).
* Scale ``signalresolution`` uV per count, fs ``samplingrate`` Hz.
* Metadata: ``dataacquisition`` date/time and machine, patient age (years) and sex,
  measurements from ``interpretationmeasurements`` then ``globalmeasurements`` (heart rate,
  mean PR/QRS/QT/QTc, frontal P/QRS/T axes), and the interpretation statements
  (``leftstatement``, with ``rightstatement`` after a semicolon) and severity.
* Text encodings: UTF-8, and UTF-16 with or without BOM (:func:`l2g.io._xml.parse`).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from pathlib import Path

import numpy as np

from . import _xml as X
from ._raw import FormatError, RawECG

__all__ = ["sniff", "read", "xli_decode", "FORMAT"]

FORMAT = "Philips SierraECG XML"
_RESIDUAL_LEADS = ("III", "aVR", "aVL", "aVF")
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_MEASUREMENTS = (("HR_bpm", ("heartrate", "meanventrate", "ventrate")),
                 ("PR_ms", ("meanprint", "printerval", "print")),
                 ("QRS_ms", ("meanqrsdur", "qrsdur")),
                 ("QT_ms", ("meanqtint", "qtint")),
                 ("QTc_ms", ("meanqtc", "qtcb", "qtc")),
                 ("P_axis_deg", ("pfrontaxis",)),
                 ("QRS_axis_deg", ("qrsfrontaxis",)),
                 ("T_axis_deg", ("tfrontaxis",)))


def sniff(head: bytes, path: Path) -> bool:
    """True when the root element is ``restingecgdata`` (a Philips namespace or none).

    Examples
    --------
    >>> sniff(b'<?xml version="1.0"?><restingecgdata xmlns="http://www3.medical.philips.com">', Path("x"))
    True
    >>> sniff(b"<CardiologyXML>", Path("x"))
    False
    """
    found = X.root_name(head)
    return found is not None and found[1] == "restingecgdata" and (found[0] == "" or "philips" in found[0].lower())


def _lzw(chunk: bytes, bits: int = 10) -> bytes:
    """Decode one XLI LZW payload (MSB-first ``bits``-bit codes, code 2**bits - 1 ends it)."""
    stop = (1 << bits) - 1
    table: list[bytes] = [bytes([i]) for i in range(256)]
    out = bytearray()
    prev = b""
    acc = 0
    n_acc = 0
    for byte in chunk:
        acc = (acc << 8) | byte
        n_acc += 8
        while n_acc >= bits:
            n_acc -= bits
            code = (acc >> n_acc) & stop
            acc &= (1 << n_acc) - 1
            if code == stop:
                return bytes(out)
            if code < len(table):
                entry = table[code]
            elif code == len(table) and prev:
                entry = prev + prev[:1]
            else:
                raise ValueError(f"LZW code {code} before it was defined (table has {len(table)})")
            if prev and len(table) < stop:
                table.append(prev + entry[:1])
            out += entry
            prev = entry
    return bytes(out)


def _undelta(d: np.ndarray, first: int) -> np.ndarray:
    """Second-difference decoding of one XLI channel (16-bit arithmetic, as the carts do)."""
    out = d.astype(np.int64)
    if out.size < 3:
        return out
    x, y, residual = int(out[0]), int(out[1]), int(first)
    vals = out.tolist()
    for i in range(2, len(vals)):
        z = 2 * y - x - residual
        z = ((z + 32768) & 0xFFFF) - 32768
        residual = vals[i] - 64
        vals[i] = z
        x, y = y, z
    return np.asarray(vals, dtype=np.int64)


def xli_decode(data: bytes) -> list[np.ndarray]:
    """Decode an XLI byte stream into one int64 count array per chunk (channel).

    Parameters
    ----------
    data : bytes
        The Base64-decoded ``parsedwaveforms`` payload.

    Returns
    -------
    list of ndarray
        Counts of each channel, shape (samples,), in the file's order (padding included).

    Raises
    ------
    ValueError
        A header or payload that runs past the end, or an undefined LZW code.

    Examples
    --------
    A chunk holding the bytes 0 0 | 10 10 (high bytes, then low bytes), i.e. d = [10, 10],
    LZW-coded as codes 0, 0, 10, 10, 1023:

    >>> import struct
    >>> codes = [0, 0, 10, 10, 1023]
    >>> bits = "".join(f"{c:010b}" for c in codes)
    >>> bits += "0" * (-len(bits) % 8)
    >>> payload = int(bits, 2).to_bytes(len(bits) // 8, "big")
    >>> xli_decode(struct.pack("<ihh", len(payload), 1, 0) + payload)[0].tolist()
    [10, 10]
    """
    channels: list[np.ndarray] = []
    offset = 0
    while offset < len(data):
        if offset + 8 > len(data):
            raise ValueError(f"XLI chunk header at byte {offset} runs past the end ({len(data)} bytes)")
        size, _code, first = struct.unpack_from("<ihh", data, offset)
        offset += 8
        if size < 0 or offset + size > len(data):
            raise ValueError(f"XLI chunk at byte {offset - 8} says {size} bytes but {len(data) - offset} remain")
        raw = _lzw(data[offset:offset + size])
        offset += size
        if len(raw) % 2:
            raw += b"\0"
        half = len(raw) // 2
        hi = np.frombuffer(raw[:half], dtype=np.uint8).astype(np.uint16)
        lo = np.frombuffer(raw[half:], dtype=np.uint8).astype(np.uint16)
        d = ((hi << 8) | lo).view(np.int16)
        channels.append(_undelta(d, first))
    return channels


def _calibration_cut(path: Path, counts: dict[str, np.ndarray], fs: float, pulse: int,
                     notes: list[str]) -> int:
    """Index where the trailing pad + calibration pulse starts (len when there is none)."""
    # III, aVR, aVL, aVF may still be residuals here; I, II and the chest leads never are
    stack = np.vstack([v for k, v in counts.items() if k not in _RESIDUAL_LEADS])
    n = stack.shape[1]
    tail = max(0, n - int(round(fs)))
    at_pulse = np.all(stack == pulse, axis=0)
    at_pulse[:tail] = False
    min_run = max(2, int(round(0.02 * fs)))
    idx = np.flatnonzero(at_pulse)
    if idx.size:
        # first run of at least min_run consecutive pulse samples
        breaks = np.flatnonzero(np.diff(idx) != 1)
        starts = np.concatenate(([idx[0]], idx[breaks + 1]))
        ends = np.concatenate((idx[breaks], [idx[-1]]))
        long_runs = [s for s, e in zip(starts, ends, strict=True) if e - s + 1 >= min_run]
        if long_runs:
            cut = int(long_runs[0])
            zero = np.all(stack == 0, axis=0)
            while cut > 0 and zero[cut - 1]:
                cut -= 1
            notes.append(f"calibration pulse and zero pad removed: {n - cut} samples "
                         f"({(n - cut) / fs:.3f} s) at the end of each lead")
            return cut
    notes.append("no calibration pulse found in the last second; nothing removed")
    return n


def _rebuild_limb_leads(counts: dict[str, np.ndarray], notes: list[str]) -> None:
    """Replace the stored III/aVR/aVL/aVF residuals by the leads (in place, counts)."""
    if not all(k in counts for k in ("I", "II", "III", "aVR", "aVL", "aVF")):
        return
    lead_i, lead_ii, stored = counts["I"], counts["II"], counts["III"]
    as_residual = np.abs(stored).max(initial=0)
    as_lead = np.abs(stored - (lead_ii - lead_i)).max(initial=0)
    if as_lead < as_residual:
        notes.append("limb leads III, aVR, aVL, aVF stored as leads (not as residuals)")
        return
    iii = lead_ii - lead_i - stored
    counts["III"] = iii
    counts["aVR"] = -counts["aVR"] - np.trunc((lead_i + lead_ii) / 2).astype(np.int64)
    counts["aVL"] = np.trunc((lead_i - iii) / 2).astype(np.int64) - counts["aVL"]
    counts["aVF"] = np.trunc((lead_ii + iii) / 2).astype(np.int64) - counts["aVF"]


def _labels(path: Path, pw, n_valid: int | None) -> list[str]:
    attr = pw.get("leadlabels")
    if attr:
        return attr.split()
    n = n_valid or 12
    if n > len(STANDARD_LEADS):
        raise FormatError(f"{path}: {n} channels but no leadlabels attribute; only the standard "
                          f"12-lead order is known")
    return list(STANDARD_LEADS[:n])


def _measurements(root) -> dict[str, float]:
    sources = [X.find(root, ".//interpretationmeasurements"), X.find(root, ".//globalmeasurements"),
               X.find(root, ".//internalmeasurements")]
    out: dict[str, float] = {}
    for key, tags in _MEASUREMENTS:
        for src in sources:
            value = next((v for t in tags if (v := X.number(X.text(src, t))) is not None), None)
            if value is not None:
                out[key] = value
                break
    return out


def _interpretation(root) -> list[str]:
    interp = X.find(root, ".//interpretations/interpretation")
    lines = []
    for st in X.children(interp, "statement"):
        left, right = X.text(st, "leftstatement"), X.text(st, "rightstatement")
        if left or right:
            lines.append("; ".join(p for p in (left, right) if p))
    severity = X.text(interp, "severity")
    if severity:
        lines.append(severity.strip("- ").strip())
    return lines


def read(path: Path) -> RawECG:
    """Read a Philips SierraECG XML file (1.03, 1.04, 1.04.01).

    Parameters
    ----------
    path : Path
        The ``.xml`` file (UTF-8 or UTF-16).

    Returns
    -------
    RawECG
        Leads in mV (float64, shape (samples,) each) at ``samplingrate``, calibration block
        removed, III/aVR/aVL/aVF rebuilt from their residuals.

    Raises
    ------
    FormatError
        Not SierraECG, no parsed waveforms, uncompressed or non-XLI waveforms, bad Base64, a
        damaged XLI stream, fewer channels than leads.
    """
    path = Path(path)
    root = X.parse(path, FORMAT)
    if X.local(root.tag) != "restingecgdata":
        raise FormatError(f"{path}: root element is <{X.local(root.tag)}>; expected <restingecgdata> "
                          f"(Philips SierraECG XML)")
    with X.decoding_errors(path, FORMAT):
        version = X.text(root, "documentinfo/documentversion") or "?"
        sig = X.find(root, "dataacquisition/signalcharacteristics")
        fs = X.number(X.text(sig, "samplingrate"))
        res_uv = X.number(X.text(sig, "signalresolution")) or X.number(X.text(sig, "resolution"))
        if fs is None or fs <= 0:
            raise FormatError(f"{path}: samplingrate missing or not positive; expected e.g. 500")
        if res_uv is None or res_uv <= 0:
            raise FormatError(f"{path}: signalresolution missing or not positive; expected e.g. 5 (uV)")
        pw = X.find(root, "waveforms/parsedwaveforms")
        if pw is None or not (pw.text or "").strip():
            raise FormatError(f"{path}: no waveforms/parsedwaveforms data; expected Base64 XLI waveforms")
        encoding = (pw.get("dataencoding") or "Base64").lower()
        compressed = (pw.get("compressflag") or "False").strip().lower() == "true"
        method = (pw.get("compressmethod") or "").upper()
        if encoding != "base64":
            raise FormatError(f"{path}: parsedwaveforms dataencoding {encoding!r}; only Base64 is supported")
        if not compressed or method != "XLI":
            raise FormatError(f"{path}: parsedwaveforms compressflag={pw.get('compressflag')!r} "
                              f"compressmethod={pw.get('compressmethod')!r}; only XLI-compressed waveforms "
                              f"are supported")
        try:
            payload = base64.b64decode(re.sub(r"\s+", "", pw.text or ""), validate=True)
        except (binascii.Error, ValueError) as e:
            raise FormatError(f"{path}: parsedwaveforms is not valid Base64 ({e})") from e
        try:
            channels = xli_decode(payload)
        except ValueError as e:
            raise FormatError(f"{path}: damaged XLI waveform data ({e})") from e
        n_valid = X.number(X.text(sig, "numberchannelsvalid"))
        labels = _labels(path, pw, int(n_valid) if n_valid else None)
        if len(channels) < len(labels):
            raise FormatError(f"{path}: {len(channels)} XLI channels for {len(labels)} leads {labels}")
        duration_ms = X.number(pw.get("durationperchannel"))
        n = int(round(duration_ms * fs / 1000)) if duration_ms else min(c.size for c in channels[:len(labels)])
        short = {lab: c.size for lab, c in zip(labels, channels, strict=False) if c.size < n}
        if short:
            raise FormatError(f"{path}: channels shorter than durationperchannel ({n} samples): {short}")
        counts = {lab: c[:n] for lab, c in zip(labels, channels, strict=False)}
        notes: list[str] = []
        cut = _calibration_cut(path, counts, fs, int(round(1000.0 / res_uv)), notes)
        counts = {k: v[:cut] for k, v in counts.items()}
        _rebuild_limb_leads(counts, notes)
        scale = res_uv * 1e-3
        leads = {k: v.astype(np.float64) * scale for k, v in counts.items()}
        if len(channels) > len(labels):
            notes.append(f"{len(channels) - len(labels)} unused XLI channel(s) ignored")

        acq = X.child(root, "dataacquisition")
        date, time = (acq.get("date"), acq.get("time")) if acq is not None else (None, None)
        acquired = None
        if date and (dm := re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})", date)):
            tm = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?", time or "")
            acquired = (X.iso_datetime(*dm.groups(), *tm.groups("0")) if tm else X.iso_datetime(*dm.groups()))
        machine = X.child(acq, "machine")
        device = None
        if machine is not None:
            device = (machine.text or "").strip() or machine.get("detaildescription") or None
        gp = X.find(root, "patient/generalpatientdata")
        identity = {}
        if pid := X.text(gp, "patientid"):
            identity["id"] = pid
        name = ", ".join(p for p in (X.text(gp, "name/lastname"), X.text(gp, "name/firstname")) if p)
        if name:
            identity["name"] = name
        if dob := X.text(gp, "age/dateofbirth"):
            identity["birth_date"] = dob
        return RawECG(leads=leads, fs=float(fs), fmt=FORMAT,
                      age=X.age_in_years(X.number(X.text(gp, "age/years")), "years"),
                      sex=X.sex_code(X.text(gp, "sex")), acquired=acquired, device=device,
                      measurements=_measurements(root), interpretation=_interpretation(root),
                      identity=identity, notes=notes, fields={"document_version": version})
