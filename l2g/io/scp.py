"""SCP-ECG (EN 1064 / ISO 11073-91064) reader, protocol versions 1.x, 2.x and 3.0.

An SCP-ECG record is a 6-byte preamble (CRC-CCITT of the rest of the record, record length)
followed by sections, each with a 16-byte header (its own CRC, section id, length, section
and protocol versions, 6 reserved bytes that hold ``"SCPECG"`` in section 0 from v2.0 on).
Section 0 points to the others.

What is read
------------
* Section 1 (header tags): patient age (tag 4, else from the birth date, tag 5, and the
  acquisition date), sex (tag 8), acquisition date and time (tags 25, 26), acquiring device
  (tag 14: manufacturer and model), filter settings (tags 27, 28); name, patient id and birth
  date go to :attr:`RawECG.identity` only.
* Section 2: Huffman tables (the default table when the table count is 19999, custom tables
  with table switching otherwise); without section 2 the data are plain 16-bit integers.
* Section 3: lead definitions (SCP lead codes -> ``"I"``, ``"V1"``, ``"aVR"``...), start and
  end sample numbers, the reference-beat-subtraction flag.
* Sections 4 and 5: when section 3 says the rhythm was stored with the reference beat
  subtracted, reference beat type 0 (section 5) is added back at every QRS subtraction zone
  listed in section 4. Otherwise the reference (median) beats are not part of the
  :class:`RawECG` (a note says so); :func:`read_reference_beats` returns them.
* Section 6: rhythm data: amplitude value multiplier (nV), sample interval (µs, ``fs = 1e6 /
  interval`` exactly), no / first / second difference encoding. Bimodal compression
  (rhythm decimated outside the QRS, v1.x-2.x) is refused, except when sections 5 and 6 share
  one sample interval (decimation factor 1: nothing to undo; a note says so).
* Section 7: global measurements of reference beat type 0 (P, PR, QRS, QT from the wave
  boundaries in ms, P/QRS/T axes, average RR and the heart rate, QTc).
* Sections 8 and 11: interpretation statements (text). Section 10 (per-lead measurements)
  is not read.

Decisions
---------
* A CRC that does not match (the record's or any section's) is a :class:`FormatError`: an
  SCP record whose checksum is wrong is damaged, and a damaged Huffman stream decodes into
  a plausible-looking but wrong signal.
* 8-lead storage (I, II, V1-V6): the missing limb leads are computed exactly (III = II - I,
  aVR = -(I + II) / 2, aVL = I - II / 2, aVF = II - I / 2) and listed in
  :attr:`RawECG.derived`.
* Leads recorded at different times (section 3 without the "simultaneous" flag, e.g. 4 x 2.5 s
  groups) are placed on the common sample axis of section 3; samples a lead did not record
  are NaN (the dispatcher's ``nan_policy`` decides), and a note says so.
* Reconstructed samples wrap to 16 bits like the reference encoders' arithmetic.
"""

from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._raw import FormatError, RawECG, Reader
from ._scp_codec import _DEFAULT_TABLE, _text, _undo_differences, crc_ccitt

__all__ = ["sniff", "read", "read_reference_beats", "crc_ccitt", "LEAD_NAMES"]

_HEADER = 16
_UNDEFINED = 29999
_DEFAULT_HUFFMAN = 19999
_MAX_SECTION0_POINTERS = 1000

#: SCP-ECG section 3 lead identification codes (EN 1064 table) -> plain lead names.
LEAD_NAMES: tuple[str, ...] = (
    "unspecified", "I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "V7",
    "V2R", "V3R", "V4R", "V5R", "V6R", "V7R", "X", "Y", "Z", "CC5",
    "CM5", "LA", "RA", "LL", "fI", "fE", "fC", "fA", "fM", "fF",
    "fH", "I-cal", "II-cal", "V1-cal", "V2-cal", "V3-cal", "V4-cal", "V5-cal", "V6-cal", "V7-cal",
    "V2R-cal", "V3R-cal", "V4R-cal", "V5R-cal", "V6R-cal", "V7R-cal", "X-cal", "Y-cal", "Z-cal", "CC5-cal",
    "CM5-cal", "LA-cal", "RA-cal", "LL-cal", "fI-cal", "fE-cal", "fC-cal", "fA-cal", "fM-cal", "fF-cal",
    "fH-cal", "III", "aVR", "aVL", "aVF", "-aVR", "V8", "V9", "V8R", "V9R",
    "D", "A", "J", "Defib", "ExtPace", "A1", "A2", "A3", "A4", "V8-cal",
    "V9-cal", "V8R-cal", "V9R-cal", "D-cal", "A-cal", "J-cal",
)

