"""Which weights file is this: its SHA-256, its ``SHA256SUMS`` line, and the version string outputs carry.

A generator is named ``<file name>@<12 hex digits of its SHA-256>`` (:func:`weights_version`) in
every reconstruction's provenance and in every file fitted to it (``interval.json``'s ``model``);
:func:`same_weights` compares two such names by content. Shipped files are checked against
``weights/SHA256SUMS`` before they are loaded (:func:`verify_checksum`). Nothing here loads a model:
:mod:`l2g.reconstruction`, :mod:`l2g.uncertainty` and :mod:`l2g.leadnet` all sit above this module.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256", "verify_checksum", "read_verified_json", "weights_version", "same_weights"]


def verify_checksum(path: str | Path) -> str | None:
    """Check a weights file against the ``SHA256SUMS`` file beside it (``sha256sum`` format).

    Returns
    -------
    str or None
        The file's SHA-256, or None when no ``SHA256SUMS`` lists it (a
        user-trained file).

    Raises
    ------
    ValueError
        When the file is listed and its checksum differs (corrupt or replaced).
    """
    p = Path(path)
    sums = p.parent / "SHA256SUMS"
    if not sums.exists():
        return None
    expected = None
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == p.name:
            expected = parts[0].lower()
    if expected is None:
        return None
    actual = file_sha256(p)
    if actual != expected:
        raise ValueError(f"checksum mismatch: SHA-256 {actual[:12]}… but {sums.name} records {expected[:12]}…")
    return actual


def read_verified_json(path: str | Path) -> dict:
    """A shipped JSON file (a calibration) checked against ``SHA256SUMS`` (:func:`verify_checksum`), parsed.

    Raises
    ------
    OSError
        When the file cannot be read.
    ValueError
        When its checksum differs or it is not JSON (:class:`json.JSONDecodeError` is a ValueError).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "c.json").write_text('{"model": "l2g.pt@0123456789ab"}')
    ...     read_verified_json(Path(tmp) / "c.json")["model"]
    'l2g.pt@0123456789ab'
    """
    import json

    verify_checksum(path)
    return json.loads(Path(path).read_text())


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_version(path: str | Path) -> str:
    """The name of a weights file wherever its outputs are described: ``<file name>@<SHA-256, 12 hex digits>``.

    :attr:`l2g.reconstruction.Reconstructor.version`, the provenance of every reconstruction and every file fitted to a
    generator (``interval.json``'s ``model``) use it; :func:`same_weights` compares two.

    Parameters
    ----------
    path : path
        A weights file (``l2g.pt``, ``linear.pt``).

    Returns
    -------
    str
        E.g. ``"l2g.pt@66d7d7843eb2"``.
    """
    p = Path(path)
    return f"{p.name}@{file_sha256(p)[:12]}"


def same_weights(a: str | None, b: str | None) -> bool:
    """Whether two :func:`weights_version` strings name the same file content (the digests; names may differ).

    Examples
    --------
    >>> same_weights("l2g.pt@66d7d7843eb2", "copy.pt@66d7d7843eb2"), same_weights("l2g.pt@66d7d7843eb2", None)
    (True, False)
    >>> same_weights("l2g.pt@66d7d7843eb2", "l2g.pt@e0485c1a6204")
    False
    """
    if not a or not b or "@" not in a or "@" not in b:
        return False
    return a.rpartition("@")[2] == b.rpartition("@")[2]
