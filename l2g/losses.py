"""The training losses: the reconstruction loss and its band limits, the per-window weights.

:func:`recon_losses` scores the generated (unavailable) leads, expanded to 12: MSE, the MSE of the
first difference and the log-RMS amplitude error per lead; :func:`window_weights` weighs each window
by how badly the linear prior already fits it; :func:`band_limited_recon_loss` is the loss training
uses (the training step band-limits output and target once with :func:`band_limit` and passes them to
:func:`recon_losses` and the other terms). ``cfg`` is the run's :class:`l2g.train.TrainConfig` (its
``grad_weight``, ``amp_weight`` and ``data.fs``). :func:`feature_matching_loss` compares the generated
and the real 12-lead in the activations of a frozen ECG encoder (``TrainConfig.fm_encoder``, a
:class:`l2g.fidelity.PlainCNN1d` trained on PTB-XL's training folds) — another architecture and seed
than the classifiers that score diagnostic fidelity, which never enter a loss.

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

__all__ = ["band_limit", "band_limited_recon_loss", "feature_matching_loss", "fourier_resample", "recon_losses",
           "window_weights"]


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


def fourier_resample(x: torch.Tensor, n_out: int) -> torch.Tensor:
    """Resample windows to ``n_out`` samples by truncating (or zero-padding) their DFT; differentiable.

    The window is treated as one period (as :func:`band_limit` does); content above the new Nyquist
    frequency is dropped. Amplitudes are kept (the spectrum is scaled by ``n_out / T``).

    Parameters
    ----------
    x : Tensor, shape (B, C, T)
    n_out : int
        Samples after resampling (``round(T * fs_out / fs)``).

    Returns
    -------
    Tensor, shape (B, C, n_out)

    Examples
    --------
    >>> import math
    >>> t = torch.arange(1000) / 250.0
    >>> y = fourier_resample(torch.sin(2 * math.pi * 5 * t).expand(1, 1, 1000), 400)
    >>> bool(torch.allclose(y[0, 0], torch.sin(2 * math.pi * 5 * torch.arange(400) / 100.0), atol=1e-4))
    True
    """
    n = x.shape[-1]
    if n_out == n:
        return x
    spec = torch.fft.rfft(x.float(), dim=-1)
    bins = n_out // 2 + 1
    if bins <= spec.shape[-1]:
        spec = spec[..., :bins]
    else:
        spec = torch.nn.functional.pad(spec, (0, bins - spec.shape[-1]))
    return (torch.fft.irfft(spec, n=n_out, dim=-1) * (n_out / n)).to(x.dtype)


def feature_matching_loss(encoder: torch.nn.Module, pred8: torch.Tensor, x8: torch.Tensor, valid: torch.Tensor,
                          fs: float, encoder_fs: float = 100.0) -> torch.Tensor:
    """How far the generated 12-lead is from the real one in a frozen encoder's activations.

    Both 12-leads (:func:`l2g.model.expand12` of the independent leads, samples outside ``valid``
    zeroed in both) are resampled to ``encoder_fs`` (:func:`fourier_resample`) and passed through
    ``encoder.features``; per activation, the mean squared difference divided by the mean square of
    the real activation; the mean over activations. The real side carries no gradient; the encoder's
    own weights get none either when it is frozen (``requires_grad_(False)``, eval mode).

    Parameters
    ----------
    encoder : Module with ``features(x) -> list[Tensor]``
        E.g. :class:`l2g.fidelity.PlainCNN1d`; input ``(B, 12, n)`` mV at ``encoder_fs``.
    pred8, x8 : Tensor, shape (B, 8, T)
        Generated (available leads kept) and real independent leads, mV at ``fs``.
    valid : Tensor, shape (B, T)
        Which samples of each window are real data.
    fs, encoder_fs : float
        Hz.

    Returns
    -------
    Tensor
        A scalar, 0 when ``pred8`` equals ``x8``.

    Examples
    --------
    >>> from l2g.fidelity import ClassifierConfig, PlainCNN1d
    >>> enc = PlainCNN1d(ClassifierConfig(arch="plain")).eval()
    >>> x = torch.randn(2, 8, 1024) * 0.1
    >>> v = torch.ones(2, 1024, dtype=torch.bool)
    >>> float(feature_matching_loss(enc, x, x, v, 250.0))
    0.0
    >>> float(feature_matching_loss(enc, 0.5 * x, x, v, 250.0)) > 0
    True
    """
    keep = valid[:, None, :].to(pred8.dtype)
    n_out = max(1, round(pred8.shape[-1] * encoder_fs / fs))
    gen = fourier_resample(expand12(pred8 * keep), n_out)
    real = fourier_resample(expand12(x8 * keep), n_out)
    with torch.no_grad():
        f_real = encoder.features(real)
    f_gen = encoder.features(gen)
    terms = [((g - r) ** 2).mean() / (r**2).mean().clamp_min(1e-8) for g, r in zip(f_gen, f_real, strict=True)]
    return torch.stack(terms).mean()
