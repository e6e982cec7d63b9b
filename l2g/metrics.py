"""Agreement between real and generated leads.

All functions take two arrays of the same shape ``(..., samples)`` in mV and
reduce the last axis. They are used on *generated* leads only: a lead that was
given to the generator is reproduced exactly and would inflate every score.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mse", "rmse_uv", "pearson_r", "lead_agreement"]


def _pair(real: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(real, np.float64)
    b = np.asarray(gen, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"real and generated shapes differ: {a.shape} vs {b.shape}")
    if a.shape[-1] < 2:
        raise ValueError(f"need at least 2 samples, got shape {a.shape}")
    return a, b


def mse(real: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Mean squared error in mV² over the last axis."""
    a, b = _pair(real, gen)
    return np.mean((a - b) ** 2, axis=-1)


def rmse_uv(real: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Root mean squared error in µV over the last axis."""
    return np.sqrt(mse(real, gen)) * 1000.0


def pearson_r(real: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Pearson correlation over the last axis; NaN where either trace is constant."""
    a, b = _pair(real, gen)
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    den = np.sqrt((a**2).sum(-1) * (b**2).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1.0), np.nan)


def lead_agreement(real: np.ndarray, gen: np.ndarray) -> dict[str, np.ndarray]:
    """``{"mse": mV², "rmse_uv": µV, "r": Pearson}`` per lead for ``(leads, samples)`` arrays."""
    return {"mse": mse(real, gen), "rmse_uv": rmse_uv(real, gen), "r": pearson_r(real, gen)}