_MANUFACTURERS = (
    "", "Burdick", "Cambridge", "Compumed", "Datamed", "Fukuda", "Hewlett-Packard",
    "Marquette Electronics", "Mortara Instruments", "Nihon Kohden", "Okin", "Quinton",
    "Siemens", "Spacelabs", "Telemed", "Hellige", "ESA-OTE", "Schiller",
    "Picker-Schwarzer", "Elettronica-Trentina", "Zwonitz",
)
_AGE_UNIT_YEARS = {0: 1.0, 1: 1.0, 2: 1 / 12, 3: 7 / 365.25, 4: 1 / 365.25, 5: 1 / 8766}

#: Limb leads that 8-lead storage leaves out, computed from I and II (mV).
_DERIVED = {
    "III": ("II - I", lambda i, ii: ii - i),
    "aVR": ("-(I + II) / 2", lambda i, ii: -(i + ii) / 2),
    "aVL": ("I - II / 2", lambda i, ii: i - ii / 2),
    "aVF": ("II - I / 2", lambda i, ii: ii - i / 2),
}


# ----------------------------------------------------------------------------------------------
# Sniffing
# ----------------------------------------------------------------------------------------------


def sniff(head: bytes, path: Path) -> bool:
    """Whether ``head`` (the first bytes of ``path``) is an SCP-ECG record.

    SCP-ECG has no magic string, so the structure decides: the record length in bytes 2-5
    is at most the file size (trailing bytes are tolerated, as :func:`read` does); section 0
    starts at byte 6 with id 0, a length of 16 + 10 k bytes and a first pointer to itself
    (id 0, index 7); and, when section 0 lies within ``head``,
    its CRC matches (or its reserved bytes read ``"SCPECG"``).

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).
    path : Path
        The file; only its size is used.

    Returns
    -------
    bool

    Examples
    --------
    >>> from pathlib import Path
    >>> sniff(b"ISHNE1.0" + bytes(600), Path("x.scp"))
    False
    """
    if len(head) < 32:
        return False
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    record_len = int.from_bytes(head[2:6], "little")
    if size is not None and not 6 + _HEADER + 10 <= record_len <= size:
        return False
    section_id = int.from_bytes(head[8:10], "little")
    length = int.from_bytes(head[10:14], "little")
    if section_id != 0 or length < _HEADER + 10 or (length - _HEADER) % 10 or length > record_len - 6:
        return False
    first_id, first_len, first_index = struct.unpack_from("<HII", head, 6 + _HEADER)
    if (first_id, first_len, first_index) != (0, length, 7):
        return False
    if head[16:22] == b"SCPECG":
        return True
    if 6 + length <= len(head):
        return crc_ccitt(head[8:6 + length]) == int.from_bytes(head[6:8], "little")
    return False


# ----------------------------------------------------------------------------------------------
# Record structure
# ----------------------------------------------------------------------------------------------


@dataclass
class _Section:
    id: int
    offset: int  # 0-based offset of the section header in the record
    length: int  # including the 16-byte header
    version: int
    protocol: int


