"""The one list of formats: the reader modules of :mod:`l2g.io`, in the order they are tried.

Each module ends with ``READER = Reader(...)`` (:class:`l2g.io._raw.Reader`: name, kind, suffixes,
``sniff``, ``read``). Everything that lists formats reads them here: the dispatcher
(:mod:`l2g.io._dispatch`), the catalogue's suffixes (:mod:`l2g.catalog`), the uploader's file types
(:func:`dashboard.loading.upload_types`), the CLI help and the table in docs/DATA.md
(``python -m l2g.devtools formats``). A new format is one module added to :data:`READER_MODULES`
(plus its test); :func:`register` adds one at run time.

The modules are imported by name when first listed (a zip's reader reads through the dispatcher,
which lists the readers), so this module imports none of them.
"""

from __future__ import annotations

import importlib

from ._raw import Reader

__all__ = ["READER_MODULES", "readers", "reader", "register", "unregister", "record_suffixes",
           "cart_suffixes", "upload_suffixes", "formats_table"]

#: Reader modules in the order their ``sniff`` is tried: cart and PACS formats first, then the generic
#: ones; ``csvfile`` (any text) last. ``wfdb`` has no sniff: it is chosen by its ``.hea``.
READER_MODULES: tuple[str, ...] = ("dicom", "scp", "ishne", "aecg", "philips", "muse", "cardiosoft",
                                   "hdf5", "archive", "edf", "csvfile", "wfdb")
_added: list[Reader] = []  # register()


def readers() -> tuple[Reader, ...]:
    """Every reader, in the order they are tried: the modules', with the registered ones before ``csv``.

    >>> [r.name for r in readers()][-3:]
    ['edf', 'csv', 'wfdb']
    """
    own = [importlib.import_module(f"{__package__}.{m}").READER for m in READER_MODULES]
    at = next(i for i, r in enumerate(own) if r.name == "csv")  # the catch-all text sniffer stays last
    carts = sum(r.cart for r in own)
    added_carts = [r for r in _added if r.cart]
    return (*own[:carts], *added_carts, *own[carts:at], *(r for r in _added if not r.cart), *own[at:])


def reader(name: str) -> Reader:
    """The reader called ``name`` (``Reader.name``, e.g. ``"muse"``).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    found = {r.name: r for r in readers()}
    if name not in found:
        raise ValueError(f"reader({name!r}): no such format; expected one of {', '.join(found)}")
    return found[name]


def register(new: Reader) -> None:
    """Add a reader at run time (a cart format among the carts, another before ``csv``).

    Raises
    ------
    ValueError
        When a reader of that name is listed already.
    """
    if any(r.name == new.name for r in readers()):
        raise ValueError(f"register: a reader named {new.name!r} is listed already; expected a new name")
    _added.append(new)


def unregister(name: str) -> None:
    """Remove a reader that :func:`register` added."""
    _added[:] = [r for r in _added if r.name != name]


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def record_suffixes() -> tuple[str, ...]:
    """Suffixes of the files that hold a record, as the catalogue walks them: generic formats, then carts.

    >>> record_suffixes()[:3]
    ('.hea', '.h5', '.hdf5')
    """
    own = [r for r in readers() if r.read is not None]
    order = [r for r in own if r.name == "wfdb"] + [r for r in own if r.name != "wfdb" and not r.cart]
    return _unique([s for r in order for s in r.suffixes] + list(cart_suffixes()))


def cart_suffixes() -> tuple[str, ...]:
    """Suffixes of cart and PACS exports (a file under one is listed only when a reader claims its content)."""
    return _unique(s for r in readers() if r.cart for s in r.suffixes)


def upload_suffixes() -> tuple[str, ...]:
    """Every suffix a record's files are uploaded under, companions and containers included.

    >>> ".dat" in upload_suffixes() and ".zip" in upload_suffixes()
    True
    """
    first = [r for r in readers() if r.name == "wfdb"]
    return _unique(s for r in first + [r for r in readers() if r not in first] for s in r.all_suffixes)


def formats_table() -> str:
    """The Markdown table of the formats (docs/DATA.md, "Formats"): name, kind, suffixes, how it is chosen."""
    lines = ["| `source_format` | kind | suffixes | chosen | group |", "|---|---|---|---|---|"]
    for r in readers():
        group = "container" if r.read is None else "cart / PACS" if r.cart else "generic"
        chosen = "by content" if r.sniff is not None else "by its files"
        lines.append(f"| `{r.name}` | {r.kind} | {', '.join(f'`{s}`' for s in r.all_suffixes)} | {chosen} | {group} |")
    return "\n".join(lines)
