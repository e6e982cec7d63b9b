"""Exports of a record: WFDB, CSV, DICOM, and chart images (no Streamlit here).

One export path: :func:`write_export` assembles every export of a record (the files of a format, their
provenance and band), and everything else calls it - the CLI (``l2g reconstruct --out``, into its folder),
the library (:func:`write_export`, :func:`export_record` for bytes) and the dashboard (the download
buttons, through the byte helpers below). The same record and options give the same bytes everywhere
(DICOM: apart from its new UIDs; ``tests/test_app_export.py``).

* :func:`wfdb_zip_bytes` - the record as WFDB (``.hea`` + ``.dat``) in a zip;
  generated leads are marked in the header by :func:`l2g.io.write_wfdb`. A record
  with a band (``record.interval``) gets the companion record ``<name>_band``
  (:func:`write_band_wfdb`) beside it in the zip.
* :func:`csv_bytes` - the record as CSV (``# L2G:`` provenance lines first, generated
  columns named ``<lead>_generated``; with ``band=True`` two more columns per
  generated lead, ``<lead>_low`` and ``<lead>_high``, :func:`band_columns`).

The band is always written beside the signal, never into it: readers
(:func:`l2g.io.read_record`) ignore the band columns and the ``_band`` record.
* :func:`dicom_bytes` - the record as a DICOM 12-Lead (or General) ECG waveform object
  (:func:`l2g.io.dicom.write_dicom`; generated leads marked in channel labels and annotations),
  optionally de-identified.
* :func:`figure_images` - a Plotly figure as PNG and/or PDF through kaleido 1.x,
  which drives a Chromium-family browser. :func:`browser_path` finds one
  (``BROWSER_PATH``, then ``chromium``, ``chromium-browser``, ``google-chrome``
  on ``PATH``); without one, :class:`ImageExportUnavailable` is raised with a
  message the dashboard shows as it is.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .band import BAND_RECORD_SUFFIX, BAND_SUFFIXES, is_band_record
from .io.wfdb import provenance_lines
from .record import GENERATED, Record

__all__ = [
    "EXPORT_FORMATS",
    "write_export",
    "export_record",
    "IMAGE_FORMATS",
    "ImageExportUnavailable",
    "browser_path",
    "safe_name",
    "wfdb_zip_bytes",
    "csv_bytes",
    "dicom_bytes",
    "provenance_lines",
    "figure_images",
    "BAND_SUFFIXES",
    "band_columns",
    "band_parts",
    "csv_parts",
    "write_band_wfdb",
    "is_band_record",
]

#: Formats of :func:`write_export`.
EXPORT_FORMATS: tuple[str, ...] = ("wfdb", "csv", "dicom")
IMAGE_FORMATS: tuple[str, ...] = ("png", "pdf")
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ImageExportUnavailable(RuntimeError):
    """Chart images cannot be made here (no browser for kaleido, or kaleido failed)."""


def safe_name(name: str) -> str:
    """A file-name-safe version of a record name (letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^-\w]", "_", name).strip("_") or "record"


