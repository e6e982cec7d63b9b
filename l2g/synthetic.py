"""Synthetic 8-lead ECGs for pretraining, from the ``deepfake-ecg`` generator.

``deepfake-ecg`` (MIT licence, weights inside the wheel) is a GAN trained on
real 12-lead ECGs; it produces 10-s, 500 Hz ECGs of the 8 independent leads
I, II, V1–V6 — the same order as :data:`l2g.leads.INDEPENDENT_LEADS`. Its raw
output times 6 is in mV. We call its ``Generator`` in batches (its
``generate()`` writes text files) and pass every ECG through the same
:func:`l2g.dataset.to_independent` pipeline as real records.

Synthetic ECGs are used only to pretrain; every reported figure is measured
on real held-out records.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch

from .dataset import DEFAULT_CACHE_DIR, to_independent
from .leads import INDEPENDENT_LEADS
from .preprocess import HIGHPASS_HZ
from .record import Record

__all__ = ["deepfake_available", "load_deepfake_generator", "synthetic_arrays"]

log = logging.getLogger(__name__)

_SCALE_MV = 6.0  # deepfake-ecg output x 6000 = µV
_FS = 500.0


def deepfake_available() -> bool:
    """True when the ``deepfakeecg`` package (the ``deepfake-ecg`` wheel) is installed."""
    try:
        import deepfakeecg  # noqa: F401
    except ImportError:
        return False
    return True


def load_deepfake_generator() -> torch.nn.Module:
    """deepfake-ecg's pretrained generator (the weights inside its wheel), in eval mode.

    Raises
    ------
    ValueError
        When the ``deepfake-ecg`` package is not installed.
    """
    try:
        import deepfakeecg
        from deepfakeecg import Generator
    except ImportError as exc:
        raise ValueError("synthetic pretraining needs the deepfake-ecg package: pip install deepfake-ecg") from exc
    ckpt = Path(deepfakeecg.__file__).parent / "checkpoints" / "g_stat.pt"
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    g = Generator()
    g.load_state_dict(state["stat_dict"])
    return g.eval()


def synthetic_arrays(
    n: int,
    fs: float = 250.0,
    highpass_hz: float | None = HIGHPASS_HZ,
    *,
    seed: int = 0,
    batch: int = 64,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> list[np.ndarray]:
    """``n`` synthetic ECGs as model-ready arrays.

    Parameters
    ----------
    n : int
        Number of 10-s ECGs.
    fs, highpass_hz : float
        As in :func:`l2g.dataset.to_independent`.
    seed : int
        Noise seed; the same seed gives the same ECGs.
    batch : int
        ECGs per generator call.
    cache_dir : path, optional
        Where the arrays are cached (default ``~/.cache/l2g``).

    Returns
    -------
    list of ndarray of float32, shape (8, 10 * fs)
        I, II, V1–V6 in mV.
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of ECGs, got {n}")
    cache = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser()
    key = hashlib.sha256(f"deepfake|{n}|{fs}|{highpass_hz}|{seed}".encode()).hexdigest()[:16]
    path = cache / f"synthetic-{key}.npy"
    if path.exists():
        arr = np.load(path)
        return list(arr)
    from tqdm import tqdm

    g = load_deepfake_generator()
    gen = torch.Generator().manual_seed(seed)
    out: list[np.ndarray] = []
    with torch.no_grad():
        for start in tqdm(range(0, n, batch), desc="synthetic ECGs", disable=not progress):
            m = min(batch, n - start)
            noise = torch.rand(m, 8, 5000, generator=gen) * 2 - 1
            ecgs = (g(noise) * _SCALE_MV).numpy()
            for i, x in enumerate(ecgs):
                rec = Record(x, _FS, INDEPENDENT_LEADS, name=f"synthetic-{start + i}", source_format="synthetic")
                out.append(to_independent(rec, fs, highpass_hz, flat_mv=0.0))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, np.stack(out))
    return out
