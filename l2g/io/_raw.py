"""What a format reader hands back before it becomes a :class:`~l2g.record.Record`.

Every cart/PACS format module (``dicom``, ``aecg``, ``philips``, ``muse``, ``cardiosoft``,
``scp``, ``ishne``) exposes two functions:

``sniff(head: bytes, path: Path) -> bool``
    True when the first bytes of the file (at most 4096; for XML this includes the root
    element) show it is this format. Decides by content, never by the file extension.
``read(path: Path) -> RawECG``
    Decode the file. Raises :class:`FormatError` (a ``ValueError``) naming the file and the
    problem; KeyError/IndexError/struct.error never escape.

The package's :func:`l2g.io.read_record` turns the :class:`RawECG` into a Record (canonical lead
order, absent leads, limb-lead completion, plausibility notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FormatError", "RawECG"]


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
    """

    leads: dict[str, np.ndarray]
    fs: float
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