def write_export(record: Record, fmt: str, directory: str | os.PathLike[str], *, name: str | None = None,
                 deidentify: bool = False, band: bool = True) -> list[Path]:
    """Write the export of ``record`` as ``fmt`` into ``directory``: the one export path of L2G.

    ``"wfdb"``: ``<name>.hea`` + ``<name>.dat`` (:func:`l2g.io.write_wfdb`; generated
    leads and their provenance in ``L2G:`` header comments). ``"csv"``: ``<name>.csv``
    (:func:`l2g.io.write_csv`) starting with the :func:`provenance_lines` as ``# L2G:``
    lines (model version, "generated leads are estimates"); generated columns
    ``<lead>_generated``. ``"dicom"``: ``<name>.dcm`` (:func:`l2g.io.dicom.write_dicom`;
    generated leads in channel labels and annotations).

    A record with a band (``record.interval``) and a generated lead gets it beside
    the signal, never in it (``band=False``: not at all): CSV columns ``<lead>_low`` and
    ``<lead>_high`` after the signal's (:func:`band_columns`) and a ``# L2G: band``
    line; WFDB and DICOM the companion WFDB record ``<name>_band``
    (:func:`write_band_wfdb`).

    Parameters
    ----------
    record : Record
    fmt : {"wfdb", "csv", "dicom"}
    directory : str or Path
        Created if missing.
    name : str, optional
        File stem; default ``record.name``, made file-safe by :func:`safe_name`.
    deidentify : bool
        No patient name, identifiers or birth date (age and sex kept), and a line saying so.
    band : bool

    Returns
    -------
    list of Path
        The files written, the record's own first (WFDB: ``.hea`` then ``.dat``), then the band's.

    Raises
    ------
    ValueError
        For an unknown format, a record the format cannot hold (DICOM: a rate outside
        200-1000 Hz), or no present lead.

    Examples
    --------
    >>> import l2g, tempfile
    >>> from l2g.demo import demo_record
    >>> full = l2g.reconstruct(demo_record(), ["I", "II", "V2"], method="linear", interval=0.9)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_export(full, "csv", tmp)], [p.name for p in write_export(full, "wfdb", tmp)]
    (['demo.csv'], ['demo.hea', 'demo.dat', 'demo_band.hea', 'demo_band.dat'])
    """
    from .io import write_csv, write_wfdb
    from .io.dicom import write_dicom

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r} is not known; expected one of {', '.join(EXPORT_FORMATS)}")
    stem = safe_name(name if name is not None else record.name)
    out = Path(directory)
    banded = band and record.interval is not None and bool(_band_rows(record))
    if fmt == "csv":
        columns, lines = csv_parts(record, banded)
        return [write_csv(record, out / f"{stem}.csv", deidentify=deidentify, columns=columns, comments=lines)]
    if fmt == "dicom":
        out.mkdir(parents=True, exist_ok=True)
        written = [write_dicom(record, out / f"{stem}.dcm", deidentify=deidentify)]
    else:
        hea = write_wfdb(record, out, stem, deidentify=deidentify)
        written = [hea, hea.with_suffix(".dat")]
    if banded:  # the band record carries no identity (lead names, coverage, provenance only)
        band_hea = write_band_wfdb(record, out, stem)
        written += [band_hea, band_hea.with_suffix(".dat")]
    return written


def csv_parts(record: Record, banded: bool) -> tuple[dict[str, np.ndarray] | None, list[str]]:
    """The extra columns (the band, when ``banded``) and the comment lines of ``record``'s CSV export.

    What :func:`write_export` passes to :func:`l2g.io.write_csv`; :mod:`l2g.stream` writes a long
    record's CSV chunk by chunk with the same parts.
    """
    lines = provenance_lines(record)
    if banded:
        lines.append("L2G: band: columns <lead>_low and <lead>_high are the edges of the confidence band of "
                     "each generated lead (mV), not leads")
    return (band_columns(record) if banded else None), lines


def export_record(record: Record, fmt: str, *, name: str | None = None, deidentify: bool = False,
                  band: bool = True) -> dict[str, bytes]:
    """:func:`write_export` as bytes: ``{file name: bytes}``, the record's own file first (for downloads).

    Parameters are those of :func:`write_export`; the files go through a private
    temporary folder that is removed before returning.

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> files = export_record(l2g.reconstruct(demo_record(), ["I", "II"], method="linear"), "csv")
    >>> list(files), files["demo.csv"].splitlines()[0].decode()[:31]
    (['demo.csv'], '# L2G: lead status: I=recorded,')
    """
    with tempfile.TemporaryDirectory(prefix="l2g-export-") as tmp:
        return {p.name: p.read_bytes()
                for p in write_export(record, fmt, tmp, name=name, deidentify=deidentify, band=band)}


def wfdb_zip_bytes(record: Record, name: str | None = None, *, deidentify: bool = False,
                   band: bool = True) -> bytes:
    """The ``"wfdb"`` :func:`export_record` files in a zip: ``<name>.hea``, ``<name>.dat`` and the band's.

    Parameters
    ----------
    record : Record
        Generated leads are marked in the header comments (``L2G: lead status``).
    name : str, optional
        Record name inside the zip; default ``record.name`` made file-safe.
    deidentify : bool
        Write no patient name, identifiers or birth date (:func:`l2g.io.write_wfdb`).
    band : bool
        When the record has a band (``record.interval``) and a generated lead,
        also write the companion record ``<name>_band.hea`` / ``.dat``
        (:func:`write_band_wfdb`); the signal record is the same either way.

    Returns
    -------
    bytes
        A zip archive; :func:`l2g.io.read_record` reads it back directly (the
        signal record; the ``_band`` record beside it is not read as leads).
    """
    files = export_record(record, "wfdb", name=name, deidentify=deidentify, band=band)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file_name in sorted(files):
            zf.writestr(file_name, files[file_name])
    return buf.getvalue()


