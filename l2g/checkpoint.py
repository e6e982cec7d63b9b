"""Save, load and verify the files that hold a model: one place for the generator checkpoint.

Every file is a plain dict of tensors and builtins, written atomically (:func:`save`: a temporary file
beside the target, then ``os.replace``, so a crash never leaves half a checkpoint under the real name)
and read with ``torch.load(..., weights_only=True)`` (:func:`load`: no pickled code is executed). A file
that cannot be read, or is not the kind asked for, raises :class:`CheckpointError` (a ``ValueError``)
naming the file.

The generator checkpoint (``l2g.pt``, the ``--out`` of ``l2g train``) is built by
:func:`generator_checkpoint` and read by :func:`load_generator_checkpoint` (checked against
``SHA256SUMS`` first, :func:`l2g.digest.verify_checksum`) and :func:`build_generator`; keys:

==============  ==========================================================================
``format``      ``"l2g-generator/1"``
``version``     the ``l2g`` version that wrote it
``state_dict``  the generator's weights
``model_args``  the :class:`l2g.model.GeneratorConfig` that rebuilds it (the architecture
                travels with the weights)
``linear``      the linear prior's :meth:`l2g.baseline.LinearBaseline.state_dict`
``leads_in``    the 12 input leads; ``leads_out`` the 8 independent leads generated
``fs``          model rate, Hz; ``window`` training window, samples
``highpass_hz`` the baseline high-pass applied to the inputs
``train_config`` and ``summary``: the run that made it (:mod:`l2g.train`)
==============  ==========================================================================

The resumable training state (``NAME.ckpt``) goes through :func:`save` and :func:`load_training_state`;
the linear baseline file (``linear.pt``) through :func:`save_linear` and :func:`load_linear`. The lead-check
network (:mod:`l2g.leadnet`) and the reference classifiers (:mod:`l2g.fidelity`) keep their own formats.

Examples
--------
>>> import tempfile, torch
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "x.pt"
>>> save({"w": torch.zeros(2)}, path)
>>> load(path, required=("w",))["w"].tolist()
[0.0, 0.0]
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .baseline import LinearBaseline
from .digest import verify_checksum
from .leads import INDEPENDENT_LEADS, LEADS
from .model import Generator, GeneratorConfig, model_args

__all__ = [
    "CheckpointError",
    "GENERATOR_FORMAT",
    "save",
    "load",
    "generator_checkpoint",
    "load_generator_checkpoint",
    "build_generator",
    "load_generator",
    "load_training_state",
    "save_linear",
    "load_linear",
]

#: The ``format`` key of a generator checkpoint.
GENERATOR_FORMAT = "l2g-generator/1"

# what torch.load and load_state_dict raise for a missing, truncated, foreign or corrupt file
_READ_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, EOFError, IndexError, AttributeError,
                pickle.UnpicklingError)
_GENERATOR_KEYS = ("state_dict", "model_args")
_TRAINING_KEYS = ("g", "d", "opt_g", "opt_d", "epoch", "best", "bad_epochs", "history", "train_seconds")


class CheckpointError(ValueError):
    """A file that cannot be read as the checkpoint asked for (missing, corrupt, foreign, unsafe).

    Attributes
    ----------
    path : Path
        The file.
    reason : str
        Why, without the file name (``str(error)`` is ``"<path>: <reason>"``).
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _why(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def save(obj: dict[str, Any], path: str | Path) -> None:
    """Write a plain dict with ``torch.save``, atomically: a temporary file beside ``path``, then ``os.replace``.

    A failed write removes its temporary file and leaves any earlier file at ``path`` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: str | Path, *, required: Sequence[str] = (), kind: str = "checkpoint") -> dict[str, Any]:
    """Read a file written by :func:`save` (``weights_only=True``) and check it holds the ``required`` keys.

    Raises
    ------
    CheckpointError
        When the file is missing, unreadable, unsafe to unpickle, not a dict, or lacks a required key.
    """
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except _READ_ERRORS as exc:
        raise CheckpointError(path, f"cannot read the {kind} ({_why(exc)})") from exc
    missing = [k for k in required if not isinstance(obj, dict) or k not in obj]
    if missing:
        raise CheckpointError(path, f"not an L2G {kind} (no {' / '.join(missing)})")
    if not isinstance(obj, dict):
        raise CheckpointError(path, f"not an L2G {kind} (a {type(obj).__name__}, not a dict)")
    return obj


# ------------------------------------------------------------------ the generator
def generator_checkpoint(g: Generator, linear: LinearBaseline, *, fs: float, window: int, highpass_hz: float,
                         train_config: dict | None = None, summary: dict | None = None) -> dict[str, Any]:
    """The generator checkpoint dict (module docstring) of ``g`` and its linear prior."""
    return {
        "format": GENERATOR_FORMAT,
        "version": __version__,
        "state_dict": {k: v.detach().cpu().clone() for k, v in g.state_dict().items()},
        "model_args": model_args(g.config),
        "linear": linear.state_dict(),
        "leads_in": list(LEADS),
        "leads_out": list(INDEPENDENT_LEADS),
        "fs": float(fs),
        "window": int(window),
        "highpass_hz": float(highpass_hz),
        "train_config": dict(train_config or {}),
        "summary": dict(summary or {}),
    }


def load_generator_checkpoint(path: str | Path, *, verify: bool = True) -> dict[str, Any]:
    """A generator checkpoint as a dict, checked against ``SHA256SUMS`` first (``verify``).

    Raises
    ------
    CheckpointError
        On a checksum mismatch, an unreadable file or one without ``state_dict`` / ``model_args``.
    """
    if verify:
        try:
            verify_checksum(path)
        except (OSError, ValueError) as exc:
            raise CheckpointError(path, _why(exc)) from exc
    return load(path, required=_GENERATOR_KEYS, kind="generator checkpoint")


def build_generator(ckpt: dict[str, Any], *, path: str | Path = "<checkpoint>",
                    residual_scale: bool = True) -> Generator:
    """The generator of a checkpoint dict (train mode, CPU); ``residual_scale=False`` drops the calibration.

    Raises
    ------
    CheckpointError
        When ``model_args`` or ``state_dict`` do not build a generator (naming ``path``).
    """
    try:
        cfg = GeneratorConfig(**ckpt["model_args"])
        if not residual_scale:
            from dataclasses import replace

            cfg = replace(cfg, residual_scale=())
        g = Generator(cfg)
        g.load_state_dict(ckpt["state_dict"])
    except _READ_ERRORS as exc:
        raise CheckpointError(path, f"not a usable generator checkpoint ({_why(exc)})") from exc
    return g


def load_generator(path: str | Path, *, verify: bool = True) -> tuple[Generator, LinearBaseline, dict[str, Any]]:
    """Generator (eval mode, CPU), its linear prior and the checkpoint dict of a generator file."""
    ckpt = load_generator_checkpoint(path, verify=verify)
    g = build_generator(ckpt, path=path).eval()
    try:
        linear = LinearBaseline.from_state_dict(ckpt["linear"])
    except _READ_ERRORS as exc:
        raise CheckpointError(path, f"no usable linear prior ({_why(exc)})") from exc
    return g, linear, ckpt


# ------------------------------------------------------------------ training state, linear baseline
def load_training_state(path: str | Path) -> dict[str, Any]:
    """The resumable state ``l2g train`` writes beside its output (``NAME.ckpt``)."""
    return load(path, required=_TRAINING_KEYS, kind="training state")


def save_linear(linear: LinearBaseline, path: str | Path) -> None:
    """Write a linear baseline file (``linear.pt``) atomically."""
    save(linear.state_dict(), path)


def load_linear(path: str | Path, *, verify: bool = True) -> LinearBaseline:
    """A linear baseline file, checked against ``SHA256SUMS`` first (``verify``)."""
    if verify:
        try:
            verify_checksum(path)
        except (OSError, ValueError) as exc:
            raise CheckpointError(path, _why(exc)) from exc
    state = load(path, kind="linear baseline")
    try:
        return LinearBaseline.from_state_dict(state)
    except _READ_ERRORS as exc:
        raise CheckpointError(path, _why(exc)) from exc
