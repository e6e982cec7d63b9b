"""The training losses: the reconstruction loss and its band limits, the per-window weights.

:func:`recon_losses` scores the generated (unavailable) leads, expanded to 12: MSE, the MSE of the
first difference and the log-RMS amplitude error per lead; :func:`window_weights` weighs each window
by how badly the linear prior already fits it; :func:`band_limited_recon_loss` is the loss training
uses. ``cfg`` is the run's :class:`l2g.train.TrainConfig` (its ``grad_weight``, ``amp_weight`` and
``data.fs``).

Band limits for records sampled at different rates:

A 100-Hz record (PTB-XL ``records100``) resampled to the model rate holds
nothing above 50 Hz. Scoring the model's full-band output against it would
teach the model to generate nothing above 50 Hz. Instead the output and the
target of such a window are both low-passed to the band the record carries
(``band_hz``, from :func:`l2g.dataset.band_hz`) before the reconstruction
loss: low-rate records teach the low band, full-rate records everything.
"""

from __future__ import annotations

from typing import Any

import torch

from .model import expand12

__all__ = ["band_limit", "band_limited_recon_loss", "recon_losses", "window_weights"]


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


def window_weights(prior8: torch.Tensor, x8: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor,
                    floor: float = 2e-4, power: float = 1.0) -> torch.Tensor:
    """Per-window weights 1 / (linear prior's MSE on the missing leads + floor) ** power, mean 1; shape (B,)."""
    p12, t12 = expand12(prior8), expand12(x8)
    miss = (~mask)[:, :, None].to(p12.dtype) * valid[:, None, :].to(p12.dtype)
    err = (((p12 - t12) ** 2) * miss).sum((1, 2)) / miss.sum((1, 2)).clamp_min(1.0)
    w = (err + floor) ** -power
    return (w / w.mean()).detach()


def recon_losses(pred8: torch.Tensor, x8: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor,
                  cfg: Any, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    p12, t12 = expand12(pred8), expand12(x8)
    miss = (~mask)[:, :, None].to(p12.dtype) * valid[:, None, :].to(p12.dtype)
    denom = miss.sum().clamp_min(1.0)
    if weights is not None:  # per-window weights (mean 1): the sums below stay on the same scale
        miss = miss * weights[:, None, None]
    mse = (((p12 - t12) ** 2) * miss).sum() / denom
    dp, dt = torch.diff(p12, dim=-1), torch.diff(t12, dim=-1)
    grad = (((dp - dt) ** 2) * miss[..., 1:]).sum() / denom * 25.0  # ~ (T/40) scale to be O(mse)
    rms_p = ((p12**2) * miss).sum(-1).add(1e-6).sqrt()
    rms_t = ((t12**2) * miss).sum(-1).add(1e-6).sqrt()
    lead_miss = (~mask).to(p12.dtype)
    amp = ((torch.log(rms_p) - torch.log(rms_t)).abs() * lead_miss).sum() / lead_miss.sum().clamp_min(1.0)
    total = mse + cfg.grad_weight * grad + cfg.amp_weight * amp
    return total, {"mse": mse.item(), "grad": grad.item(), "amp": amp.item()}


def band_limited_recon_loss(pred8: torch.Tensor, x8: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor,
                            band_hz: torch.Tensor, cfg: Any, weights: torch.Tensor | None = None
                            ) -> tuple[torch.Tensor, dict[str, float]]:
    """The reconstruction loss on output and target low-passed to each window's band.

    A window from a 100-Hz record (``band_hz`` 45 Hz) is scored only on what
    its record carries, so it neither rewards nor penalises the generator's
    content above 45 Hz; windows at the model rate (``band_hz = fs / 2``) are
    scored on the full band, exactly as before (see :func:`l2g.losses.band_limit`).

    Parameters
    ----------
    pred8, x8 : Tensor, shape (B, 8, T)
        Generated and true I, II, V1–V6 in mV at ``cfg.data.fs``.
    mask : bool Tensor (B, 12)
    valid : bool Tensor (B, T)
    band_hz : Tensor (B,)
        From the windows' ``band_hz`` (:class:`l2g.dataset.WindowDataset`).
    cfg : TrainConfig
    weights : Tensor (B,), optional

    Returns
    -------
    (Tensor, dict)
        As the plain reconstruction loss: total and its parts (``mse``,
        ``grad``, ``amp``).
    """
    fs = float(cfg.data.fs)
    return recon_losses(band_limit(pred8, band_hz, fs), band_limit(x8, band_hz, fs), mask, valid, cfg, weights)
