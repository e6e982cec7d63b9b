"""The L2G generator and its Visual Turing Test (VTT) discriminator.

Only the paper's abstract is public; every design choice here is ours and is
documented in ``weights/MODEL_CARD.md`` and ``docs/MODEL.md``.

Generator
    A 1-D convolutional encoder–decoder (U-Net: skips between matching
    scales). Input: the 12 leads with the unavailable ones zeroed
    ``(B, 12, T)``, the availability mask broadcast over time ``(B, 12, T)``
    and, optionally, the linear baseline's prediction of the 8 independent
    leads ``(B, 8, T)``. It predicts the 8 independent leads (I, II, V1–V6);
    with the linear prior it predicts the *residual* over the linear solution
    (its last layer starts at zero, so an untrained generator equals the
    baseline). The output is then made exactly consistent with what was
    recorded (:func:`enforce_available`): available chest leads pass through,
    and (I, II) are projected onto the limb-lead constraints, which with two
    or more limb leads fixes all six exactly by Einthoven/Goldberger.

Discriminator ("Visual Turing Test")
    Our reading of the paper's VTT: a conditional, multi-scale patch critic.
    It sees the available leads and mask beside a candidate full 12-lead set
    (real or generated) and scores realism per time window at two scales
    (full rate, and 4x average-pooled). Spectral normalisation, hinge loss.

Everything works on tensors in mV at the model rate (see ``DataConfig.fs``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .leads import EXPAND_8_TO_12, LEADS

__all__ = [
    "GeneratorConfig",
    "DiscriminatorConfig",
    "Generator",
    "Discriminator",
    "expand12",
    "masked_input",
    "enforce_available",
    "LeadModel",
    "with_residual_scale",
]

_EXPAND = torch.from_numpy(EXPAND_8_TO_12.copy())  # (12, 8)
_LIMB_COEF = _EXPAND[:6, :2]  # (6, 2): limb lead = a*I + b*II
_CHEST_ROWS = torch.arange(6, 12)  # rows of the chest leads among the 12
_CHEST_IND = torch.arange(2, 8)  # their index among the 8 independent leads


def expand12(x8: torch.Tensor) -> torch.Tensor:
    """All 12 leads from the 8 independent ones: ``(B, 8, T) -> (B, 12, T)`` (mV)."""
    return torch.einsum("ij,bjt->bit", _EXPAND.to(x8), x8)


def masked_input(x12: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Zero the unavailable leads: ``x12 (B, 12, T)``, ``mask (B, 12)`` bool -> ``(B, 12, T)``."""
    return x12 * mask[:, :, None].to(x12.dtype)