def csv_bytes(record: Record, *, deidentify: bool = False, band: bool = False) -> bytes:
    """The ``"csv"`` :func:`export_record` file: ``# L2G:`` provenance lines, ``time_s``, one column per lead (mV).

    When the record holds generated leads, the file starts with the
    :func:`provenance_lines` as ``# `` comments (lead status, generated leads, from
    which leads by which model); :func:`l2g.io.read_record` reads them back, and
    ``pandas.read_csv(..., comment="#")`` skips them. Generated columns are named
    ``<lead>_generated``. ``deidentify`` adds the line ``# L2G: de-identified by L2G-ECG``
    (a CSV holds no name, identifier or birth date in any case).

    With ``band=True`` and a record that has a band (``record.interval``), the
    :func:`band_columns` follow the signal columns (``V1_low``, ``V1_high``, ... mV)
    and a ``# L2G: band`` line says what they are; :func:`l2g.io.read_record`
    ignores them (the signal reads back the same). Without a band nothing is added.

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> full = l2g.reconstruct(demo_record(), ["I", "II", "V2"], method="linear", interval=0.9)
    >>> header = next(line for line in csv_bytes(full, band=True).decode().splitlines() if line.startswith("time_s"))
    >>> header.split(",")[-2:]
    ['V6_low', 'V6_high']
    """
    (data,) = export_record(record, "csv", deidentify=deidentify, band=band).values()
    return data


def dicom_bytes(record: Record, *, deidentify: bool = False) -> bytes:
    """The ``.dcm`` file of the ``"dicom"`` :func:`export_record` (the signal; no band).

    Parameters
    ----------
    record : Record
        Generated leads are labelled ``"<lead> (GENERATED)"`` and named in ``L2G:`` annotations.
    deidentify : bool
        Write no patient name, ID or birth date (see :func:`l2g.io.dicom.write_dicom`).

    Returns
    -------
    bytes
        A DICOM Part 10 file; :func:`l2g.io.dicom.read` reads it back.

    Raises
    ------
    ValueError
        A sampling rate outside 200-1000 Hz, or no present lead.
    """
    (data,) = export_record(record, "dicom", deidentify=deidentify, band=False).values()
    return data


def browser_path() -> str | None:
    """The Chromium-family browser kaleido will use, or None when there is none."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).exists() else None
    for exe in _BROWSERS:
        found = shutil.which(exe)
        if found:
            return found
    return None


async def _render(fig_dict: dict, formats: Sequence[str], width: int, height: int, scale: float) -> dict[str, bytes]:
    import kaleido

    out: dict[str, bytes] = {}
    async with kaleido.Kaleido(n=1) as k:  # one browser for every format
        for fmt in formats:
            out[fmt] = await k.calc_fig(fig_dict, opts=dict(format=fmt, width=width, height=height, scale=scale))
    return out


def figure_images(fig, formats: Sequence[str] = IMAGE_FORMATS, *, width: int = 1600, height: int | None = None,
                  scale: float = 2.0) -> dict[str, bytes]:
    """Render a Plotly figure to image bytes with kaleido (one browser session).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    formats : sequence of {"png", "pdf", "svg", "jpeg", "webp"}
    width, height : int
        Size in layout pixels; ``height`` defaults to the figure's own height
        scaled to ``width``.
    scale : float
        Pixel density for raster formats.

    Returns
    -------
    dict of str to bytes
        ``{format: bytes}``.

    Raises
    ------
    ImageExportUnavailable
        When no Chromium-family browser is installed, or kaleido fails.
    """
    path = browser_path()
    if path is None:
        raise ImageExportUnavailable(
            "PNG/PDF export needs a Chromium browser for kaleido and none was found "
            "(install Debian's `chromium` or set BROWSER_PATH); WFDB and CSV export work without it."
        )
    os.environ.setdefault("BROWSER_PATH", path)  # kaleido 1.x finds the browser through choreographer
    if height is None:
        fig_h = fig.layout.height or 600
        fig_w = fig.layout.width or 1100
        height = int(round(fig_h * width / fig_w))
    fig_dict = fig.to_plotly_json()
    try:
        return asyncio.run(_render(fig_dict, tuple(formats), int(width), int(height), float(scale)))
    except Exception as exc:  # noqa: BLE001 - kaleido/choreographer raise many types; the app shows a note
        raise ImageExportUnavailable(f"PNG/PDF export failed ({type(exc).__name__}: {exc})") from exc


def _band_rows(record: Record) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(lead, low, high)`` for every generated lead with a band, canonical order."""
    rec = record.standardize()
    if rec.interval is None:
        raise ValueError(f"{record.name}: the record has no band; reconstruct it with interval=0.9 first")
    low, high = rec.interval
    return [(lead, low[i], high[i]) for i, lead in enumerate(rec.leads)
            if rec.status[i] == GENERATED and np.isfinite(low[i]).all() and np.isfinite(high[i]).all()]


