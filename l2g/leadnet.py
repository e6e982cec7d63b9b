"""A small 1-D CNN that names electrode faults from the recorded leads (the learned half of :mod:`l2g.leadcheck`).

The network sees the recorded leads of the first 10 s at 100 Hz (high-passed at
0.5 Hz, all leads divided by one scale: the median RMS of the recorded leads)
as 12 signal channels, zeros where a lead is not recorded, plus 12 mask
channels (1 recorded, 0 not). With two or more recorded limb leads all six are
derived exactly (Einthoven/Goldberger), as :func:`l2g.leadcheck.check_leads`
does, so the limb block is either complete, one lead, or empty. It outputs one
logit per class of :data:`CLASSES`: no fault, the three limb-electrode
reversals and the five adjacent precordial swaps. A fault is only *testable*
when the leads it moves are recorded (a limb reversal: two limb leads; a chest
swap: both chest leads); :func:`fault_probabilities` gives the others no mass.

The network is independent of the generator (``weights/l2g.pt``) and of the
linear baseline: it learns the morphology a reversal betrays (an inverted P
wave and QRS in lead I, an upright aVR, a broken R-wave progression) from
faults simulated exactly (:func:`l2g.faults.apply_fault`, as
:func:`fault_matrix`) on training records. Training:
``python -m bench.leadcheck_train`` (weights/leadcheck.pt; see ``docs/MODEL.md``).

The checkpoint is a plain dict: ``state_dict``, ``config`` (the
:class:`LeadNetConfig` fields), ``classes``, ``train`` (what it was trained on
and how) and ``version``; loaded with ``torch.load(..., weights_only=True)`` and
checked against ``weights/SHA256SUMS``.

Examples
--------
>>> import numpy as np
>>> m = fault_matrix("LA/RA")  # on the independent leads (I, II, V1..V6)
>>> float(m[0, 0]), float(m[1, 0]), float(m[1, 1])  # I -> -I, II -> III = II - I
(-1.0, -1.0, 1.0)
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .leads import CHEST_LEADS, EXPAND_8_TO_12, INDEPENDENT_LEADS, LEADS, LIMB_LEADS

__all__ = ["CLASSES", "LeadNetConfig", "LeadNet", "fault_matrix", "net_input", "is_testable", "fault_probabilities",
           "load_leadnet", "LEADNET_FILE", "held_out"]

#: The classes, in logit order: no fault, limb-electrode reversals, adjacent precordial swaps.
CLASSES: tuple[str, ...] = ("none", "LA/RA", "LA/LL", "RA/LL",
                            *(f"{a}/{b}" for a, b in zip(CHEST_LEADS[:-1], CHEST_LEADS[1:], strict=True)))

#: The shipped checkpoint's file name in :func:`l2g.paths.weights_dir`.
LEADNET_FILE = "leadcheck.pt"


@dataclass(frozen=True)
class LeadNetConfig:
    """Architecture and input of :class:`LeadNet`.

    Attributes
    ----------
    fs : float
        Input rate (Hz).
    seconds : float
        Longest input (s); longer records are cut (the fault persists).
    widths : tuple of int
        Channels of each convolution (each halves the time axis).
    kernels : tuple of int
        Kernel length of each convolution (samples at its own rate).
    """

    fs: float = 100.0
    seconds: float = 10.0
    widths: tuple[int, ...] = (32, 32, 48, 64, 64)
    kernels: tuple[int, ...] = (7, 7, 5, 5, 5)

    def __post_init__(self):
        if len(self.widths) != len(self.kernels) or not self.widths:
            raise ValueError(f"LeadNetConfig: widths {self.widths} and kernels {self.kernels} must match in length")


class LeadNet(nn.Module):
    """Strided 1-D convolutions, mean + max pooling over time, one linear layer.

    ``forward(x)``: ``x`` of shape (batch, 24, time) (:func:`net_input`) ->
    logits (batch, len(CLASSES)). Any length of at least a second works.
    """

    def __init__(self, config: LeadNetConfig = LeadNetConfig()):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in = 2 * len(LEADS)
        for width, k in zip(config.widths, config.kernels, strict=True):
            layers += [nn.Conv1d(c_in, width, k, stride=2, padding=k // 2, bias=False), nn.BatchNorm1d(width),
                       nn.ReLU()]
            c_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * c_in, len(CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.head(torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1))


def held_out(record_id: str) -> bool:
    """Whether a training record is held out of the network's training: one PTB-XL record in 20, by id.

    Examples
    --------
    >>> held_out("cinc2021/georgia/E00008"), sum(held_out(f"ptbxl/00000/{i:05d}_lr") for i in range(1, 2001))
    (False, 91)
    """
    return record_id.startswith("ptbxl/") and zlib.crc32(record_id.encode()) % 20 == 0


@functools.cache
def fault_matrix(fault: str) -> np.ndarray:
    """The (8, 8) matrix a fault applies to the independent leads: ``x8_faulty = M @ x8``.

    Worked out by :func:`l2g.faults.apply_fault` on the 12 leads of the
    8 unit vectors, so it is that transformation exactly. ``"none"``: identity.
    """
    from .faults import apply_fault
    from .record import Record

    if fault == "none":
        m = np.eye(len(INDEPENDENT_LEADS))
    else:
        basis = Record(EXPAND_8_TO_12.astype(np.float32), fs=1.0, leads=LEADS, name="basis")
        out = apply_fault(basis, fault).signal
        m = np.asarray(out[[LEADS.index(lead) for lead in INDEPENDENT_LEADS]], dtype=np.float64)
    m.setflags(write=False)
    return m


def is_testable(fault: str, present: Sequence[str]) -> bool:
    """Whether ``fault`` can be seen in the leads ``present`` (two limb leads; both swapped chest leads)."""
    if fault == "none":
        return True
    if fault in CLASSES[1:4]:
        return sum(lead in present for lead in LIMB_LEADS) >= 2
    a, b = fault.split("/")
    return a in present and b in present


def net_input(x12: np.ndarray, present: Sequence[bool] | np.ndarray) -> np.ndarray:
    """The network's input: scaled leads and mask, (24, T) float32 (or (batch, 24, T) for batched input).

    Parameters
    ----------
    x12 : ndarray, shape (12, T) or (batch, 12, T)
        Leads in canonical order (mV, high-passed), zeros where not recorded
        (limb leads completed when two are recorded).
    present : array_like of bool, shape (12,) or (batch, 12)
    """
    x = np.asarray(x12, dtype=np.float32)
    mask = np.asarray(present, dtype=bool)
    batched = x.ndim == 3
    if not batched:
        x, mask = x[None], mask[None]
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1))  # (B, 12)
    scale = np.array([np.median(r[m]) if m.any() else 1.0 for r, m in zip(rms, mask, strict=True)])
    scale = np.where(scale > 1e-6, scale, 1.0)
    sig = np.clip(x / scale[:, None, None], -20.0, 20.0) * mask[:, :, None]
    out = np.concatenate([sig, np.broadcast_to(mask[:, :, None], sig.shape)], axis=1).astype(np.float32)
    return out if batched else out[0]


def fault_probabilities(net: LeadNet, x12: np.ndarray, present: Sequence[str]) -> dict[str, float]:
    """Softmax over the faults testable with ``present`` leads (untestable ones get 0).

    Parameters
    ----------
    net : LeadNet
    x12 : ndarray, shape (12, T)
        As for :func:`net_input`, at ``net.config.fs``.
    present : sequence of str
        The recorded leads (limb leads completed count as recorded).
    """
    mask = np.array([lead in present for lead in LEADS])
    ok = torch.tensor([is_testable(c, present) for c in CLASSES])
    with torch.no_grad():
        logits = net(torch.from_numpy(net_input(x12, mask))[None])[0].double()
        p = torch.softmax(logits.masked_fill(~ok, float("-inf")), dim=0)
    return {c: float(v) for c, v in zip(CLASSES, p, strict=True)}


def _load(path: str) -> LeadNet:
    from .checkpoint import _READ_ERRORS
    from .digest import verify_checksum

    verify_checksum(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or "state_dict" not in ckpt or tuple(ckpt.get("classes", ())) != CLASSES:
            raise ValueError(f"needs state_dict and classes {CLASSES}")
        cfg = dict(ckpt.get("config", {}))
        for key in ("widths", "kernels"):
            if key in cfg:
                cfg[key] = tuple(cfg[key])
        names = {f.name for f in dataclasses.fields(LeadNetConfig)}
        net = LeadNet(LeadNetConfig(**{k: v for k, v in cfg.items() if k in names}))
        net.load_state_dict(ckpt["state_dict"])
    except _READ_ERRORS as exc:  # what reading any checkpoint can raise, garbage bytes (UnpicklingError) included
        raise ValueError(f"{path}: not a lead-check network checkpoint ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    return net.eval()


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> LeadNet:
    return _load(path)


def load_leadnet(path: str | Path | None = None) -> LeadNet:
    """The lead-check network (default: ``leadcheck.pt`` in :func:`l2g.paths.weights_dir`), cached per file.

    A ``L2G_WEIGHTS_DIR`` without ``leadcheck.pt`` gets the checkout's shipped
    one, as :func:`l2g.paths.linear_file` does for the baseline.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it fails its ``SHA256SUMS`` entry or is not such a checkpoint (a
        pickle that would run code is refused: ``weights_only=True``).
    """
    from .paths import shipped_weights_dir, weights_file

    p = Path(path) if path is not None else weights_file(LEADNET_FILE)
    shipped = shipped_weights_dir()
    if path is None and not p.exists() and shipped is not None:  # a folder with only a generator: the shipped one
        p = shipped / LEADNET_FILE
    if not p.is_file():
        raise FileNotFoundError(f"lead-check network {p} not found (train it: python -m bench.leadcheck_train)")
    return _cached(str(p.resolve()), p.stat().st_mtime)
