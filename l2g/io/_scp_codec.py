"""SCP-ECG's arithmetic, below the reader :mod:`l2g.io.scp`: the CRC (which ISHNE shares), the
default Huffman table, undoing first and second differences, and text fields. :mod:`l2g.io.scp`
re-exports :func:`crc_ccitt`.
"""

from __future__ import annotations

import binascii

import numpy as np

__all__ = ["crc_ccitt"]


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT (polynomial 0x1021, initial value 0xFFFF) as SCP-ECG and ISHNE use it.

    Parameters
    ----------
    data : bytes
        The bytes covered by the checksum.

    Returns
    -------
    int
        The 16-bit checksum.

    Examples
    --------
    >>> hex(crc_ccitt(b"123456789"))
    '0x29b1'
    """
    return binascii.crc_hqx(data, 0xFFFF)


def _text(value: bytes) -> str:
    value = value.split(b"\x00", 1)[0]
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


def _default_table() -> dict[tuple[int, int], tuple[int, int, int]]:
    """The SCP-ECG default Huffman table: (prefix bits, code) -> (mode, value, extra bits)."""
    table = {(1, 0b0): (1, 0, 0)}
    for magnitude in range(1, 9):
        ones = (1 << magnitude) - 1
        for sign, value in ((0, magnitude), (1, -magnitude)):
            table[(magnitude + 2, (ones << 2) | sign)] = (1, value, 0)
    table[(10, 0b1111111110)] = (1, 0, 8)
    table[(10, 0b1111111111)] = (1, 0, 16)
    return table


_DEFAULT_TABLE = _default_table()


def _undo_differences(values: np.ndarray, mode: int) -> np.ndarray:
    """Samples from first (1) or second (2) differences; wraps to 16 bits like the encoders."""
    if mode == 0 or len(values) < 2:
        out = values
    elif mode == 1:
        out = np.cumsum(values)
    else:
        # x[0] = d[0], x[1] = d[1], x[n] = d[n] + 2 x[n-1] - x[n-2]
        slope = np.empty(len(values) - 1, np.int64)
        slope[0] = values[1] - values[0]
        slope[1:] = slope[0] + np.cumsum(values[2:])
        out = np.concatenate(([values[0]], values[0] + np.cumsum(slope)))
    return out.astype(np.int16).astype(np.int64)