class _Reader:
    """Decoding state of one record; every problem is raised as FormatError naming the file."""

    def __init__(self, path: Path, data: bytes):
        self.path = path
        self.data = data
        self.sections: dict[int, _Section] = {}
        self.notes: list[str] = []
        self.fields: dict[str, str] = {}

    def fail(self, problem: str) -> FormatError:
        return FormatError(f"{self.path}: SCP-ECG: {problem}")

    def body(self, sid: int) -> bytes:
        s = self.sections[sid]
        return self.data[s.offset + _HEADER: s.offset + s.length]

    # -- preamble and section 0 ----------------------------------------------------------------

    def read_structure(self) -> None:
        data = self.data
        if len(data) < 6 + _HEADER + 10:
            raise self.fail(f"file of {len(data)} bytes is too short for an SCP record (preamble + section 0)")
        crc, record_len = struct.unpack_from("<HI", data, 0)
        if record_len < 6 + _HEADER + 10:
            raise self.fail(f"the record length field says {record_len} bytes, too short for an SCP record "
                            "(preamble + section 0); not an SCP-ECG file?")
        if record_len > len(data):
            raise self.fail(f"truncated: the record length field says {record_len} bytes, the file has "
                            f"{len(data)}")
        if record_len < len(data):
            self.notes.append(f"{len(data) - record_len} bytes after the end of the SCP record ignored")
            self.data = data = data[:record_len]
        if crc_ccitt(data[2:]) != crc:
            raise self.fail(f"record CRC mismatch (stored 0x{crc:04X}, computed 0x{crc_ccitt(data[2:]):04X}); "
                            "the file is damaged")
        s0 = self.section_header(6, expected_id=0)
        self.sections[0] = s0
        body = self.body(0)
        npointers = len(body) // 10
        if npointers > _MAX_SECTION0_POINTERS:
            raise self.fail(f"section 0 holds {npointers} pointers; expected at most {_MAX_SECTION0_POINTERS}")
        for k in range(npointers):
            sid, length, index = struct.unpack_from("<HII", body, 10 * k)
            if length == 0 or index == 0 or sid == 0:
                continue
            if index - 1 + length > len(data):
                raise self.fail(f"section {sid} (index {index}, {length} bytes) runs past the end of the "
                                f"{len(data)}-byte record: truncated file")
            sec = self.section_header(index - 1, expected_id=sid)
            if sec.length != length:
                raise self.fail(f"section {sid}: header length {sec.length} differs from section 0's {length}")
            self.sections[sid] = sec
        self.fields["scp_protocol_version"] = f"{s0.protocol / 10:.1f}"

    def section_header(self, offset: int, expected_id: int) -> _Section:
        data = self.data
        if offset + _HEADER > len(data):
            raise self.fail(f"section {expected_id} header at byte {offset} is past the end of the record")
        crc, sid, length, version, protocol = struct.unpack_from("<HHIBB", data, offset)
        if sid != expected_id:
            raise self.fail(f"byte {offset} holds section {sid}; section 0 points to section {expected_id} there")
        if length < _HEADER or offset + length > len(data):
            raise self.fail(f"section {sid} length {length} does not fit the {len(data)}-byte record")
        computed = crc_ccitt(data[offset + 2: offset + length])
        if computed != crc:
            raise self.fail(f"section {sid} CRC mismatch (stored 0x{crc:04X}, computed 0x{computed:04X}); "
                            "the file is damaged")
        return _Section(sid, offset, length, version, protocol)

    @property
    def protocol(self) -> int:
        return self.sections[0].protocol

    # -- section 1 -------------------------------------------------------------------------------

    def tags(self) -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        if 1 not in self.sections:
            self.notes.append("no section 1 (patient and acquisition header)")
            return out
        body = self.body(1)
        pos = 0
        while pos + 3 <= len(body):
            tag = body[pos]
            length = int.from_bytes(body[pos + 1:pos + 3], "little")
            if tag == 255:
                break
            value = body[pos + 3:pos + 3 + length]
            if len(value) < length:
                self.notes.append(f"section 1 tag {tag} truncated; header tags after it ignored")
                break
            out.setdefault(tag, value)
            pos += 3 + length
        return out

    # -- sections 2, 3, 6 (and 4, 5) -------------------------------------------------------------

    def huffman_tables(self) -> list[dict[tuple[int, int], tuple[int, int, int]]] | None:
        if 2 not in self.sections:
            return None
        body = self.body(2)
        if len(body) < 2:
            raise self.fail("section 2 (Huffman tables) is empty")
        count = int.from_bytes(body[0:2], "little")
        if count == _DEFAULT_HUFFMAN:
            return [_DEFAULT_TABLE]
        if count == 0:
            raise self.fail("section 2 declares 0 Huffman tables; expected 19999 (default) or 1 or more")
        tables = []
        pos = 2
        for t in range(count):
            if pos + 2 > len(body):
                raise self.fail(f"section 2 truncated in Huffman table {t + 1} of {count}")
            ncodes = int.from_bytes(body[pos:pos + 2], "little")
            pos += 2
            if ncodes == 0:
                raise self.fail(f"section 2: Huffman table {t + 1} of {count} has no codes")
            if pos + 9 * ncodes > len(body):
                raise self.fail(f"section 2 truncated in Huffman table {t + 1} of {count}")
            table = {}
            for _ in range(ncodes):
                prefix, total, mode, value, stored = struct.unpack_from("<BBBhI", body, pos)
                pos += 9
                if not 1 <= prefix <= 32 or total < prefix or total - prefix > 32:
                    raise self.fail(f"section 2 table {t + 1}: invalid Huffman code lengths "
                                    f"(prefix {prefix}, total {total} bits)")
                # the base code is stored bit-reversed: its first transmitted bit is the LSB
                code = int(f"{stored & ((1 << prefix) - 1):0{prefix}b}"[::-1], 2)
                table[(prefix, code)] = (mode, value, total - prefix)
            tables.append(table)
        return tables

    def lead_definitions(self) -> tuple[list[tuple[int, int, int]], int]:
        if 3 not in self.sections:
            raise self.fail("no section 3 (lead definition); cannot tell which leads are stored")
        body = self.body(3)
        if len(body) < 2:
            raise self.fail("section 3 (lead definition) is empty")
        nleads, flags = body[0], body[1]
        if nleads == 0:
            raise self.fail("section 3 defines 0 leads; expected at least 1")
        if 2 + 9 * nleads > len(body):
            raise self.fail(f"section 3 is truncated: {nleads} leads need {2 + 9 * nleads} bytes, "
                            f"it has {len(body)}")
        leads = []
        for k in range(nleads):
            start, end, code = struct.unpack_from("<IIB", body, 2 + 9 * k)
            if start < 1 or end < start:
                raise self.fail(f"section 3 lead {k + 1}: sample numbers {start}..{end}; "
                                "expected 1 <= start <= end")
            leads.append((start, end, code))
        return leads, flags

    def decode_block(self, sid: int, nleads: int, counts: list[int], tables) -> tuple[list[np.ndarray], int, int]:
        """Decode a section 5 or 6 data block -> (integer samples per lead, AVM nV, interval µs)."""
        body = self.body(sid)
        what = "section 5 (reference beats)" if sid == 5 else "section 6 (rhythm data)"
        if len(body) < 6 + 2 * nleads:
            raise self.fail(f"{what} is truncated: its header needs {6 + 2 * nleads} bytes, it has {len(body)}")
        avm, interval, diff, flag = struct.unpack_from("<HHBB", body, 0)
        if avm == 0:
            raise self.fail(f"{what}: amplitude value multiplier is 0 nV; expected a positive value")
        if interval == 0:
            raise self.fail(f"{what}: sample time interval is 0 µs; expected a positive value")
        if diff not in (0, 1, 2):
            raise self.fail(f"{what}: unknown difference encoding {diff}; expected 0 (none), 1 (first "
                            "differences) or 2 (second differences)")
        if sid == 6 and flag == 1 and self.protocol < 30:
            body5 = self.body(5) if 5 in self.sections else b""
            if len(body5) < 4 or int.from_bytes(body5[2:4], "little") != interval:
                raise self.fail("bimodal compression (rhythm decimated outside the QRS) is not supported; "
                                "expected bimodal flag 0")
            self.notes.append("bimodal flag set, but reference beats and rhythm share one sample interval: "
                              "nothing was decimated")
        sizes = struct.unpack_from(f"<{nleads}H", body, 6)
        pos = 6 + 2 * nleads
        out = []
        for k, (size, count) in enumerate(zip(sizes, counts, strict=True)):
            chunk = body[pos:pos + size]
            if len(chunk) < size:
                raise self.fail(f"{what}: lead {k + 1} data ({size} bytes) runs past the section end: "
                                "truncated")
            pos += size
            where = f"{what}, lead {k + 1}"
            most = size // 2 if tables is None else 8 * size  # a Huffman code has at least 1 bit
            if count > most:
                raise self.fail(f"{where}: {count} samples expected, its {size} bytes hold at most {most}")
            if tables is None:
                if size < 2 * count:
                    raise self.fail(f"{where}: {size} bytes hold fewer than the {count} 16-bit samples "
                                    "section 3 defines")
                values = np.frombuffer(chunk, "<i2", count=count).astype(np.int64)
            else:
                values = self.huffman_decode(chunk, count, tables, where)
            out.append(_undo_differences(values, diff))
        return out, avm, interval

    def huffman_decode(self, chunk: bytes, count: int, tables, where: str) -> np.ndarray:
        nbits = 8 * len(chunk)
        bits = format(int.from_bytes(chunk, "big"), f"0{nbits}b") if chunk else ""
        out = np.empty(count, np.int64)
        table = tables[0]
        max_prefix = max(p for p, _ in table)
        get = table.get
        pos = n = 0
        while n < count:
            code = length = 0
            entry = None
            while entry is None:
                if pos >= nbits:
                    raise self.fail(f"{where}: Huffman data end after {n} of {count} samples: truncated")
                code = (code << 1) | (bits[pos] == "1")
                pos += 1
                length += 1
                entry = get((length, code))
                if entry is None and length >= max_prefix:
                    raise self.fail(f"{where}: invalid Huffman code at bit {pos}")
            mode, value, extra = entry
            if mode == 0:
                if not 1 <= value <= len(tables):
                    raise self.fail(f"{where}: switch to Huffman table {value}; the file has {len(tables)}")
                table = tables[value - 1]
                max_prefix = max(p for p, _ in table)
                get = table.get
                continue
            if extra:
                if pos + extra > nbits:
                    raise self.fail(f"{where}: Huffman data end after {n} of {count} samples: truncated")
                raw = int(bits[pos:pos + extra], 2)
                if raw >= 1 << (extra - 1):
                    raw -= 1 << extra
                value += raw
                pos += extra
            out[n] = value
            n += 1
        return out

    def reference_beats(self, nleads: int, tables, why: str) -> tuple[list[np.ndarray], int, int, int, list]:
        """Section 5 decoded with section 4's beat length -> (beats, AVM nV, interval µs, fiducial, zones)."""
        for sid in (4, 5):
            if sid not in self.sections:
                raise self.fail(f"{why}, but section {sid} is missing")
        s4 = self.body(4)
        if len(s4) < 6:
            raise self.fail("section 4 (QRS locations) is truncated")
        beat_ms, fiducial, nqrs = struct.unpack_from("<HHH", s4, 0)
        zones = []
        if len(s4) >= 6 + 14 * nqrs:
            zones = [struct.unpack_from("<HIII", s4, 6 + 14 * q) for q in range(nqrs)]
        body5 = self.body(5)
        if len(body5) < 4:
            raise self.fail("section 5 (reference beats) is truncated")
        interval5 = int.from_bytes(body5[2:4], "little")
        nbeat = round(beat_ms * 1000 / interval5) if interval5 else 0
        if nbeat == 0:
            raise self.fail(f"section 4 gives a reference beat of {beat_ms} ms; expected a positive length")
        beats, avm5, _ = self.decode_block(5, nleads, [nbeat] * nleads, tables)
        return beats, avm5, interval5, fiducial, zones

    def add_reference_beats(self, residuals, avm, interval, lead_defs, tables) -> tuple[list[np.ndarray], int]:
        """Add reference beat 0 (section 5) back at the section 4 subtraction zones (int, common unit)."""
        beats, avm5, interval5, fiducial, zones = self.reference_beats(
            len(lead_defs), tables, "section 3 says the reference beat was subtracted")
        nqrs = int.from_bytes(self.body(4)[4:6], "little")
        if len(zones) != nqrs:
            raise self.fail(f"section 4 is truncated: {nqrs} QRS subtraction zones need {6 + 14 * nqrs} bytes")
        if interval5 != interval:
            raise self.fail(f"reference beats sampled every {interval5} µs, rhythm every {interval} µs; "
                            "only equal intervals are supported")
        common = np.gcd(avm, avm5)
        out = []
        for (start, end, _), residual, beat in zip(lead_defs, residuals, beats, strict=True):
            signal = residual * (avm // common)
            beat = beat * (avm5 // common)
            for btype, zstart, zfid, zend in zones:
                if btype != 0:
                    continue
                first = max(zstart, start, zfid - fiducial + 1)
                last = min(zend, end, zfid - fiducial + len(beat))
                if last < first:
                    continue
                r0 = first - start
                m0 = fiducial - zfid + first - 1
                signal[r0:r0 + last - first + 1] += beat[m0:m0 + last - first + 1]
            out.append(signal)
        self.notes.append(f"reference beat 0 added back at {sum(z[0] == 0 for z in zones)} QRS complexes "
                          "(reference beat subtraction)")
        return out, int(common)

    # -- sections 7, 8, 11 -----------------------------------------------------------------------

    def measurements(self) -> dict[str, float]:
        if 7 not in self.sections:
            return {}
        body = self.body(7)
        out: dict[str, float] = {}
        if len(body) < 6:
            self.notes.append("section 7 (global measurements) too short; ignored")
            return out
        nblocks, nspikes, rr, _pp = struct.unpack_from("<BBHH", body, 0)

        def ok(v: int) -> bool:
            return 0 < v < 29990

        if ok(rr):
            out["RR_ms"] = float(rr)
            out["HR_bpm"] = round(60000.0 / rr, 1)
        pos = 6
        if nblocks >= 1 and pos + 16 <= len(body):
            p_on, p_off, q_on, q_off, t_off = struct.unpack_from("<5H", body, pos)
            axes = struct.unpack_from("<3h", body, pos + 10)
            if ok(p_on) and ok(p_off) and p_off > p_on:
                out["P_ms"] = float(p_off - p_on)
            if ok(p_on) and ok(q_on) and q_on > p_on:
                out["PR_ms"] = float(q_on - p_on)
            if ok(q_on) and ok(q_off) and q_off > q_on:
                out["QRS_ms"] = float(q_off - q_on)
            if ok(q_on) and ok(t_off) and t_off > q_on:
                out["QT_ms"] = float(t_off - q_on)
            for key, value in zip(("P_axis_deg", "QRS_axis_deg", "T_axis_deg"), axes, strict=True):
                if abs(value) <= 360:
                    out[key] = float(value)
        pos += 16 * nblocks + 10 * nspikes
        if pos + 2 <= len(body):
            nqrs = int.from_bytes(body[pos:pos + 2], "little")
            pos += 2 + nqrs
            if pos + 6 <= len(body):
                vent, _atrial, qtc = struct.unpack_from("<3H", body, pos)
                if ok(vent):
                    out["HR_bpm"] = float(vent)
                if ok(qtc):
                    out["QTc_ms"] = float(qtc)
        return out

    def statements(self) -> list[str]:
        out: list[str] = []
        for sid in (8, 11):
            if sid not in self.sections:
                continue
            body = self.body(sid)
            if len(body) < 9:
                self.notes.append(f"section {sid} (interpretation) too short; ignored")
                continue
            pos = 9
            for _ in range(body[8]):
                if pos + 3 > len(body):
                    self.notes.append(f"section {sid} statements truncated; the rest ignored")
                    break
                size = int.from_bytes(body[pos + 1:pos + 3], "little")
                value = body[pos + 3:pos + 3 + size]
                pos += 3 + size
                if sid == 11:
                    value = value[1:]  # statement type byte
                text = " ".join(t for t in (_text(p) for p in value.split(b"\x00")) if t)
                if text and text not in out:
                    out.append(text)
        return out


# ----------------------------------------------------------------------------------------------
# Metadata
# ----------------------------------------------------------------------------------------------


def _date(value: bytes) -> _dt.date | None:
    if len(value) < 4:
        return None
    year, month, day = struct.unpack_from("<HBB", value, 0)
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _device(value: bytes) -> str | None:
    """Tag 14/15 machine id -> "manufacturer model"."""
    if len(value) < 14:
        return None
    code = value[7]
    model = _text(value[8:14])
    strings = value[36:].split(b"\x00") if len(value) > 36 else []
    # strings: analysing program, serial number, device software, SCP software, manufacturer
    manufacturer = _text(strings[4]) if len(strings) > 4 else ""
    if not manufacturer and code < len(_MANUFACTURERS):
        manufacturer = _MANUFACTURERS[code]
    return " ".join(p for p in (manufacturer, model) if p) or None


def _metadata(reader: _Reader, ecg: RawECG) -> None:
    tags = reader.tags()
    first, last = _text(tags.get(1, b"")), _text(tags.get(0, b""))
    if first or last:
        ecg.identity["name"] = " ".join(p for p in (first, last) if p)
    if _text(tags.get(2, b"")):
        ecg.identity["id"] = _text(tags[2])
    birth = _date(tags.get(5, b""))
    if birth is not None:
        ecg.identity["birth_date"] = birth.isoformat()
    sex = tags.get(8, b"")
    if sex[:1] in (b"\x01", b"\x02"):
        ecg.sex = "M" if sex[0] == 1 else "F"
    acquired = _date(tags.get(25, b""))
    clock = tags.get(26, b"")
    if acquired is not None:
        ecg.acquired = acquired.isoformat()
        if len(clock) >= 3 and clock[0] < 24 and clock[1] < 60 and clock[2] < 60:
            ecg.acquired = _dt.datetime(acquired.year, acquired.month, acquired.day, *clock[:3]).isoformat()
    age = tags.get(4, b"")
    if len(age) >= 3 and 0 < int.from_bytes(age[0:2], "little") < 200 * 366 and age[2] in _AGE_UNIT_YEARS:
        ecg.age = round(int.from_bytes(age[0:2], "little") * _AGE_UNIT_YEARS[age[2]], 2)
    elif birth is not None and acquired is not None and acquired >= birth:
        ecg.age = float(acquired.year - birth.year - ((acquired.month, acquired.day) < (birth.month, birth.day)))
    ecg.device = _device(tags.get(14, b""))
    highpass = int.from_bytes(tags.get(27, b"")[:2], "little")  # 0.01 Hz; 0 = not given
    lowpass = int.from_bytes(tags.get(28, b"")[:2], "little")  # Hz; 0 = not given
    if highpass:
        ecg.fields["highpass_hz"] = f"{highpass / 100:g}"
    if lowpass:
        ecg.fields["lowpass_hz"] = f"{lowpass:g}"


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def _lead_names(reader: _Reader, lead_defs) -> list[str]:
    names: list[str] = []
    unnamed = 0
    for _, _, code in lead_defs:
        if 0 < code < len(LEAD_NAMES):
            name = LEAD_NAMES[code]
        else:
            unnamed += 1
            name = f"unspecified {unnamed}" if code == 0 else f"SCP lead {code}"
        if name in names:
            raise reader.fail(f"section 3 lists lead {name} (code {code}) twice; expected each lead once")
        names.append(name)
    return names


def _open(path: Path) -> _Reader:
    path = Path(path)
    try:
        return _Reader(path, path.read_bytes())
    except OSError as e:
        raise FormatError(f"{path}: cannot read the file ({e.strerror})") from e


def _guarded(reader: _Reader, fn):
    try:
        return fn(reader)
    except FormatError:
        raise
    except (struct.error, IndexError, KeyError, ValueError, OverflowError) as e:
        raise reader.fail(f"damaged record ({type(e).__name__}: {e})") from e


def read_reference_beats(path: Path) -> tuple[dict[str, np.ndarray], float]:
    """The reference (median) beats of section 5, in mV.

    Parameters
    ----------
    path : Path
        The ``.scp`` file.

    Returns
    -------
    beats : dict of str to ndarray
        Lead name -> reference beat type 0 in mV, float64, shape (samples,) (section 4's beat
        length); stored leads only.
    fs : float
        Sampling rate of the beats in Hz (1e6 / section 5 sample interval).

    Raises
    ------
    FormatError
        As :func:`read`; also when section 4 or 5 is missing.
    """
    def beats(reader: _Reader):
        reader.read_structure()
        lead_defs, _ = reader.lead_definitions()
        names = _lead_names(reader, lead_defs)
        values, avm5, interval5, _, _ = reader.reference_beats(
            len(lead_defs), reader.huffman_tables(), "reference beats were asked for")
        return {n: v * (avm5 * 1e-6) for n, v in zip(names, values, strict=True)}, 1e6 / interval5

    return _guarded(_open(path), beats)


def read(path: Path) -> RawECG:
    """Decode an SCP-ECG record (rhythm data in mV at the file's own rate).

    Parameters
    ----------
    path : Path
        The ``.scp`` file.

    Returns
    -------
    RawECG
        ``leads``: lead name (``"I"``, ``"V1"``, ``"aVR"``...) -> mV, float64, shape (samples,);
        ``fs`` = 1e6 / section 6 sample interval (µs); limb leads computed from 8-lead
        storage in ``derived``; section 1 metadata, section 7 measurements, section 8/11
        statements.

    Raises
    ------
    FormatError
        Naming the file and the problem: truncated record, CRC mismatch, missing section 3
        or 6, unknown difference encoding, bimodal compression, damaged Huffman data.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "not.scp"
    >>> _ = p.write_bytes(b"\\x00" * 10)
    >>> try:
    ...     read(p)
    ... except FormatError as e:
    ...     print("too short" in str(e))
    True
    """
    return _guarded(_open(path), _read)


def _read(reader: _Reader) -> RawECG:
    reader.read_structure()
    if 6 not in reader.sections:
        raise reader.fail("no section 6 (rhythm data); this reader needs the rhythm data "
                          "(a record with reference beats only cannot be read)")
    lead_defs, flags = reader.lead_definitions()
    tables = reader.huffman_tables()
    counts = [end - start + 1 for start, end, _ in lead_defs]
    samples, avm, interval = reader.decode_block(6, len(lead_defs), counts, tables)
    if flags & 0x01:
        samples, avm = reader.add_reference_beats(samples, avm, interval, lead_defs, tables)
    elif 5 in reader.sections:
        reader.notes.append("reference (median) beats in section 5 not part of the record "
                            "(l2g.io.scp.read_reference_beats reads them)")

    names = _lead_names(reader, lead_defs)

    scale = avm * 1e-6  # nV -> mV
    first = min(start for start, _, _ in lead_defs)
    last = max(end for _, end, _ in lead_defs)
    if last - first + 1 > len(lead_defs) * max(counts):
        raise reader.fail(f"section 3: leads span samples {first}..{last}, more than their "
                          f"{len(lead_defs)} x {max(counts)} samples could cover")
    leads: dict[str, np.ndarray] = {}
    partial = False
    for name, (start, end, _), values in zip(names, lead_defs, samples, strict=True):
        if start == first and end == last:
            leads[name] = values * scale
        else:
            partial = True
            full = np.full(last - first + 1, np.nan)
            full[start - first:end - first + 1] = values * scale
            leads[name] = full
    if partial:
        reader.notes.append("leads were not all recorded at the same time (section 3); samples a lead "
                            "did not record are NaN")

    derived: dict[str, str] = {}
    if "I" in leads and "II" in leads:
        for name, (formula, fn) in _DERIVED.items():
            if name not in leads:
                leads[name] = fn(leads["I"], leads["II"])
                derived[name] = formula

    ecg = RawECG(leads=leads, fs=1e6 / interval, fmt=f"SCP-ECG v{reader.fields['scp_protocol_version']}",
                 derived=derived)
    ecg.fields = dict(reader.fields)
    ecg.fields["amplitude_nV"] = f"{avm:g}"
    _metadata(reader, ecg)
    ecg.measurements = reader.measurements()
    ecg.interpretation = reader.statements()
    if 10 in reader.sections:
        reader.notes.append("per-lead measurements in section 10 not read")
    ecg.notes = reader.notes
    return ecg


READER = Reader(name="scp", kind="SCP-ECG", suffixes=(".scp",), sniff=sniff, read=read,
                cart=True)