def enforce_available(x8: torch.Tensor, x12_in: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Make a prediction of the 8 independent leads agree exactly with the available leads.

    Parameters
    ----------
    x8 : Tensor, shape (B, 8, T)
        Predicted I, II, V1–V6 (mV).
    x12_in : Tensor, shape (B, 12, T)
        The input leads (values of unavailable leads are ignored).
    mask : Tensor of bool, shape (B, 12)
        Availability.

    Returns
    -------
    Tensor, shape (B, 8, T)
        Available chest leads copied from the input; (I, II) corrected by the
        least-norm change that makes every available limb lead exact (with two
        or more limb leads, (I, II) are then fully determined by them).
    """
    m = mask.to(x8.dtype)
    out = x8.clone()
    # chest leads: pass through
    mc = m[:, _CHEST_ROWS][:, :, None]
    out[:, _CHEST_IND] = mc * x12_in[:, _CHEST_ROWS] + (1 - mc) * x8[:, _CHEST_IND]
    # limb leads: C p = y for the available rows of the (6, 2) limb matrix
    ml = m[:, :6]
    if bool((ml > 0).any()):
        coef = _LIMB_COEF.to(x8)
        c = ml[:, :, None] * coef[None]  # (B, 6, 2)
        p = x8[:, :2]  # (B, 2, T)
        y = ml[:, :, None] * x12_in[:, :6]  # (B, 6, T)
        resid = y - torch.einsum("bij,bjt->bit", c, p)  # (B, 6, T)
        pinv = torch.linalg.pinv(c)  # (B, 2, 6)
        out[:, :2] = p + torch.einsum("bji,bit->bjt", pinv, resid)
    return out


@dataclass(frozen=True)
class GeneratorConfig:
    """Generator architecture (travels with the weights as ``model_args``)."""

    base_channels: int = 32  # channels at full resolution; doubled-ish per stage
    depth: int = 4  # number of x2 down-samplings (window must be divisible by 2**depth)
    kernel_size: int = 9  # conv kernel in samples (36 ms at 250 Hz)
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # dilated residual convs in the bottleneck
    dropout: float = 0.1  # dropout in the bottleneck (small data: regularise)
    linear_prior: bool = True  # feed the linear baseline's prediction and learn the residual
    # factor on the learned residual per number of available leads k = 1..7 (k > 7 uses the last);
    # () = 1 everywhere. Fitted on the validation split after training (l2g.train.calibrate_residual):
    # shrinking toward the linear solution averages two partly independent estimates
    residual_scale: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        scale = tuple(float(v) for v in self.residual_scale)
        if scale and (len(scale) != 7 or not all(math.isfinite(v) and 0 <= v <= 2 for v in scale)):
            raise ValueError(
                f"GeneratorConfig: residual_scale must be () or 7 factors in [0, 2] for k = 1..7, got {scale!r}"
            )
        if scale and not self.linear_prior:
            raise ValueError("GeneratorConfig: residual_scale needs linear_prior=True (it scales the residual)")
        object.__setattr__(self, "residual_scale", scale)

    def channels(self) -> list[int]:
        c = self.base_channels
        return [int(c * f) for f in (1, 1.5, 2, 3, 4, 4, 4)[: self.depth + 1]]


class _ConvBlock(nn.Module):
    """Two convs with GroupNorm and GELU, plus a 1x1 residual path."""

    def __init__(self, c_in: int, c_out: int, k: int, dilation: int = 1, dropout: float = 0.0):
        super().__init__()
        pad = dilation * (k - 1) // 2
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, k, padding=pad, dilation=dilation),
            nn.GroupNorm(math.gcd(8, c_out), c_out),
            nn.GELU(),
            nn.Dropout(dropout) if dropout else nn.Identity(),
            nn.Conv1d(c_out, c_out, k, padding=pad, dilation=dilation),
            nn.GroupNorm(math.gcd(8, c_out), c_out),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.body(x) + self.skip(x))


class Generator(nn.Module):
    """1-D U-Net generator: available leads (+ mask, + linear prior) -> 8 independent leads.

    ``forward(x12, mask, prior=None)`` with ``x12 (B, 12, T)`` in mV (values
    of unavailable leads are ignored), ``mask (B, 12)`` bool and ``prior
    (B, 8, T)`` (required when ``config.linear_prior``) returns ``(B, 8, T)``
    in mV, consistent with the available leads. ``T`` must be a multiple of
    ``2**depth``; :meth:`pad_multiple` gives it.
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.config = config
        ch = config.channels()
        k = config.kernel_size
        c_in = 12 + 12 + (8 if config.linear_prior else 0)
        self.stem = _ConvBlock(c_in, ch[0], k)
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        for i in range(config.depth):
            self.down.append(nn.Conv1d(ch[i], ch[i], 4, stride=2, padding=1))
            self.enc.append(_ConvBlock(ch[i], ch[i + 1], k))
        self.mid = nn.Sequential(
            *[_ConvBlock(ch[-1], ch[-1], 5, dilation=d, dropout=config.dropout) for d in config.dilations]
        )
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(config.depth)):
            self.up.append(nn.Conv1d(ch[i + 1], ch[i], 1))
            self.dec.append(_ConvBlock(2 * ch[i], ch[i], k))
        self.head = nn.Conv1d(ch[0], 8, 1)
        if config.linear_prior:  # start exactly at the linear solution
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def pad_multiple(self) -> int:
        return 2**self.config.depth

    def forward(self, x12: torch.Tensor, mask: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        if x12.shape[1] != len(LEADS) or mask.shape != x12.shape[:2]:
            raise ValueError(f"expected x12 (B, 12, T) and mask (B, 12), got {tuple(x12.shape)}, {tuple(mask.shape)}")
        if x12.shape[-1] % self.pad_multiple:
            raise ValueError(f"T={x12.shape[-1]} must be a multiple of {self.pad_multiple}")
        xin = masked_input(x12, mask)
        feats = [xin, mask[:, :, None].to(x12.dtype).expand_as(x12)]
        if self.config.linear_prior:
            if prior is None:
                raise ValueError("this generator was built with linear_prior=True: pass prior (B, 8, T)")
            feats.append(prior)
        h = self.stem(torch.cat(feats, dim=1))
        skips = [h]
        for down, enc in zip(self.down, self.enc, strict=True):
            h = enc(down(h))
            skips.append(h)
        h = self.mid(h)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1]), strict=True):
            h = F.interpolate(h, scale_factor=2.0, mode="linear", align_corners=False)
            h = dec(torch.cat([up(h), skip], dim=1))
        out = self.head(h)
        if self.config.linear_prior:
            if self.config.residual_scale:
                scale = torch.tensor(self.config.residual_scale, dtype=out.dtype, device=out.device)
                k = mask.sum(1).clamp(1, len(scale)) - 1
                out = out * scale[k][:, None, None]
            out = out + prior
        return enforce_available(out, x12, mask)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """VTT discriminator architecture."""

    channels: int = 32  # first layer width; doubles per layer up to 4x
    n_layers: int = 4  # strided convs per scale (patch = receptive field)
    scales: int = 2  # critics at full rate and at 4x average-pooled


