"""Shared helpers of the cart XML readers (:mod:`~l2g.io.aecg`, :mod:`~l2g.io.philips`,
:mod:`~l2g.io.muse`, :mod:`~l2g.io.cardiosoft`).

* :func:`root_name` reads the root element's name and namespace from the first bytes of a
  file (UTF-8, UTF-16 with or without BOM; XML declaration, comments, DOCTYPE skipped), so
  that each reader's ``sniff`` decides by content.
* :func:`parse` parses a whole file safely with :mod:`defusedxml`: entity declarations
  (the "billion laughs" expansion) and external entities are refused, and an external DTD
  (GE MUSE files name ``restecg.dtd``) is never fetched or read.
* :func:`child`, :func:`children`, :func:`find`, :func:`text` look elements up by local
  name, whatever namespace (or none) the file uses.
* :func:`decoding_errors` turns the errors of parsing a damaged file into one
  :class:`~l2g.io._raw.FormatError` naming the file.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import math
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import defusedxml
from defusedxml.ElementTree import fromstring as _safe_fromstring

from ._raw import FormatError

__all__ = ["root_name", "parse", "local", "child", "children", "find", "find_all", "text",
           "number", "decoding_errors", "iso_datetime", "hl7_timestamp", "age_in_years", "sex_code"]

#: Files larger than this are refused before parsing (a resting ECG XML is well under 10 MB).
MAX_XML_BYTES = 64 * 1024 * 1024

_DECL = re.compile(r"<\?.*?\?>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DOCTYPE = re.compile(r"<!DOCTYPE\b(?:[^\[>]*|[^\[>]*\[.*?\][^>]*)>", re.S | re.I)
_START = re.compile(r"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)((?:\s[^>]*)?)(?:/?>|$)", re.S)
_XMLNS = re.compile(r"""xmlns(?::([\w.\-]+))?\s*=\s*(["'])(.*?)\2""", re.S)


def _text_encoding(data: bytes) -> tuple[str, int]:
    """The text encoding of an XML byte string and the length of its BOM."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    if data[:4] == b"<\x00?\x00" or data[:2] == b"<\x00":
        return "utf-16-le", 0
    if data[:4] == b"\x00<\x00?" or data[:2] == b"\x00<":
        return "utf-16-be", 0
    return "utf-8", 0


def _head_text(head: bytes) -> str:
    enc, bom = _text_encoding(head)
    body = head[bom:]
    if enc.startswith("utf-16") and len(body) % 2:
        body = body[:-1]
    return body.decode(enc if enc != "utf-8" else "latin-1", errors="replace")


def root_name(head: bytes) -> tuple[str, str] | None:
    """Namespace and local name of the root element found in the first bytes of a file.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (at most 4096 are looked at).

    Returns
    -------
    tuple of (str, str) or None
        ``(namespace, local_name)``; the namespace is ``""`` when the root declares none.
        None when no start tag is found (not XML, or the root lies beyond ``head``).

    Examples
    --------
    >>> root_name(b'<?xml version="1.0"?><!DOCTYPE RestingECG SYSTEM "restecg.dtd"><RestingECG>')
    ('', 'RestingECG')
    >>> root_name('<AnnotatedECG xmlns="urn:hl7-org:v3">'.encode("utf-16"))
    ('urn:hl7-org:v3', 'AnnotatedECG')
    >>> root_name(b"%PDF-1.4") is None
    True
    """
    txt = _head_text(head[:4096])
    txt = _DECL.sub("", txt)
    txt = _COMMENT.sub("", txt)
    txt = _DOCTYPE.sub("", txt, count=1)
    txt = txt.lstrip()
    m = _START.match(txt)
    if m is None:
        return None
    qname, attrs = m.group(1), m.group(2) or ""
    prefix, _, name = qname.rpartition(":")
    ns = ""
    for pm in _XMLNS.finditer(attrs):
        if (pm.group(1) or "") == prefix:
            ns = pm.group(3)
    return ns, name


def _reencode_utf16(data: bytes) -> bytes:
    """UTF-16 without a BOM (expat needs one) -> the same document in UTF-8."""
    enc, bom = _text_encoding(data)
    if not enc.startswith("utf-16") or bom:
        return data
    txt = data.decode(enc)
    txt = _DECL.sub(lambda m: "" if m.start() == 0 else m.group(0), txt, count=1)
    return txt.encode("utf-8")


def parse(path: Path, fmt: str, data: bytes | None = None) -> ET.Element:
    """Parse an XML file safely and return its root element.

    Parameters
    ----------
    path : Path
        The file (named in errors; read unless ``data`` is given).
    fmt : str
        Human name of the format, for error messages.
    data : bytes, optional
        The file's bytes, when already read.

    Returns
    -------
    xml.etree.ElementTree.Element

    Raises
    ------
    FormatError
        Malformed or truncated XML, an entity declaration (entity expansion is refused),
        an external entity, or a file over :data:`MAX_XML_BYTES`.

    Notes
    -----
    A ``<!DOCTYPE ... SYSTEM "x.dtd">`` is allowed but its DTD is never opened or fetched:
    expat does not load external DTD subsets for :mod:`xml.etree`, and :mod:`defusedxml`
    refuses external entity references.
    """
    if data is None:
        try:
            if path.stat().st_size > MAX_XML_BYTES:
                raise FormatError(f"{path}: {fmt} file is larger than {MAX_XML_BYTES} bytes; "
                                  f"expected a resting ECG of a few MB at most")
            data = path.read_bytes()
        except OSError as e:
            raise FormatError(f"{path}: cannot read the {fmt} file ({e.strerror or e})") from e
    data = _reencode_utf16(data)
    try:
        return _safe_fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as e:
        raise FormatError(f"{path}: the {fmt} file declares XML entities ({e.name!r}); refused "
                          f"without expanding them (expected plain XML without an entity DTD)") from e
    except defusedxml.DefusedXmlException as e:
        raise FormatError(f"{path}: the {fmt} file uses a refused XML feature ({e}); "
                          f"expected plain XML") from e
    except ET.ParseError as e:
        raise FormatError(f"{path}: not well-formed {fmt} file ({e}); the file may be truncated") from e
    except (ValueError, LookupError) as e:  # e.g. an unknown encoding in the declaration
        raise FormatError(f"{path}: cannot decode the {fmt} file ({e})") from e


def local(tag: str) -> str:
    """Local name of an ElementTree tag: ``"{urn:hl7-org:v3}code"`` -> ``"code"``."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def children(el: ET.Element | None, name: str) -> list[ET.Element]:
    """Direct children of ``el`` with local name ``name`` (any namespace)."""
    if el is None:
        return []
    return [c for c in el if local(c.tag) == name]


def child(el: ET.Element | None, name: str) -> ET.Element | None:
    """First direct child of ``el`` with local name ``name``, or None."""
    found = children(el, name)
    return found[0] if found else None


def find(el: ET.Element | None, path: str) -> ET.Element | None:
    """First element along ``"a/b/c"`` (local names, direct children), or None.

    A leading ``".//"`` searches all descendants for the first step.
    """
    found = find_all(el, path)
    return found[0] if found else None


def find_all(el: ET.Element | None, path: str) -> list[ET.Element]:
    """All elements along ``"a/b/c"`` (local names); a leading ``".//"`` searches descendants."""
    if el is None:
        return []
    deep = path.startswith(".//")
    steps = [s for s in path.removeprefix(".//").split("/") if s]
    if not steps:
        return [el]
    if deep:
        current = [e for e in el.iter() if local(e.tag) == steps[0] and e is not el]
    else:
        current = children(el, steps[0])
    for step in steps[1:]:
        current = [c for e in current for c in children(e, step)]
    return current


def text(el: ET.Element | None, path: str | None = None) -> str | None:
    """Stripped text of ``el`` (or of :func:`find` ``(el, path)``); None when absent or empty."""
    target = el if path is None else find(el, path)
    if target is None or target.text is None:
        return None
    t = target.text.strip()
    return t or None


def number(value: str | None) -> float | None:
    """A finite float from a text value, or None (empty, ``"Failed"``, ``"Indeterminate"``...)."""
    if value is None:
        return None
    try:
        x = float(value.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def iso_datetime(year: str | int | None, month: str | int | None, day: str | int | None,
                 hour: str | int | None = None, minute: str | int | None = None,
                 second: str | int | float | None = None) -> str | None:
    """ISO 8601 text (``"2000-04-22T11:34:00"``) from parts, or None if the date is invalid.

    Examples
    --------
    >>> iso_datetime("2000", "4", "22", "11", "34", "0")
    '2000-04-22T11:34:00'
    >>> iso_datetime("2000", "13", "1") is None
    True
    """
    import datetime as dt

    try:
        date = dt.date(int(year), int(month), int(day))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if hour is None:
        return date.isoformat()
    try:
        sec = float(second or 0)
        t = dt.time(int(hour), int(minute or 0), int(sec))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return date.isoformat()
    return dt.datetime.combine(date, t).isoformat()


def hl7_timestamp(value: str | None) -> str | None:
    """ISO 8601 text from an HL7 TS value (``"20021122091000.000"``), or None.

    Examples
    --------
    >>> hl7_timestamp("20021122091000.000")
    '2002-11-22T09:10:00'
    >>> hl7_timestamp("19530508")
    '1953-05-08'
    """
    if not value:
        return None
    m = re.match(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(\d{2})?)?", value.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s = m.groups()
    return iso_datetime(y, mo, d, h, mi, s) if h is not None else iso_datetime(y, mo, d)


#: Errors that decoding a damaged file can raise; :func:`decoding_errors` wraps them.
_DECODE_ERRORS = (KeyError, IndexError, ValueError, TypeError, AttributeError, ZeroDivisionError,
                  OverflowError, binascii.Error, struct.error, UnicodeError)


@contextlib.contextmanager
def decoding_errors(path: Path, fmt: str) -> Iterator[None]:
    """Re-raise parsing errors of ``path`` as one :class:`FormatError` naming the file.

    A :class:`FormatError` raised inside passes unchanged.
    """
    try:
        yield
    except FormatError:
        raise
    except _DECODE_ERRORS as e:
        raise FormatError(f"{path}: cannot decode the {fmt} file ({type(e).__name__}: {e})") from e


def age_in_years(value: float | None, unit: str | None) -> float | None:
    """Age in years from a value and a unit word (years, months, weeks, days, hours; None = years).

    Examples
    --------
    >>> age_in_years(18, "MONTHS")
    1.5
    """
    if value is None or value < 0:
        return None
    u = (unit or "years").strip().lower()
    per_year = {"y": 1.0, "a": 1.0, "m": 12.0, "mo": 12.0, "w": 52.1775, "wk": 52.1775, "d": 365.25,
                "h": 8766.0, "hr": 8766.0}
    for word, factor in (("year", 1.0), ("month", 12.0), ("week", 52.1775), ("day", 365.25),
                         ("hour", 8766.0)):
        if u.startswith(word):
            return value / factor
    factor = per_year.get(u)
    return None if factor is None else value / factor


def sex_code(value: str | None) -> str | None:
    """``"M"``/``"F"`` from ``"MALE"``, ``"Female"``, ``"m"``...; None otherwise."""
    if not value:
        return None
    v = value.strip().upper()
    if v in ("M", "MALE"):
        return "M"
    if v in ("F", "FEMALE"):
        return "F"
    return None