def band_columns(record: Record) -> dict[str, np.ndarray]:
    """The band as extra CSV columns: ``{"V1_low": ..., "V1_high": ...}`` per generated lead (mV).

    Append them after the signal columns of :func:`l2g.io.write_csv`;
    :func:`l2g.io.read_record` ignores columns that are not lead names, so a
    file with a band reads back as the same signal.

    Raises
    ------
    ValueError
        When the record has no band (``record.interval is None``).

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> full = l2g.reconstruct(demo_record(), ["I", "II", "V2"], method="linear", interval=0.9)
    >>> list(band_columns(full))[:2]
    ['III_low', 'III_high']
    """
    out: dict[str, np.ndarray] = {}
    for lead, low, high in _band_rows(record):
        out[lead + BAND_SUFFIXES[0]] = low
        out[lead + BAND_SUFFIXES[1]] = high
    return out


def write_band_wfdb(record: Record, directory: str | os.PathLike[str], name: str | None = None) -> Path:
    """Write the band as a companion WFDB record ``<name>_band`` beside the signal's.

    Two signals per generated lead, ``<lead>_low`` and ``<lead>_high`` (mV,
    format 16 or 32 with the gain rule of :func:`l2g.io.write_wfdb`); the header
    comments say which record and which coverage they belong to. The signal
    record itself is written unchanged by :func:`l2g.io.write_wfdb`: the band is
    never mixed into it.

    Parameters
    ----------
    record : Record
        A reconstruction with ``interval`` set.
    directory : str or Path
    name : str, optional
        The signal record's name (default ``record.name``); the band is ``<name>_band``.

    Returns
    -------
    Path
        The written ``<name>_band.hea``.

    Raises
    ------
    ValueError
        When the record has no band, or no generated lead.
    """
    from .io.wfdb import write_mv_signals

    stem, names, data, comments = band_parts(record, name)
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_mv_signals(stem, out_dir, record.fs, names, data, comments, what=f"{record.name} band")


def band_parts(record: Record, name: str | None = None) -> tuple[str, list[str], np.ndarray, list[str]]:
    """What :func:`write_band_wfdb` writes: ``(record name, signal names, signals (2 x generated leads,
    samples) in mV as float64, header comments)``; :mod:`l2g.stream` writes a long record's band with them.

    Raises
    ------
    ValueError
        When the record has no band, or no generated lead.
    """
    rows = _band_rows(record)
    if not rows:
        raise ValueError(f"{record.name}: no generated lead with a band to write")
    stem = safe_name(name if name is not None else record.name) + BAND_RECORD_SUFFIX
    names, data = [], []
    for lead, low, high in rows:
        names += [lead + BAND_SUFFIXES[0], lead + BAND_SUFFIXES[1]]
        data += [low, high]
    prov = record.meta.provenance
    comments = [f"L2G: band of record {stem[: -len(BAND_RECORD_SUFFIX)]}",
                "L2G: low and high edge per generated lead, mV; see l2g.uncertainty"]
    if prov is not None:
        comments.append(f"L2G: from {','.join(prov.available)} by {prov.method} {prov.model_version}")
    return stem, names, np.asarray(data, np.float64), comments