class _PatchCritic(nn.Module):
    def __init__(self, c_in: int, c: int, n_layers: int):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        layers: list[nn.Module] = []
        cur = c_in
        for i in range(n_layers):
            nxt = c * min(2**i, 4)
            layers += [sn(nn.Conv1d(cur, nxt, 9, stride=2, padding=4)), nn.LeakyReLU(0.2)]
            cur = nxt
        layers.append(sn(nn.Conv1d(cur, 1, 5, padding=2)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Discriminator(nn.Module):
    """Conditional multi-scale patch critic (our "Visual Turing Test").

    ``forward(candidate8, x12, mask)``: the candidate 8 independent leads
    ``(B, 8, T)`` (real or generated) are expanded to 12 and shown beside the
    masked available leads and the mask. Returns a list, one per scale, of
    realism logits ``(B, 1, T_s)`` — one per time window (patch).
    """

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        self.config = config
        self.critics = nn.ModuleList(
            [_PatchCritic(12 + 12 + 12, config.channels, config.n_layers) for _ in range(config.scales)]
        )

    def forward(self, candidate8: torch.Tensor, x12: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        m = mask[:, :, None].to(x12.dtype).expand_as(x12)
        h = torch.cat([expand12(candidate8), masked_input(x12, m[:, :, 0] > 0), m], dim=1)
        outs = []
        for i, critic in enumerate(self.critics):
            outs.append(critic(h if i == 0 else F.avg_pool1d(h, 4**i)))
        return outs


class LeadModel(nn.Module):
    """The one forward path: linear prior -> generator -> the available leads kept.

    ``forward(x12, mask)`` with ``x12 (B, 12, T)`` in mV (values of unavailable leads are ignored)
    and ``mask (B, 12)`` bool returns the 8 independent leads ``(B, 8, T)`` in mV: the linear
    baseline's prediction from the available leads (the prior, computed without gradients), refined
    by the generator, which keeps every available lead exactly (:func:`enforce_available`); without a
    generator, the prior alone. ``return_prior=True`` returns ``(prediction, prior)``.

    Training (:func:`l2g.train.train`, ``evaluate_windows``, ``calibrate_residual``), inference
    (:class:`l2g.reconstruction.Reconstructor`), benchmarks and tests call it; none rebuilds the path.

    Parameters
    ----------
    linear : LinearBaseline
        Gives the prior (:meth:`l2g.baseline.LinearBaseline.predict_torch`); it is not trained here.
    generator : Generator or None
        Any module with the generator's ``forward(x12, mask, prior)`` (a DDP wrapper in training).

    Examples
    --------
    >>> from l2g.baseline import LinearBaseline, LinearConfig
    >>> x8 = torch.randn(4, 8, 64)
    >>> linear = LinearBaseline.fit([x.numpy() for x in x8], LinearConfig(lags=(0,)))
    >>> mask = torch.zeros(2, 12, dtype=torch.bool)
    >>> mask[:, 1] = True  # lead II available
    >>> model = LeadModel(linear, Generator(GeneratorConfig(base_channels=4, depth=2, dilations=(1,))))
    >>> out = model(expand12(x8[:2]), mask)
    >>> out.shape, bool(torch.allclose(out[:, 1], x8[:2, 1], atol=1e-5))
    (torch.Size([2, 8, 64]), True)
    """

    def __init__(self, linear, generator: nn.Module | None = None):
        super().__init__()
        self.linear = linear
        self.generator = generator

    def prior(self, x12: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The linear baseline's 8 leads from the available ones, ``(B, 8, T)``, without gradients."""
        with torch.no_grad():
            return self.linear.predict_torch(x12 * mask[:, :, None], mask)

    def forward(self, x12: torch.Tensor, mask: torch.Tensor, *,
                return_prior: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        prior = self.prior(x12, mask)
        pred = prior if self.generator is None else self.generator(x12, mask, prior)
        return (pred, prior) if return_prior else pred


def with_residual_scale(generator: Generator, scale: tuple[float, ...]) -> Generator:
    """A copy of ``generator`` (same weights, eval mode) whose residual factors are ``scale``.

    ``scale`` as :attr:`GeneratorConfig.residual_scale`: ``()`` for the plain,
    unscaled generator, or 7 factors for k = 1..7 available leads.
    """
    g = Generator(replace(generator.config, residual_scale=tuple(scale)))
    g.load_state_dict(generator.state_dict())
    return g.eval()


def model_args(g: GeneratorConfig) -> dict:
    """Plain-dict form of a generator config, for checkpoints."""
    d = asdict(g)
    d["dilations"] = list(g.dilations)
    d["residual_scale"] = list(g.residual_scale)
    return d
