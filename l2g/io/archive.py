"""Browser uploads and zip archives: written only to a private temporary directory; zip bombs
and unsafe paths refused."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..band import is_band_record
from ..record import Record
from ._common import (
    _ZIP_MAGIC,
    SeveralRecords,
    _magic,
)
from ._dispatch import _read_path, sniff_format
from ._raw import Reader
from ._registry import reader

#: Largest total size of an upload or of a zip's uncompressed content (bytes).
MAX_UPLOAD_BYTES: int = 200 * 1024 * 1024
#: Largest uncompressed/compressed size ratio of one zip entry (bigger entries are zip bombs).
MAX_ZIP_RATIO: float = 200.0
#: Largest number of files in an uploaded zip.
MAX_ZIP_ENTRIES: int = 1000


# ================================================================= uploads
def _as_uploads(source: Any) -> list[tuple[str, bytes]] | None:
    """The uploads in ``source`` as (name, bytes) pairs, or None if ``source`` is a path."""
    if isinstance(source, (str, os.PathLike)):
        return None
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise ValueError("raw bytes without a file name; expected [(filename, bytes)] so the format is known")
    if hasattr(source, "getvalue") and hasattr(source, "name"):
        source = [source]
    elif (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str)
          and isinstance(source[1], (bytes, bytearray, memoryview))):
        source = [source]
    if not isinstance(source, Iterable):
        raise ValueError(f"cannot read {type(source).__name__}; expected a path or a list of "
                         "(filename, bytes) uploads")
    out: list[tuple[str, bytes]] = []
    for item in source:
        if hasattr(item, "getvalue") and hasattr(item, "name"):
            out.append((str(item.name), bytes(item.getvalue())))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            fname, data = item
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise ValueError(f"upload {fname!r}: content is {type(data).__name__}; expected bytes")
            out.append((str(fname), bytes(data)))
        else:
            raise ValueError(f"upload item {item!r} is not valid; expected (filename, bytes) "
                             "or an object with .name and .getvalue()")
    if not out:
        raise ValueError("no files uploaded; expected a record (.hea + .dat/.mat, .edf, .csv, .h5 or .zip)")
    return out


def _safe_basename(fname: str) -> str:
    base = re.split(r"[\\/]", fname)[-1].strip()
    if base in ("", ".", "..") or "\x00" in base:
        raise ValueError(f"upload {fname!r}: not a usable file name; expected a plain file name")
    return base


def _read_uploads(uploads: list[tuple[str, bytes]], read: Any, *, fs: float | None, nan_policy: str,
                  name: str | None) -> Record:
    """Write ``uploads`` to a private temporary directory and ``read(main_file, fs=, nan_policy=, name=)``."""
    total = sum(len(data) for _, data in uploads)
    if total > MAX_UPLOAD_BYTES:
        more = f" and {len(uploads) - 3} more" if len(uploads) > 3 else ""
        names = ", ".join(name for name, _ in uploads[:3]) + more
        raise ValueError(f"upload {names}: {total} bytes in all; expected at most {MAX_UPLOAD_BYTES} bytes")
    with tempfile.TemporaryDirectory(prefix="l2g-upload-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o700)
        seen: set[str] = set()
        for fname, data in uploads:
            base = _safe_basename(fname)
            if base in seen:
                raise ValueError(f"uploads: two files named {base!r}; expected distinct file names")
            seen.add(base)
            (root / base).write_bytes(data)
        files = sorted(root.iterdir())
        zips = [p for p in files if p.suffix.lower() == ".zip"]
        if len(files) == 1 and _magic(files[0], 4) == _ZIP_MAGIC:
            zips = files
        if zips:
            if len(files) > 1:
                raise ValueError(f"uploads: a zip together with other files ({', '.join(p.name for p in files)});"
                                 " expected one zip or the record's files")
            inner = root / "unzipped"
            inner.mkdir(mode=0o700)
            _extract_zip(zips[0], inner)
            files = sorted(p for p in inner.iterdir() if p.is_file())
        main = _pick_main(files, what="uploads")
        _refuse_nested_zip(main)
        prefix = str(main.parent) + os.sep
        try:
            rec = read(main, fs=fs, nan_policy=nan_policy, name=name or main.stem)
        except ValueError as exc:
            # the private temporary path means nothing to the user
            raise type(exc)(str(exc).replace(prefix, "")) from None
        return _strip_from_notes(rec, prefix)


def _strip_from_notes(rec: Record, prefix: str) -> Record:
    """``rec`` with ``prefix`` (a private temporary folder) removed from its notes."""
    notes = tuple(n.replace(prefix, "") for n in rec.meta.notes)
    return rec if notes == rec.meta.notes else rec.replace(meta=dataclasses.replace(rec.meta, notes=notes))


def _extract_zip(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest`` by basename, refusing unsafe paths and zip bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{archive.name}: not a readable zip file ({exc}); expected a .zip archive") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        for info in infos:
            parts = re.split(r"[\\/]", info.filename)
            if info.filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", info.filename) or ".." in parts:
                raise ValueError(f"{archive.name}: entry {info.filename!r} has an absolute or parent path; "
                                 "expected plain relative names")
        infos = [i for i in infos if not i.filename.startswith("__MACOSX")
                 and not _safe_basename(i.filename).startswith(".")]
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ValueError(f"{archive.name}: {len(infos)} files; expected at most {MAX_ZIP_ENTRIES}")
        declared = sum(i.file_size for i in infos)
        if declared > MAX_UPLOAD_BYTES:
            raise ValueError(f"{archive.name}: {declared} bytes uncompressed; expected at most "
                             f"{MAX_UPLOAD_BYTES} bytes")
        written = 0
        seen: set[str] = set()
        for info in infos:
            base = _safe_basename(info.filename)
            if base in seen:
                raise ValueError(f"{archive.name}: two entries named {base!r}; expected distinct file names")
            seen.add(base)
            if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ValueError(
                    f"{archive.name}: entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}"
                    f"-fold; expected a compression ratio below {MAX_ZIP_RATIO:.0f} (zip bomb?)"
                )
            size = 0
            try:
                with zf.open(info) as src, open(dest / base, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        size += len(chunk)
                        written += len(chunk)
                        if size > info.file_size or written > MAX_UPLOAD_BYTES:
                            raise ValueError(f"{archive.name}: entry {info.filename!r} is larger than declared; "
                                             "expected an intact archive (zip bomb?)")
                        dst.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
                raise ValueError(f"{archive.name}: cannot extract {info.filename!r} ({exc}); "
                                 "expected an unencrypted, intact zip") from exc


def _refuse_nested_zip(path: Path) -> None:
    if path.suffix.lower() == ".zip" or _magic(path, 4) == _ZIP_MAGIC:
        raise ValueError(f"{path.name}: a zip inside a zip; expected the record's files directly in the zip")


def _pick_main(files: Sequence[Path], *, what: str) -> Path:
    """The file to read among uploaded/unzipped files: .hea > .h5 > .edf > .csv."""
    by_kind: dict[str, list[Path]] = {}
    hdf5, edf, csv, wfdb = (reader(n).all_suffixes for n in ("hdf5", "edf", "csv", "wfdb"))
    for p in files:
        ext = p.suffix.lower()
        kind = ("hea" if ext == ".hea" else "hdf5" if ext in hdf5 else "edf" if ext in edf
                else "csv" if ext in csv else "mat" if ext in wfdb else "other")
        by_kind.setdefault(kind, []).append(p)
    # a band record NAME_band.hea beside NAME.hea (l2g.export.wfdb_zip_bytes) is not a second record
    heas = [p for p in by_kind.pop("hea", []) if not is_band_record(p)]
    if heas:
        by_kind["hea"] = heas
    for kind in ("hea", "hdf5", "edf"):
        if kind in by_kind:
            if len(by_kind[kind]) > 1:
                raise SeveralRecords(f"{what}: several records ({', '.join(p.name for p in by_kind[kind])}); "
                                 "expected one record per upload")
            return by_kind[kind][0]
    csvs = [p for p in by_kind.get("csv", []) if p.name.lower() != "metadata.csv"] or by_kind.get("csv", [])
    if len(csvs) == 1:
        return csvs[0]
    if len(csvs) > 1:
        raise SeveralRecords(f"{what}: several CSV files ({', '.join(p.name for p in csvs)}); expected one record")
    if "mat" in by_kind:
        raise ValueError(f"{what}: {by_kind['mat'][0].name} without its .hea header; "
                         "expected the .hea uploaded together with the .dat/.mat")
    claimed = [p for p in by_kind.get("other", []) if sniff_format(p) not in (None, "csv")]
    if len(claimed) == 1:
        return claimed[0]  # a cart export (.xml, .scp, .ecg...) recognised by its content
    if len(claimed) > 1:
        raise SeveralRecords(f"{what}: several records ({', '.join(p.name for p in claimed)}); "
                         "expected one record per upload")
    if len(files) == 1:
        return files[0]  # unknown extension: let content sniffing decide
    names = ", ".join(p.name for p in files) or "nothing"
    raise ValueError(f"{what}: no record found among {names}; expected .hea + .dat/.mat, .edf, .csv, .h5 or .zip")




def sniff(head: bytes, path: Path) -> bool:
    """Whether ``head`` starts a zip archive (local file header ``PK\\x03\\x04``)."""
    return head[:4] == _ZIP_MAGIC


def load(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    """Extract the zip ``path`` into a private temporary directory and read the record in it.

    The record's main file is chosen by :func:`_pick_main` (by extension, else by content).
    """
    with tempfile.TemporaryDirectory(prefix="l2g-zip-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o700)
        _extract_zip(path, root)
        main = _pick_main(sorted(p for p in root.iterdir() if p.is_file()), what=path.name)
        _refuse_nested_zip(main)
        prefix = str(root) + os.sep
        try:
            rec = _read_path(main, fs=fs, nan_policy=nan_policy, name=name or main.stem)
        except ValueError as exc:
            raise type(exc)(f"{path.name}: " + str(exc).replace(prefix, "")) from None
        return _strip_from_notes(rec, prefix)


READER = Reader(name="archive", kind="zip", suffixes=(".zip",), sniff=sniff, read=None, open=load)
