"""What a format reader declares (:class:`Reader`) and hands back (:class:`RawECG`).

Every format module of :mod:`l2g.io` (``wfdb``, ``edf``, ``csvfile``, ``hdf5``, ``dicom``, ``aecg``,
``philips``, ``muse``, ``cardiosoft``, ``scp``, ``ishne``; ``archive`` for zips) ends with one
``READER = Reader(...)``: its name, what users call it, its file suffixes and two functions:

``sniff(head: bytes, path: Path) -> bool``
    True when the first bytes of the file (at most 4096; for XML this includes the root
    element) show it is this format. Decides by content, never by the file extension.
``read(path: Path) -> RawECG``
    Decode the file. Raises :class:`FormatError` (a ``ValueError``) naming the file and the
    problem; KeyError/IndexError/struct.error never escape.

A format that can read part of a long file also declares ``extent(path)`` (samples per lead, from
the header) and ``read_span(path, start, stop)`` (WFDB ``.dat``, EDF): :mod:`l2g.stream` reads a
Holter record through them chunk by chunk; the others are read whole.

:mod:`l2g.io._registry` lists the modules; dispatch, the catalogue, the uploader's file types, the
CLI help and the docs' table all read the declarations from there. The package's
:func:`l2g.io.read_record` turns the :class:`RawECG` into a Record (canonical lead order, absent
leads, units, NaN policy, plausibility notes) with :func:`l2g.io._common.from_raw`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FormatError", "RawECG", "Reader"]


class FormatError(ValueError):
    """A file that claims a format but cannot be decoded; the message names the file."""


@dataclass
class RawECG:
    """One decoded ECG, as the file stores it.

    Attributes
    ----------
    leads : dict of str to ndarray
        Lead label as found in the file (``"I"``, ``"V1"``, ``"MDC_ECG_LEAD_AVR"`` ...;
        the caller normalises) -> samples in **mV**, float64, shape (samples,). All leads
        have the same length. Calibration pulses and pad values already removed.
    fs : float
        Sampling rate in Hz, exactly as the file states it (599.88 stays 599.88).
    derived : dict of str to str
        Leads in ``leads`` that the file did not store but that the reader computed exactly
        from stored ones (e.g. ``{"III": "II - I"}`` for 8-lead storage).
    age, sex : float or None, {"M", "F"} or None
    acquired : str or None
        Acquisition date-time, ISO 8601 where parseable.
    device : str or None
    measurements : dict of str to float
        The cart's measurements; keys from :data:`l2g.record.MEASUREMENT_KEYS`.
    interpretation : list of str
        The cart's interpretation statements.
    identity : dict of str to str
        Patient identity found in the file (``name``, ``id``, ``birth_date``); kept so that an
        export can say what it removed, never logged.
    notes : list of str
        Plain sentences about what the reader worked around (e.g. "median beats ignored").
    other_channels : list of str
        Channels the file holds that the reader left out because they are not one of the 12
        leads (a pressure channel, ``V4R``, ``-aVR``); listed in ``meta.other_channels``.
    fmt : str
        Human name of the format, e.g. ``"GE MUSE XML"``.
    units : list of str, optional
        The unit each entry of ``leads`` is stored in, as the file states it (``"uV"``); converted to
        mV (and refused when not a voltage) by ``from_raw``. None: already in mV.
    diagnoses, comments : list
        :class:`~l2g.record.Diagnosis` codes and free-text comments the file states (WFDB, SPH).
    provenance : Provenance or None; generated : set of str
        For a file L2G wrote: how its generated leads were made, and which they are.
    rate_missing : str
        For a file that may not state its rate (``fs=None``): why, and what was expected, for the
        :class:`~l2g.io.MissingSampleRate` raised when the caller gives no ``fs`` either.
    default_fs : float or None
        The rate assumed when neither the file nor the caller gives one (SPH HDF5: 500 Hz).
    missing_hint : str
        Appended to a :class:`~l2g.io.MissingSamples` message (a WFDB format code that looks wrong).
    source_format : str
        ``Record.source_format`` when it is not the reader's name (``"wfdb-mat"``).
    """

    leads: dict[str, np.ndarray]
    fs: float | None
    fmt: str = ""
    derived: dict[str, str] = field(default_factory=dict)
    age: float | None = None
    sex: str | None = None
    acquired: str | None = None
    device: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)
    interpretation: list[str] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fields: Mapping[str, str] = field(default_factory=dict)
    other_channels: list[str] = field(default_factory=list)
    units: list[str] | None = None
    diagnoses: list[Any] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    provenance: Any = None
    generated: set[str] = field(default_factory=set)
    rate_missing: str = ""
    default_fs: float | None = None
    missing_hint: str = ""
    source_format: str = ""


@dataclass(frozen=True)
class Reader:
    """One format, as its module declares it (``READER = Reader(...)``).

    Attributes
    ----------
    name : str
        Short name: ``Record.source_format`` and the entry of :data:`l2g.io.FORMATS` (``"muse"``).
    kind : str
        What users call it, for messages and the docs (``"GE MUSE XML"``).
    suffixes : tuple of str
        The suffixes of the file that holds a record (``(".xml",)``; WFDB ``(".hea",)``): the
        catalogue walks these, the uploader accepts them. Lower case, with the dot.
    sniff : callable or None
        ``sniff(head, path) -> bool`` (see the module notes); None for a format chosen by its files
        (WFDB: a ``.hea``), not by content.
    read : callable or None
        ``read(path) -> RawECG``; None for a container (the zip archive), which has ``open``.
    companions : tuple of str
        Further suffixes the uploader accepts for this format that the catalogue does not walk: a
        WFDB record's ``.dat``/``.mat``, a CSV's ``.txt``/``.tsv``.
    cart : bool
        An ECG cart or PACS export (the catalogue checks such a file's content before listing it).
    open : callable or None
        For a container only: ``open(path, *, fs, nan_policy, name) -> Record``.
    xml_root : str or None
        For an XML format: the root element it reads (named when an XML of another kind is refused).
    extent : callable or None
        For a format that can be read in ranges (a long Holter record, :mod:`l2g.stream`):
        ``extent(path) -> (samples, fs) or None``: the samples per lead the file holds and its rate
        (Hz, None when the file states none), from its header without decoding the signal; None for
        a file of this format that cannot be read in ranges (a WFDB record stored as ``.mat``). None:
        the format is always read whole.
    read_span : callable or None
        With ``extent``: ``read_span(path, start, stop) -> RawECG``, :attr:`read` of samples
        ``start:stop`` only (every lead ``stop - start`` samples long, the same values the whole
        read has there).
    """

    name: str
    kind: str
    suffixes: tuple[str, ...]
    sniff: Callable[[bytes, Path], bool] | None
    read: Callable[[Path], RawECG] | None
    companions: tuple[str, ...] = ()
    cart: bool = False
    open: Callable[..., Any] | None = None
    xml_root: str | None = None
    extent: Callable[[Path], tuple[int, float | None] | None] | None = None
    read_span: Callable[[Path, int, int], RawECG] | None = None

    @property
    def all_suffixes(self) -> tuple[str, ...]:
        """``suffixes`` then ``companions``: every suffix a file of this format is uploaded under."""
        return self.suffixes + self.companions
