"""Philips SierraECG XML (root ``restingecgdata``), as written by PageWriter carts, TraceMaster,
IntelliSpace ECG and HeartStart monitors; document versions 1.03, 1.04 and 1.04.01.

What is read
------------
* ``waveforms/parsedwaveforms``: all samples of channel 1, then all of channel 2, and so on.
  Two attribute sets describe it:

  - 1.03: ``compressflag`` + ``compressmethod="XLI"``, ``nbitspersample``; rate, resolution,
    offset and signedness in ``dataacquisition/signalcharacteristics``
    (``samplingrate``, ``signalresolution``, ``signaloffset``, ``signalsigned``).
  - 1.04 / 1.04.01: ``compression="XLI"`` (absent when uncompressed), ``numberofleads``,
    ``leadlabels``, ``samplespersecond``, ``resolution`` (uV per count), ``signaloffset``
    (subtracted from every sample), ``signalsigned``, ``bitspersample`` (the word size).
    These attributes win over ``signalcharacteristics``; a disagreement is noted.

  XLI-compressed data must be Base64, 16-bit and signed (the codec works on int16).
  Uncompressed data is Base64 little-endian words of 8, 16, 24 or 32 bits (signed or not), or
  ``dataencoding="Plain"`` decimal integers. Anything else (``Hex``, another compression) is
  refused in plain words ("Philips XML 1.04 with ... is not supported yet").
* XLI, as the public sierra-ecg-tools describe it, implemented here from that description:
  each chunk is an 8-byte header (int32 LE payload size, int16 code, int16 first residual)
  and an LZW payload (10-bit codes read most-significant bit first, 256 single-byte codes,
  code 1023 ends the chunk, the table stops growing when full). The decoded bytes are two
  halves, high bytes then low bytes, of int16 values d. Sample 0 and 1 are d[0] and d[1];
  sample i >= 2 is 2 x[i-1] - x[i-2] - r[i], where the residual r[2] is the header's first
  residual and r[i] = d[i-1] - 64 after that (second-difference prediction, 16-bit wrap).
* Channel labels from the ``leadlabels`` attribute (the first ``numberofleads`` of them) or
  the standard 12-lead order. Labels outside the 12 leads (``V4R``, ``V7``, ``C1``...) are
  passed on as they are; ``-aVR`` (inverted aVR) is left out with a note, never read as aVR.
  Philips stores III, aVR, aVL, aVF as residuals against the values computed from I and II;
  they are rebuilt with C integer division (truncation toward zero, which leaves the
  Goldberger deviations unbiased; floor division biases them by half a count)::

      III = II - I - r_III
      aVR = -r_aVR - trunc((I + II) / 2)
      aVL = trunc((I - III) / 2) - r_aVL
      aVF = trunc((II + III) / 2) - r_aVF

  Each stored channel is taken as a residual only when that fits the data better than reading
  it as the lead itself (|r| against |lead - lead computed from I and II|), so a file that
  stores real limb leads is read as it is (a note says which).
* The calibration block at the end of each channel (``durationperchannel`` 11000 ms holds a
  zero pad, a 1-mV 200-ms pulse and a zero pad after the signal) is removed: the reader looks
  in the last second for a run of at least 20 ms where every stored lead (I, II, chest leads)
  equals exactly 1 mV / resolution, and cuts at the start of the all-zero pad before it. No
  pulse -> nothing is cut (a note says so). In the shared 1.03 file this keeps 5264 of 5500
  samples (10.528 s of signal; the last 236 samples are pad, pulse, pad).
* Metadata: ``dataacquisition`` date/time and machine, patient age (years) and sex,
  measurements from ``interpretationmeasurements`` (1.03) then ``globalmeasurements`` (1.04
  keeps them inside ``interpretation``): heart rate, mean PR/QRS/QT/QTc, frontal P/QRS/T axes;
  the interpretation statements (``leftstatement``, with ``rightstatement`` after a semicolon)
  and severity. Representative beats (``repbeats``) are not read.
* Text encodings: UTF-8, and UTF-16 with or without BOM (:func:`l2g.io._xml.parse`).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _xml as X
from ._raw import FormatError, RawECG, Reader

__all__ = ["sniff", "read", "xli_decode", "FORMAT"]

FORMAT = "Philips SierraECG XML"
_RESIDUAL_LEADS = ("III", "aVR", "aVL", "aVF")
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: Word sizes of uncompressed samples that are read (little endian).
_WORD_BITS = (8, 16, 24, 32)

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
    """Replace the stored III/aVR/aVL/aVF residuals by the leads (in place, counts).

    Each channel is decided on its own: it is read as a residual when that fits better than
    reading it as the lead (the lead computed from I and II as the reference).
    """
    present = [k for k in _RESIDUAL_LEADS if k in counts]
    if not present:
        return
    if "I" not in counts or "II" not in counts:
        notes.append(f"{', '.join(present)} read as stored: without leads I and II the cart's residual "
                     f"storage of these leads cannot be undone")
        return
    lead_i, lead_ii = counts["I"], counts["II"]
    as_leads: list[str] = []
    unresolved: list[str] = []

    def rebuild(name: str, computed: np.ndarray, from_residual) -> None:
        if name not in counts:
            return
        stored = counts[name]
        if np.abs(stored - computed).max(initial=0) < np.abs(stored).max(initial=0):
            as_leads.append(name)
        else:
            counts[name] = from_residual(stored)

    def trunc_half(x: np.ndarray) -> np.ndarray:
        return np.trunc(x / 2).astype(np.int64)

    rebuild("III", lead_ii - lead_i, lambda r: lead_ii - lead_i - r)
    rebuild("aVR", -trunc_half(lead_i + lead_ii), lambda r: -r - trunc_half(lead_i + lead_ii))
    if "III" in counts:
        iii = counts["III"]
        rebuild("aVL", trunc_half(lead_i - iii), lambda r: trunc_half(lead_i - iii) - r)
        rebuild("aVF", trunc_half(lead_ii + iii), lambda r: trunc_half(lead_ii + iii) - r)
    else:
        unresolved = [k for k in ("aVL", "aVF") if k in counts]
    if as_leads:
        notes.append(f"limb lead(s) {', '.join(as_leads)} stored as leads (not as residuals)")
    if unresolved:
        notes.append(f"{', '.join(unresolved)} read as stored: without lead III the cart's residual storage "
                     f"of these leads cannot be undone")


def _labels(path: Path, pw, n_valid: int | None) -> list[str]:
    """Lead labels of the stored channels, in storage order."""
    listed = (pw.get("leadlabels") or "").split()
    n_attr = X.number(pw.get("numberofleads"))
    if n_attr is not None and (n_attr != int(n_attr) or n_attr <= 0 or (listed and n_attr > len(listed))):
        raise FormatError(f"{path}: parsedwaveforms numberofleads={pw.get('numberofleads')!r} but leadlabels "
                          f"names {len(listed)} lead(s) ({' '.join(listed) or 'none'}); expected a positive "
                          f"count no larger than the labels")
    if listed:
        labels = listed[:int(n_attr)] if n_attr is not None else listed
    else:
        n = int(n_attr) if n_attr is not None else (n_valid or 12)
        if n > len(STANDARD_LEADS):
            raise FormatError(f"{path}: {n} channels but no leadlabels attribute; only the standard "
                              f"12-lead order is known")
        labels = list(STANDARD_LEADS[:n])
    twice = sorted({lab for lab in labels if labels.count(lab) > 1})
    if twice:
        raise FormatError(f"{path}: lead(s) {', '.join(twice)} appear twice in leadlabels ({' '.join(labels)})")
    return labels


@dataclass(frozen=True)
class _Layout:
    """How ``parsedwaveforms`` stores its samples."""

    version: str  # documentversion, for messages
    xli: bool  # XLI-compressed (else one word per sample)
    encoding: str  # "base64" or "plain"
    fs: float  # Hz
    res_uv: float  # uV per count
    offset: int  # subtracted from every sample
    signed: bool
    bits: int  # word size of an uncompressed sample


def _unsupported(path: Path, version: str, what: str) -> FormatError:
    return FormatError(f"{path}: Philips XML {version} with {what} is not supported yet; readable are "
                       f"XLI-compressed Base64 waveforms (16-bit, signed, offset 0) and uncompressed Base64 or "
                       f"Plain samples of {'/'.join(map(str, _WORD_BITS))} bits")


def _setting(pw, attr: str, sig, tags: tuple[str, ...], notes: list[str]) -> str | None:
    """A waveform setting: the ``parsedwaveforms`` attribute (1.04), else ``signalcharacteristics``."""
    own = (pw.get(attr) or "").strip() or None
    general = next((v for t in tags if (v := X.text(sig, t)) is not None), None)
    if own is not None and general is not None and own.lower() != general.lower() \
            and X.number(own) != X.number(general):
        notes.append(f"parsedwaveforms {attr}={own} differs from signalcharacteristics ({general}); "
                     f"the waveform's own value is used")
    return own if own is not None else general


def _layout(path: Path, version: str, pw, sig, notes: list[str]) -> _Layout:
    """Read and check the storage settings of ``parsedwaveforms`` (1.03 or 1.04 attributes)."""
    if pw.get("compressflag") is not None:  # 1.03: compressflag + compressmethod
        flag = pw.get("compressflag").strip().lower()
        if flag not in ("true", "false"):
            raise _unsupported(path, version, f"compressflag={pw.get('compressflag')!r}")
        method = (pw.get("compressmethod") or "").strip().upper() if flag == "true" else ""
        where = f"compressmethod={pw.get('compressmethod')!r}"
    else:  # 1.04: compression, absent when uncompressed
        method = (pw.get("compression") or "").strip().upper()
        method = "" if method in ("NONE", "UNCOMPRESSED") else method
        where = f"compression={pw.get('compression')!r}"
    if method not in ("", "XLI"):
        raise _unsupported(path, version, f"{where} waveforms")
    encoding = (pw.get("dataencoding") or "Base64").strip().lower()
    if encoding not in ("base64", "plain") or (method == "XLI" and encoding != "base64"):
        raise _unsupported(path, version, f"dataencoding={pw.get('dataencoding')!r}"
                                          + (" and XLI compression" if method == "XLI" else ""))
    fs = X.number(_setting(pw, "samplespersecond", sig, ("samplingrate",), notes))
    res_uv = X.number(_setting(pw, "resolution", sig, ("signalresolution", "resolution"), notes))
    if fs is None or fs <= 0:
        raise FormatError(f"{path}: samplingrate missing or not positive; expected e.g. 500")
    if res_uv is None or res_uv <= 0:
        raise FormatError(f"{path}: signalresolution missing or not positive; expected e.g. 5 (uV)")
    offset_text = _setting(pw, "signaloffset", sig, ("signaloffset",), notes) or "0"
    offset = X.number(offset_text)
    if offset is None or offset != int(offset):
        raise FormatError(f"{path}: signaloffset {offset_text!r} is not an integer; expected e.g. 0")
    signed_text = (_setting(pw, "signalsigned", sig, ("signalsigned",), notes) or "True").lower()
    if signed_text not in ("true", "false"):
        raise FormatError(f"{path}: signalsigned {signed_text!r}; expected True or False")
    bits_text = pw.get("bitspersample") or pw.get("nbitspersample") or X.text(sig, "bitspersample") or "16"
    bits = X.number(bits_text)
    if bits is None or bits != int(bits):
        raise FormatError(f"{path}: bitspersample {bits_text!r} is not a whole number; expected e.g. 16")
    layout = _Layout(version=version, xli=method == "XLI", encoding=encoding, fs=float(fs), res_uv=float(res_uv),
                     offset=int(offset), signed=signed_text == "true", bits=int(bits))
    if layout.xli and layout.bits != 16:
        raise _unsupported(path, version, f"XLI compression and bitspersample={layout.bits}")
    if layout.xli and not layout.signed:
        raise _unsupported(path, version, "XLI compression and signalsigned=False")
    if layout.xli and layout.offset:
        raise _unsupported(path, version, f"XLI compression and signaloffset={layout.offset}")
    if not layout.xli and layout.bits not in _WORD_BITS:
        raise _unsupported(path, version, f"uncompressed {layout.bits}-bit samples")
    return layout


def _words(path: Path, payload: bytes, bits: int, signed: bool) -> np.ndarray:
    """Little-endian words of ``bits`` bits, as int64."""
    size = bits // 8
    if len(payload) % size:
        raise FormatError(f"{path}: parsedwaveforms holds {len(payload)} bytes, not a whole number of "
                          f"{bits}-bit samples")
    if bits == 24:
        b = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(v >= 1 << 23, v - (1 << 24), v) if signed else v
    return np.frombuffer(payload, dtype=np.dtype(f"<{'i' if signed else 'u'}{size}")).astype(np.int64)


def _channels(path: Path, layout: _Layout, pw, labels: list[str], notes: list[str]) -> dict[str, np.ndarray]:
    """Counts of each labelled channel (offset removed), cut to ``durationperchannel``."""
    text = pw.text or ""
    if layout.encoding == "plain":
        tokens = [t for t in re.split(r"[\s,;]+", text.strip()) if t]
        bad = next((t for t in tokens if not re.fullmatch(r"[+-]?\d+", t)), None)
        if bad is not None:
            raise FormatError(f"{path}: parsedwaveforms (Plain) holds {bad[:20]!r}, not an integer sample")
        stored = [np.array([int(t) for t in tokens], dtype=np.int64)]
    else:
        try:
            payload = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
        except (binascii.Error, ValueError) as e:
            raise FormatError(f"{path}: parsedwaveforms is not valid Base64 ({e})") from e
        if layout.xli:
            try:
                stored = xli_decode(payload)
            except ValueError as e:
                raise FormatError(f"{path}: damaged XLI waveform data ({e})") from e
            if len(stored) < len(labels):
                raise FormatError(f"{path}: {len(stored)} XLI channels for {len(labels)} leads {labels}")
        else:
            stored = [_words(path, payload, layout.bits, layout.signed)]
    duration_ms = X.number(pw.get("durationperchannel"))
    if duration_ms is not None and duration_ms <= 0:
        raise FormatError(f"{path}: durationperchannel {pw.get('durationperchannel')!r}; expected a positive "
                          f"duration in ms, e.g. 10000")
    if not layout.xli:  # one run of words: all of channel 1, then channel 2 ...
        words = stored[0]
        n = int(round(duration_ms * layout.fs / 1000)) if duration_ms else words.size // len(labels)
        if n <= 0 or words.size % n or words.size < n * len(labels):
            what = (f"{len(labels)} leads x {n} samples ({duration_ms:g} ms at {layout.fs:g} Hz)" if duration_ms
                    else f"{len(labels)} leads of equal length")
            raise FormatError(f"{path}: parsedwaveforms holds {words.size} samples; {what} do not fit them")
        stored = [words[k * n:(k + 1) * n] for k in range(words.size // n)]
    else:
        n = int(round(duration_ms * layout.fs / 1000)) if duration_ms else min(c.size for c in stored[:len(labels)])
        short = {lab: c.size for lab, c in zip(labels, stored, strict=False) if c.size < n}
        if short:
            raise FormatError(f"{path}: channels shorter than durationperchannel ({n} samples): {short}")
    if len(stored) > len(labels):
        notes.append(f"{len(stored) - len(labels)} unused {'XLI ' if layout.xli else ''}channel(s) ignored")
    return {lab: c[:n] - layout.offset for lab, c in zip(labels, stored, strict=False)}


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
        Leads in mV (float64, shape (samples,) each) at the waveform's rate, calibration block
        removed, III/aVR/aVL/aVF rebuilt from their residuals.

    Raises
    ------
    FormatError
        Not SierraECG, no parsed waveforms, a storage variant not supported yet (named in plain
        words), bad Base64 or Plain samples, a damaged XLI stream, fewer channels than leads,
        a sample count that does not fit the leads and duration.
    """
    path = Path(path)
    root = X.parse(path, FORMAT)
    if X.local(root.tag) != "restingecgdata":
        raise FormatError(f"{path}: root element is <{X.local(root.tag)}>; expected <restingecgdata> "
                          f"(Philips SierraECG XML)")
    with X.decoding_errors(path, FORMAT):
        version = X.text(root, "documentinfo/documentversion") or "?"
        sig = X.find(root, "dataacquisition/signalcharacteristics")
        pw = X.find(root, "waveforms/parsedwaveforms")
        if pw is None or not (pw.text or "").strip():
            raise FormatError(f"{path}: no waveforms/parsedwaveforms data; expected Base64 XLI waveforms")
        notes: list[str] = []
        layout = _layout(path, version, pw, sig, notes)
        n_valid = X.number(X.text(sig, "numberchannelsvalid"))
        labels = _labels(path, pw, int(n_valid) if n_valid else None)
        counts = _channels(path, layout, pw, labels, notes)
        other = []
        if "-aVR" in counts:
            del counts["-aVR"]
            other.append("-aVR")
            notes.append("lead -aVR (inverted aVR) left out; aVR is not read from it")
            if not counts:
                raise FormatError(f"{path}: the only stored lead is -aVR (inverted aVR); expected ECG leads")
        cut = _calibration_cut(path, counts, layout.fs, int(round(1000.0 / layout.res_uv)), notes)
        counts = {k: v[:cut] for k, v in counts.items()}
        _rebuild_limb_leads(counts, notes)
        scale = layout.res_uv * 1e-3
        leads = {k: v.astype(np.float64) * scale for k, v in counts.items()}

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
        return RawECG(leads=leads, fs=layout.fs, fmt=FORMAT,
                      age=X.age_in_years(X.number(X.text(gp, "age/years")), "years"),
                      sex=X.sex_code(X.text(gp, "sex")), acquired=acquired, device=device,
                      measurements=_measurements(root), interpretation=_interpretation(root),
                      identity=identity, notes=notes, fields={"document_version": version},
                      other_channels=other)


READER = Reader(name="philips", kind="Philips SierraECG", suffixes=(".xml",), sniff=sniff, read=read,
                xml_root="restingecgdata", cart=True)
