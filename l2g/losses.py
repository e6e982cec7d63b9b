"""Band limits for training losses on records sampled at different rates.

A 100-Hz record (PTB-XL ``records100``) resampled to the model rate holds
nothing above 50 Hz. Scoring the model's full-band output against it would
teach the model to generate nothing above 50 Hz. Instead the output and the
target of such a window are both low-passed to the band the record carries
(``band_hz``, from :func:`l2g.dataset.band_hz`) before the reconstruction
loss: low-rate records teach the low band, full-rate records everything.
"""

from __future__ import annotations

import torch

__all__ = ["band_limit"]


def band_limit(x: torch.Tensor, band_hz: torch.Tensor, fs: float) -> torch.Tensor:
    """Low-pass each window to its own band with an ideal (brick-wall) DFT filter.

    Every DFT bin of the window above ``band_hz`` is set to zero. The filter
    is linear and circular over the window, so by Parseval the MSE of two
    filtered windows is exactly the error energy in the bins up to
    ``band_hz``: error above the band costs nothing. Windows whose band
    reaches the Nyquist frequency ``fs / 2`` are returned unchanged (bit for
    bit).

    Parameters
    ----------
    x : Tensor, shape (B, C, T)
        Windows (any unit) at ``fs``.
    band_hz : Tensor, shape (B,)
        Upper band edge per window, Hz.
    fs : float
        Sampling rate of ``x`` in Hz.

    Returns
    -------
    Tensor, shape (B, C, T)
        Same dtype and device; differentiable.

    Examples
    --------
    >>> import math
    >>> t = torch.arange(250) / 250.0
    >>> x = (torch.sin(2 * math.pi * 10 * t) + torch.sin(2 * math.pi * 60 * t)).expand(2, 1, 250)
    >>> y = band_limit(x, torch.tensor([45.0, 125.0]), 250.0)
    >>> bool(torch.allclose(y[0, 0], torch.sin(2 * math.pi * 10 * t), atol=1e-4)), bool(torch.equal(y[1], x[1]))
    (True, True)
    """
    if x.ndim != 3:
        raise ValueError(f"band_limit: expected x of shape (B, C, T), got {tuple(x.shape)}")
    band = band_hz.to(device=x.device, dtype=torch.float32).reshape(-1)
    if band.shape[0] != x.shape[0]:
        raise ValueError(f"band_limit: band_hz has {band.shape[0]} values for {x.shape[0]} windows")
    limited = band < fs / 2
    if not bool(limited.any()):
        return x
    n = x.shape[-1]
    freqs = torch.fft.rfftfreq(n, d=1.0 / fs).to(x.device)  # (F,)
    keep = (freqs[None, :] <= band[:, None]).to(torch.float32)  # (B, F)
    spec = torch.fft.rfft(x.float(), dim=-1) * keep[:, None, :]
    low = torch.fft.irfft(spec, n=n, dim=-1).to(x.dtype)
    return torch.where(limited[:, None, None], low, x)
