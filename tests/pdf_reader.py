"""A small reader of the vector drawing in a one-page PDF, to measure what would land on paper.

Enough of PDF for the files matplotlib writes (and no more): the page's ``/MediaBox``, the ``/Info``
dictionary, and the page's content stream (Flate-compressed) interpreted for stroked and filled paths
(``m l c re h``, ``S f n``), the graphics state that matters here (``q Q cm w d RG rg``) and text
(``Tf Tj TJ``: strings decoded through each font's ``/Differences`` glyph names, joined per text
object). Coordinates are in PDF points (1/72 inch) on the page,
after the current transformation matrix; :data:`MM` converts them to millimetres.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np

MM = 25.4 / 72.0  # millimetres per PDF point

_TOKEN = re.compile(rb"""
    (?P<string>\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\))   # a literal string (one level of nested parentheses)
  | (?P<hex><[0-9A-Fa-f\s]*>)
  | (?P<name>/[^\s/\[\]()<>{}%]+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+))
  | (?P<open>\[) | (?P<close>\])
  | (?P<dict><<|>>)
  | (?P<op>[A-Za-z'"*][A-Za-z0-9'"*]*)
""", re.VERBOSE)
_LIGATURES = "\ufb00\ufb01\ufb02\ufb03\ufb04"  # ff fi fl ffi ffl: read as their letters
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


@dataclass
class Path:
    """One painted path: its subpaths as (n, 2) arrays in points, how it was painted, and its style."""

    subpaths: list[np.ndarray]
    paint: str  # "S" (stroked) or "f" (filled)
    width: float  # line width in points
    dash: tuple[float, ...]  # dash array; () for a solid line
    colour: tuple[float, ...]  # stroke colour (RG)
    fill: tuple[float, ...]  # fill colour (rg)

    @property
    def points(self) -> np.ndarray:
        return np.concatenate(self.subpaths) if self.subpaths else np.zeros((0, 2))


@dataclass
class Page:
    """The page of a one-page PDF: size (points), metadata, painted paths and text objects."""

    width: float
    height: float
    info: dict[str, str]
    paths: list[Path]
    texts: list[str]

    @property
    def size_mm(self) -> tuple[float, float]:
        return self.width * MM, self.height * MM

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def flat(self) -> str:
        """All text as one line, runs of white space as one space (wrapped lines read as one)."""
        return " ".join(" ".join(self.texts).split())


def _literal(raw: bytes) -> str:
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i:i + 1]
        if ch == b"\\":
            nxt = body[i + 1:i + 2]
            octal = re.match(rb"[0-7]{1,3}", body[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += ch
        i += 1
    data = bytes(out)
    return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


def _hex(raw: bytes) -> str:
    data = bytes.fromhex(re.sub(rb"\s", b"", raw[1:-1]).decode())
    return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


def _streams(data: bytes) -> dict[int, bytes]:
    """Object number -> decompressed stream of every Flate-compressed stream object."""
    out = {}
    for m in re.finditer(rb"(\d+) 0 obj\s*<<([^<>]*(?:<<[^<>]*>>[^<>]*)*)>>\s*stream\r?\n", data):
        end = data.index(b"endstream", m.end())
        if b"/FlateDecode" in m.group(2):
            out[int(m.group(1))] = zlib.decompressobj().decompress(data[m.end():end])
    return out


def _info(data: bytes) -> dict[str, str]:
    ref = re.search(rb"/Info\s+(\d+)\s+0\s+R", data)
    start = re.search(rb"\b%d 0 obj\s*<<" % int(ref.group(1)), data) if ref else None
    if start is None:
        return {}
    body = data[start.end():data.index(b">>", start.end())]
    return {m.group(1).decode(): (_literal(m.group(2)) if m.group(2).startswith(b"(") else _hex(m.group(2)))
            for m in re.finditer(rb"/(\w+)\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>)", body)}


def _object(data: bytes, number: int) -> bytes:
    """The body of object ``number`` up to its ``endobj``."""
    m = re.search(rb"(?<!\d)%d 0 obj" % number, data)
    return data[m.end():data.index(b"endobj", m.end())]


def _fonts(data: bytes) -> dict[str, dict[int, str]]:
    """Font resource name (``/F1``) -> {character code: text} from the font's ``/Differences`` glyph names."""
    from fontTools.agl import toUnicode  # fontTools comes with matplotlib

    ref = re.search(rb"/Font (\d+) 0 R", data)
    out = {}
    for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", _object(data, int(ref.group(1))) if ref else b""):
        diffs = re.search(rb"/Differences\s*\[([^\]]*)\]", _object(data, int(number)))
        codes, code = {}, 0
        for tok in re.findall(rb"\d+|/[^\s/\[\]]+", diffs.group(1) if diffs else b""):
            if tok.startswith(b"/"):
                text = toUnicode(tok[1:].decode())
                codes[code] = unicodedata.normalize("NFKC", text) if text in _LIGATURES else text
                code += 1
            else:
                code = int(tok)
        out["/" + name.decode()] = codes
    return out


def _apply(m: np.ndarray, x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def _times(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The PDF matrix product ``a x b`` of two [a b c d e f] matrices."""
    return np.array([a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                     a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]])


def _interpret(content: bytes, fonts: dict[str, dict[int, str]]) -> tuple[list[Path], list[str]]:
    paths: list[Path] = []
    texts: list[str] = []
    ctm, width, dash, colour, fill = np.array([1.0, 0, 0, 1, 0, 0]), 1.0, (), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    stack: list[tuple] = []
    subpaths: list[list[tuple[float, float]]] = []
    operands: list = []
    arrays: list[list] = []
    text: list[str] | None = None
    font: dict[int, str] = {}

    def decoded(codes: str) -> str:  # a string's characters are its codes (latin-1)
        return "".join(font.get(ord(c), c) for c in codes)

    for tok in _TOKEN.finditer(content):
        kind, raw = tok.lastgroup, tok.group()
        value: object
        if kind == "number":
            value = float(raw)
        elif kind == "string":
            value = _literal(raw)
        elif kind == "hex":
            value = _hex(raw)
        elif kind == "name":
            value = raw.decode()
        elif kind == "open":
            arrays.append([])
            continue
        elif kind == "close":
            value = arrays.pop()
        elif kind == "dict":
            continue
        else:  # an operator
            op = raw.decode()
            nums = [v for v in operands if isinstance(v, float)]
            if op == "q":
                stack.append((ctm.copy(), width, dash, colour, fill))
            elif op == "Q":
                ctm, width, dash, colour, fill = stack.pop()
            elif op == "cm":
                ctm = _times(np.array(nums[-6:]), ctm)
            elif op == "w":
                width = nums[-1] * float(np.hypot(ctm[0], ctm[1]))
            elif op == "d":
                dash = tuple(next(v for v in operands if isinstance(v, list)))
            elif op == "RG":
                colour = tuple(nums[-3:])
            elif op == "rg":
                fill = tuple(nums[-3:])
            elif op in ("G", "g"):  # grey
                grey = (nums[-1],) * 3
                colour, fill = (grey, fill) if op == "G" else (colour, grey)
            elif op == "m":
                subpaths.append([_apply(ctm, *nums[-2:])])
            elif op == "l":
                subpaths[-1].append(_apply(ctm, *nums[-2:]))
            elif op == "c":
                subpaths[-1].append(_apply(ctm, *nums[-2:]))  # the end point of a curve is enough here
            elif op == "re":
                x, y, w, h = nums[-4:]
                subpaths.append([_apply(ctm, x, y), _apply(ctm, x + w, y), _apply(ctm, x + w, y + h),
                                 _apply(ctm, x, y + h), _apply(ctm, x, y)])
            elif op in ("S", "s", "f", "f*", "F", "B", "B*", "b", "b*"):
                paint = "S" if op in ("S", "s") else "f"
                paths.append(Path([np.array(p, float) for p in subpaths], paint, width, dash, colour, fill))
                subpaths = []
            elif op == "n":
                subpaths = []
            elif op == "BT":
                text = []
            elif op == "ET":
                texts.append("".join(text or []))
                text = None
            elif op == "Tf":
                font = fonts.get(next(v for v in operands if isinstance(v, str)), {})
            elif op in ("Tj", "'", '"') and text is not None:
                text.append(decoded(next(v for v in reversed(operands) if isinstance(v, str))))
            elif op == "TJ" and text is not None:
                text.append("".join(decoded(v) for v in operands[-1] if isinstance(v, str)))
            operands = []
            continue
        (arrays[-1] if arrays else operands).append(value)
    return paths, texts


def read_page(data: bytes) -> Page:
    """The one page of a PDF made by matplotlib: size, ``/Info`` metadata, paths and text."""
    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data)
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    contents = int(re.search(rb"/Type /Page\b.*?/Contents (\d+) 0 R", data, re.S).group(1))
    paths, texts = _interpret(_streams(data)[contents], _fonts(data))
    return Page(x1 - x0, y1 - y0, _info(data), paths, texts)
