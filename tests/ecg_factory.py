"""Physiologically consistent test ECGs built from Gaussian waves (no data files needed).

Each lead is a sum of P, QRS and T Gaussian bumps per beat; limb leads obey
Einthoven/Goldberger exactly because they are derived from I and II.
"""

from __future__ import annotations

import numpy as np

from l2g.leads import LEADS, expand_independent
from l2g.record import Metadata, Record

# per independent lead (I, II, V1..V6): amplitudes (mV) of P, Q, R, S, T
_AMPS = np.array([
    [0.10, -0.05, 0.8, -0.15, 0.25],
    [0.15, -0.05, 1.2, -0.20, 0.35],
    [0.05, 0.00, 0.3, -1.00, -0.10],
    [0.08, 0.00, 0.6, -1.30, 0.40],
    [0.08, -0.05, 0.9, -0.80, 0.45],
    [0.08, -0.08, 1.4, -0.40, 0.45],
    [0.08, -0.10, 1.5, -0.20, 0.35],
    [0.08, -0.08, 1.1, -0.10, 0.30],
])
_CENTRES = np.array([-0.20, -0.03, 0.0, 0.03, 0.28])  # s from R peak
_WIDTHS = np.array([0.025, 0.010, 0.012, 0.012, 0.045])  # s


def synthetic_x8(duration_s: float = 10.0, fs: float = 500.0, hr_bpm: float = 70.0, seed: int = 0) -> np.ndarray:
    """Independent leads I, II, V1-V6, shape (8, n), mV."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    rr = 60.0 / hr_bpm
    amps = _AMPS * rng.uniform(0.7, 1.3, size=(8, 1))
    x = np.zeros((8, n))
    beat = 0.3 + rng.uniform(0, rr)
    while beat < duration_s + 0.5:
        for c, w, a in zip(_CENTRES, _WIDTHS, amps.T, strict=True):
            x += a[:, None] * np.exp(-0.5 * ((t - beat - c) / w) ** 2)
        beat += rr * rng.uniform(0.95, 1.05)
    x += rng.normal(0, 0.005, size=x.shape)
    return x.astype(np.float32)


def synthetic_record(duration_s: float = 10.0, fs: float = 500.0, seed: int = 0, name: str = "synthetic",
                     **meta) -> Record:
    """A full 12-lead Record (all leads recorded)."""
    x12 = expand_independent(synthetic_x8(duration_s, fs, seed=seed))
    return Record(x12, fs, LEADS, name=name, meta=Metadata(**meta), source_format="generated")


def assert_note(record_or_meta: object, pattern: str) -> None:
    """Assert that one of the notes of a Record (or its Metadata) matches the regex ``pattern``."""
    import re

    meta = getattr(record_or_meta, "meta", record_or_meta)
    assert any(re.search(pattern, note) for note in meta.notes), f"no note matches {pattern!r}: {meta.notes}"


def _hann(t: np.ndarray, start: float, stop: float) -> np.ndarray:
    """A raised-cosine bump that is exactly zero outside ``[start, stop]`` (s), peak 1."""
    inside = (t >= start) & (t <= stop)
    return np.where(inside, 0.5 - 0.5 * np.cos(2 * np.pi * (t - start) / (stop - start)), 0.0)


#: The waves of :func:`vector_record`: (start, stop) in s from the R peak, amplitude (mV), frontal axis (deg).
VECTOR_WAVES = {"p": (-0.20, -0.10, 0.15, 60.0), "qrs": (-0.05, 0.05, 1.2, 30.0), "t": (0.15, 0.40, 0.3, 45.0)}


def vector_record(duration_s: float = 10.0, fs: float = 500.0, hr_bpm: float = 60.0, seed: int = 0,
                  noise_mv: float = 0.005) -> Record:
    """A 12-lead Record whose intervals and frontal axes are known exactly (:data:`VECTOR_WAVES`).

    Each wave is one raised-cosine bump projected on the frontal plane at its axis (lead I =
    cos, II = cos(axis - 60 deg)); the other limb leads by Einthoven / Goldberger; V1-V6 are
    fixed mixtures of the same bumps. At 60 bpm: PR 150 ms, QRS 100 ms, QT 450 ms, QTc 450 ms;
    axes P 60, QRS 30, T 45 degrees.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    rr = 60.0 / hr_bpm
    x8 = np.zeros((8, n))
    chest = {"p": np.full(6, 0.5), "qrs": np.array([-0.6, -0.3, 0.4, 0.9, 1.1, 0.9]),
             "t": np.array([-0.2, 0.5, 0.8, 0.8, 0.7, 0.6])}
    beat = 0.5
    while beat < duration_s - 0.5:
        for wave, (a, b, amp, axis) in VECTOR_WAVES.items():
            w = amp * _hann(t, beat + a, beat + b)
            x8[0] += w * np.cos(np.radians(axis))
            x8[1] += w * np.cos(np.radians(axis - 60.0))
            x8[2:] += chest[wave][:, None] * w
        beat += rr
    x8 += rng.normal(0, noise_mv, size=x8.shape)
    return Record(expand_independent(x8.astype(np.float32)), fs, LEADS, name="vector", source_format="generated")
