"""Archives on object storage: list the records under a URI, fetch one record's files to a local folder.

``l2g reconstruct s3://bucket/archive --engine ray --out DIR`` reads the archive where it lies. Any
location :func:`pyarrow.fs.FileSystem.from_uri` opens works — ``s3://``, ``gs://``, ``abfs://``,
``hdfs://`` — the file systems Ray Data itself reads. File-system options go in the URI's query,
as Arrow defines them (``s3://bucket/prefix?region=eu-west-1``;
``s3://bucket/prefix?endpoint_override=http%3A%2F%2Fminio%3A9000`` for MinIO or another
S3-compatible store); credentials come from the environment the cloud SDKs read
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, an instance role, ``GOOGLE_APPLICATION_CREDENTIALS``).

Which objects are records is the catalogue's rule (:func:`l2g.catalog.is_record_file`): the name;
for a ``.csv`` or a cart export the content, judged on its first 64 KiB, fetched; a
``<name>_band.hea`` beside ``<name>.hea`` is a band, not a record. A record's files are its main
object and the objects beside it with its stem and a companion suffix its reader declares
(:class:`l2g.io._raw.Reader`'s ``companions``: ``rec.hea`` with ``rec.dat`` or ``rec.mat``; annotation
files such as ``rec.atr`` stay where they are): each worker fetches them
into a temporary folder, reads the record there and deletes them (:func:`fetch`), so no node holds
more of the archive than the records it is working on.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["RemoteRecord", "is_remote", "open_location", "list_records", "fetch"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HEAD_BYTES = 64 * 1024  # what the content rules of the catalogue read at most
_CHUNK = 1 << 20


def is_remote(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a URI (``s3://...``) rather than a local path.

    Examples
    --------
    >>> is_remote("s3://bucket/archive"), is_remote("../shared/data"), is_remote(Path("/data"))
    (True, False, False)
    """
    return isinstance(location, str) and bool(_SCHEME.match(location))


def open_location(uri: str):
    """The file system and the path within it of a URI.

    Returns
    -------
    (pyarrow.fs.FileSystem, str)

    Raises
    ------
    ValueError
        When Arrow cannot open the URI (unknown scheme, bad query option), naming it.
    """
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError, TypeError) as exc:  # pyarrow raises ArrowInvalid (a ValueError) or OSError
        raise ValueError(f"{uri}: not a location Arrow's file systems open ({exc}); e.g. s3://bucket/folder, "
                         "gs://bucket/folder, with options as ?region=...&endpoint_override=...") from exc


@dataclass(frozen=True)
class RemoteRecord:
    """One record of a remote archive.

    Attributes
    ----------
    rel : str
        The record's main file relative to the archive root (``ludb/1.hea``).
    files : tuple of str
        Every object of the record relative to the root, the main file first.
    """

    rel: str
    files: tuple[str, ...]


def _read_head(fs, path: str, limit: int = _HEAD_BYTES) -> bytes:
    with fs.open_input_stream(path) as fh:
        return fh.read(limit)


def _companion_suffixes(suffix: str) -> set[str]:
    """The companion suffixes (``.dat``, ``.mat`` for ``.hea``) of the readers that read ``suffix``."""
    from .io._registry import readers

    return {c for r in readers() if suffix in r.suffixes for c in r.companions}


def list_records(uri: str) -> list[RemoteRecord]:
    """The records under ``uri`` by the catalogue's rule, sorted by relative path.

    Raises
    ------
    ValueError
        When the location cannot be opened or is not a folder (prefix) there.
    """
    import pyarrow.fs as pafs

    from .catalog import cart_suffixes, is_record_file, record_suffixes

    fs, root = open_location(uri)
    root = root.rstrip("/")
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise ValueError(f"{uri}: nothing there (no object under this prefix)")
    if info.type == pafs.FileType.File:
        raise ValueError(f"{uri}: an object, not a folder; give the folder (prefix) that holds the records")
    objects = sorted(i.path[len(root) + 1:] for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
                     if i.type == pafs.FileType.File)
    objects = [o for o in objects if not any(part.startswith(".") for part in o.split("/"))]
    by_stem: dict[tuple[str, str], list[str]] = {}
    for o in objects:
        p = PurePosixPath(o)
        by_stem.setdefault((str(p.parent), p.stem), []).append(o)
    present = set(objects)
    suffixes, carts = record_suffixes(), cart_suffixes()
    found = []
    with tempfile.TemporaryDirectory(prefix="l2g_remote_") as tmp:
        for o in objects:
            p = PurePosixPath(o)
            suffix = p.suffix.lower()
            if suffix not in suffixes:
                continue
            content = None
            if suffix == ".csv" or suffix in carts:  # judged by content: its first 64 KiB, fetched
                content = Path(tmp) / p.name
                content.write_bytes(_read_head(fs, f"{root}/{o}"))
            if is_record_file(Path(o), content=content, exists=lambda q: q.as_posix() in present,
                              suffixes=suffixes, carts=carts):
                extra = _companion_suffixes(suffix)
                companions = [f for f in by_stem[(str(p.parent), p.stem)]
                              if f != o and PurePosixPath(f).suffix.lower() in extra]
                found.append(RemoteRecord(o, (o, *companions)))
    return found


def fetch(uri: str, files: Sequence[str], dest: str | os.PathLike[str]) -> list[Path]:
    """Copy a record's objects (relative to ``uri``) into ``dest``, keeping their relative paths.

    Returns
    -------
    list of Path
        The local copies, in the order of ``files`` (the main file first).

    Raises
    ------
    OSError
        When an object cannot be read (the message names it).
    """
    fs, root = open_location(uri)
    root = root.rstrip("/")
    out = []
    for rel in files:
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with fs.open_input_stream(f"{root}/{rel}") as src, open(target, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
        except OSError as exc:
            raise OSError(f"{uri.split('?')[0].rstrip('/')}/{rel}: could not be fetched ({exc})") from exc
        out.append(target)
    return out
