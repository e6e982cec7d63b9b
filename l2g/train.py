"""Train the L2G generator against the VTT discriminator.

Single process::

    l2g train --data ../shared/data --out weights/l2g.pt [--config configs/l2g.json]

Distributed (DistributedDataParallel; gloo on CPU, nccl on GPU)::

    torchrun --nproc_per_node 2 -m l2g train --data ../shared/data --out weights/l2g.pt

A run writes, beside ``--out``: ``NAME.ckpt`` (latest state, for ``--resume``),
``NAME.metrics.csv`` (one row per epoch) and ``NAME.metrics.json``. ``--out``
itself receives the best generator (lowest validation MSE on the generated
leads) as a plain dict (:mod:`l2g.checkpoint`: written atomically, read with ``weights_only=True``).

:func:`train` reads top to bottom; each step is a small function below it:
``_start_process`` (process group, device, seeds), ``load_splits``, the linear
prior and the fixed validation windows, ``_build_nets`` (and ``_resume``), then per
epoch and step ``_lr_at`` (cosine schedule), ``_get_batch``, ``_train_step``
(generator forward and reconstruction loss, ``_critic_step``, ``_adversarial_loss``,
``_generator_step``, ``_ema_update``), and per epoch ``_validate`` and ``_save_epoch``.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import os
import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

from .baseline import LinearBaseline
from .checkpoint import (
    CheckpointError,
    build_generator,
    generator_checkpoint,
    load_generator_checkpoint,
    load_training_state,
    save,
    save_linear,
)
from .dataset import WindowDataset, load_mixed_arrays, load_split_arrays, mask_from_leads
from .leads import LEADS
from .losses import band_limit, band_limited_recon_loss, feature_matching_loss, recon_losses, window_weights
from .model import (
    Discriminator,
    Generator,
    GeneratorConfig,
    LeadModel,
    expand12,
    model_args,
    with_residual_scale,
)
from .train_config import TrainConfig, _config_dict, check_files, config_from_dict, load_config

__all__ = ["TrainConfig", "train", "load_config", "config_from_dict", "validation_set", "evaluate_windows",
           "calibrate_residual", "calibrate", "band_limited_recon_loss", "fit_linear", "load_splits"]

log = logging.getLogger(__name__)


# ----------------------------------------------------------------- helpers
def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def validation_set(arrays: list[tuple[str, np.ndarray]], cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """A fixed set of validation windows and availability masks.

    For every record, ``val_windows_per_record`` evenly spaced crops; every
    crop is paired with one subset per k = 1..7 drawn with a fixed seed, so the
    same (window, subset) pairs are scored every epoch and in every run.
    """
    rng = np.random.default_rng(cfg.seed + 1)
    w = cfg.data.window
    xs, masks = [], []
    for _, x in arrays:
        n = x.shape[1]
        if n < w:
            x = np.pad(x, ((0, 0), (0, w - n)))
            n = w
        starts = np.linspace(0, n - w, cfg.val_windows_per_record).astype(int)
        for s in starts:
            for k in range(1, 8):
                for _ in range(max(1, cfg.val_masks_per_k // 2)):
                    avail = tuple(sorted(rng.choice(len(LEADS), size=k, replace=False)))
                    xs.append(x[:, s : s + w])
                    masks.append(mask_from_leads([LEADS[i] for i in avail]))
    return {"x8": torch.from_numpy(np.stack(xs)).float(), "mask": torch.from_numpy(np.stack(masks))}


@torch.no_grad()
def evaluate_windows(
    generator: Generator | None, linear: LinearBaseline, val: dict[str, torch.Tensor], batch: int = 64
) -> dict[str, float]:
    """MSE (mV²) and Pearson r on the generated (unavailable) leads of the validation set.

    With ``generator=None`` the linear baseline is scored. Returns pooled
    ``mse`` and ``r`` and, per number of available leads k, ``mse_k`` and
    ``r_k`` (dicts keyed by k).
    """
    sse = n = 0.0
    rs: list[float] = []
    sse_k: dict[int, float] = {}
    n_k: dict[int, float] = {}
    rs_k: dict[int, list[float]] = {}
    model = LeadModel(linear, generator)
    for i in range(0, len(val["x8"]), batch):
        x8 = val["x8"][i : i + batch]
        mask = val["mask"][i : i + batch]
        x12 = expand12(x8)
        p12 = expand12(model(x12, mask))
        miss = ~mask
        err = ((p12 - x12) ** 2).mean(-1)  # (B, 12)
        sse += float(err[miss].sum())
        n += float(miss.sum())
        pc = p12 - p12.mean(-1, keepdim=True)
        tc = x12 - x12.mean(-1, keepdim=True)
        r = (pc * tc).sum(-1) / (pc.norm(dim=-1) * tc.norm(dim=-1) + 1e-8)
        rs.extend(r[miss].tolist())
        ks = mask.sum(1)
        for k in ks.unique().tolist():
            sel = (ks == k)[:, None] & miss
            sse_k[k] = sse_k.get(k, 0.0) + float(err[sel].sum())
            n_k[k] = n_k.get(k, 0.0) + float(sel.sum())
            rs_k.setdefault(k, []).extend(r[sel].tolist())
    return {"mse": sse / max(n, 1), "r": float(np.mean(rs)) if rs else float("nan"),
            "mse_k": {k: sse_k[k] / max(n_k[k], 1) for k in sorted(sse_k)},
            "r_k": {k: float(np.mean(v)) for k, v in sorted(rs_k.items())}}


@torch.no_grad()
def calibrate_residual(
    generator: Generator, linear: LinearBaseline, val: dict[str, torch.Tensor], batch: int = 64
) -> tuple[float, ...]:
    """Least-squares factors on the generator's learned residual, one per k = 1..7 available leads.

    With ``u`` the generator's (unscaled) output minus the linear prior and
    ``d`` the true leads minus the prior, both expanded to 12 leads, the
    factor for k is ``sum <u, d> / sum <u, u>`` over the unavailable leads of
    the windows with k available leads: the scale of the residual that
    minimises their pooled MSE (mV²). Clipped to [0, 2].

    Parameters
    ----------
    generator : Generator
        Built with ``linear_prior=True``; its own ``residual_scale`` is ignored.
    linear : LinearBaseline
        Its prior.
    val : dict
        Windows and masks as from :func:`validation_set` (should be the
        validation split, never the test split).

    Returns
    -------
    tuple of 7 float
        For k = 1..7; 1.0 for a k without windows.
    """
    if not generator.config.linear_prior:
        raise ValueError("calibrate_residual needs a generator built with linear_prior=True")
    model = LeadModel(linear, with_residual_scale(generator, ()))
    num = np.zeros(8)
    den = np.zeros(8)
    for i in range(0, len(val["x8"]), batch):
        x8 = val["x8"][i : i + batch]
        mask = val["mask"][i : i + batch]
        x12 = expand12(x8)
        pred, prior = model(x12, mask, return_prior=True)
        u = expand12(pred - prior)
        d = x12 - expand12(prior)
        miss = (~mask)[:, :, None].to(u.dtype)
        ks = mask.sum(1).clamp(1, 7).numpy()
        uu = ((u * u) * miss).sum((1, 2)).numpy()
        ud = ((u * d) * miss).sum((1, 2)).numpy()
        np.add.at(den, ks, uu)
        np.add.at(num, ks, ud)
    return tuple(float(np.clip(num[k] / den[k], 0.0, 2.0)) if den[k] > 0 else 1.0 for k in range(1, 8))


def calibrate(weights: str | Path, out: str | Path | None = None, *, data_dir: str | Path | None = None,
              val_arrays: list[tuple[str, np.ndarray]] | None = None, windows_per_record: int = 4,
              masks_per_k: int = 16) -> dict:
    """Fit a checkpoint's per-k residual factors on the validation split and write it back.

    The windows for fitting are a fresh draw (another seed, more windows and
    subsets) from the same validation records that selected the epoch; the
    test split is never read. The factors go into ``model_args``
    (``residual_scale``); the checkpoint's ``summary`` gains a
    ``calibration`` entry with them and the validation scores before and
    after (on the run's usual validation windows).

    Parameters
    ----------
    weights : path
        An L2G generator checkpoint written by :func:`train`.
    out : path, optional
        Where to write the calibrated checkpoint; default: overwrite ``weights``.
    data_dir : path, optional
        Root of the archives; default: the ``data_dir`` the checkpoint was trained on.
    val_arrays : list, optional
        Already loaded validation records (``(record_id, (8, n) array)``).
    windows_per_record, masks_per_k : int
        Size of the fitting draw per validation record.

    Returns
    -------
    dict
        The updated training summary.
    """
    weights = Path(weights)
    ckpt = load_generator_checkpoint(weights)
    if not ckpt.get("train_config"):
        raise CheckpointError(weights, "not a checkpoint written by l2g train (no train_config)")
    # the run's init file (fine-tuning) is history here, not needed
    cfg = config_from_dict({**ckpt["train_config"], "init": ""}, where=str(weights))
    if data_dir is not None:
        cfg = replace(cfg, data_dir=str(data_dir))
    if val_arrays is None:
        val_arrays = _val_arrays(cfg, progress=False)
    if not val_arrays:
        raise ValueError(f"{cfg.split_csv}: no validation records under {cfg.data_dir}")
    linear = LinearBaseline.from_state_dict(ckpt["linear"])
    g = build_generator(ckpt, path=weights, residual_scale=False).eval()
    fit_cfg = replace(cfg, seed=cfg.seed + 1000, val_windows_per_record=windows_per_record,
                      val_masks_per_k=masks_per_k)
    scale = calibrate_residual(g, linear, validation_set(val_arrays, fit_cfg))
    val = validation_set(val_arrays, cfg)
    base = evaluate_windows(None, linear, val)
    before = evaluate_windows(g, linear, val)
    g_cal = with_residual_scale(g, scale)
    after = evaluate_windows(g_cal, linear, val)
    summary = dict(ckpt.get("summary", {}))
    summary["calibration"] = {
        "residual_scale": list(scale),
        "fitted_on": f"val split: {len(val_arrays)} records x {windows_per_record} windows x "
                     f"{max(1, masks_per_k // 2)} subsets per k (seed {fit_cfg.seed + 1})",
        "val_rel_before": relative_score(before, base), "val_rel_after": relative_score(after, base),
        "val_mse_k_after": after["mse_k"], "val_r_k_after": after["r_k"],
    }
    ckpt = {**ckpt, "model_args": model_args(g_cal.config), "summary": summary}
    save(ckpt, Path(out) if out is not None else weights)
    log.info("calibrated %s: residual scale k=1..7 %s; val mse/linear over k %.4f -> %.4f", weights,
             ", ".join(f"{v:.2f}" for v in scale), summary["calibration"]["val_rel_before"],
             summary["calibration"]["val_rel_after"])
    return summary


def relative_score(model: dict, linear: dict) -> float:
    """Mean over k of model MSE / linear MSE (from :func:`evaluate_windows`); < 1 beats linear."""
    ks = [k for k in model["mse_k"] if linear["mse_k"].get(k, 0) > 0]
    return float(np.mean([model["mse_k"][k] / linear["mse_k"][k] for k in ks])) if ks else float("nan")


def fit_linear(train_mixed: list[tuple[str, np.ndarray, float]], cfg: TrainConfig,
               cache_dir: str | Path | None = None) -> LinearBaseline:
    """Fit the linear baseline on the training records of every folder, cached on disk.

    Every record (100-Hz ones already upsampled to the model rate, with no
    content above their band) adds its own lagged covariance with equal
    weight (:meth:`l2g.baseline.LinearBaseline.fit`), so the baseline sees
    the same training records as the generator. A 100-Hz record has no
    power above 50 Hz: the high band of the covariance, and so of the
    filters, comes from the full-rate records alone (plus the ridge).

    The fit (about 55 ms per 10-s record at 250 Hz on one core; ~20 min for
    PTB-XL) is cached under ``cache_dir`` (default ``~/.cache/l2g``) by the
    record ids, a fingerprint of their samples, data settings and linear
    config, so a resumed run does not repeat it.

    With ``cfg.folder_weights``, each data folder is fitted on its own and
    the covariances are mixed with those weights (:meth:`LinearBaseline.mix`),
    as the generator's windows are: the 300 shared records then weigh as much
    as the 22k PTB-XL ones.
    """
    groups = _folder_groups(cfg, train_mixed)
    if groups is not None and len(cfg.folder_weights) > 1:
        parts = []
        for k, weight in enumerate(cfg.folder_weights):
            members = [rec for rec, g in zip(train_mixed, groups, strict=True) if g == k]
            if members and weight > 0:
                parts.append((_fit_linear_cached(members, cfg, cache_dir), weight))
        return LinearBaseline.mix(parts)
    return _fit_linear_cached(train_mixed, cfg, cache_dir)


def _fit_linear_cached(train_mixed: list[tuple[str, np.ndarray, float]], cfg: TrainConfig,
                       cache_dir: str | Path | None = None) -> LinearBaseline:
    """:func:`fit_linear` of one set of records, every record with equal weight (cached by ids and content)."""
    import hashlib

    from .dataset import DEFAULT_CACHE_DIR

    lin_cfg = replace(cfg.linear, fs=cfg.data.fs)
    h = hashlib.sha256(json.dumps([[i for i, _, _ in train_mixed], lin_cfg.to_dict(), cfg.data.highpass_hz,
                                   cfg.data_dirs or [cfg.data_dir]]).encode())
    for _, x, _ in train_mixed:  # a content fingerprint (every 97th sample): a changed record refits
        h.update(np.ascontiguousarray(x[:, ::97], np.float32).tobytes())
    key = h.hexdigest()[:20]
    path = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).expanduser() / f"linear_{key}.pt"
    if path.is_file():
        return LinearBaseline.load(path, lin_cfg)
    linear = LinearBaseline.fit((x for _, x, _ in train_mixed), lin_cfg)
    save_linear(linear, path)
    return linear


def _checkpoint(g: Generator, linear: LinearBaseline, cfg: TrainConfig, summary: dict) -> dict:
    """The shipped generator checkpoint of ``g`` (:func:`l2g.checkpoint.generator_checkpoint`)."""
    return generator_checkpoint(g, linear, fs=cfg.data.fs, window=cfg.data.window, highpass_hz=cfg.data.highpass_hz,
                                train_config=_config_dict(cfg), summary=summary)


@dataclass
class _Nets:
    """The networks and optimisers of a run; ``g_ddp`` / ``d_ddp`` are the DDP wrappers (or the nets)."""

    g: Generator
    g_avg: Generator  # exponential moving average of g (g itself when ema_decay == 0)
    d: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    g_ddp: torch.nn.Module
    d_ddp: torch.nn.Module
    encoder: torch.nn.Module | None = None  # frozen feature-matching encoder (cfg.fm_weight > 0)


@dataclass
class _Progress:
    """What a resumed run continues from."""

    start_epoch: int = 0
    best: float = math.inf
    bad_epochs: int = 0
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0


def _start_process(cfg: TrainConfig) -> tuple[int, int, torch.device]:
    """Join the process group under torchrun, pick the device, seed; returns (rank, world, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    rank, world = _dist_info()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    return rank, world, device


def _val_arrays(cfg: TrainConfig, progress: bool) -> list[tuple[str, np.ndarray]]:
    """The validation records of the first data folder as (id, array), without the PTB-XL-derived ones
    when ``cfg.val_exclude_ptbxl``."""
    from .catalog import ptbxl_ecg_id

    arrays = load_split_arrays(cfg.data_dir, cfg.split_csv, "val", fs=cfg.data.fs, highpass_hz=cfg.data.highpass_hz,
                               progress=progress)
    if cfg.val_exclude_ptbxl:  # no PTB-XL copy left for the patient-wise protocol to filter: its metadata
        return [(rid, x) for rid, x in arrays if ptbxl_ecg_id(rid) is None]  # is not needed (l2g calibrate)
    return _patientwise(cfg, arrays, "val")


def _patientwise(cfg: TrainConfig, items: list, what: str) -> list:
    """``items`` (tuples whose first element is a record id) without the PTB-XL copies outside
    ``cfg.ptbxl_train_folds`` (:func:`l2g.ptbxl.held_out_filter`); unchanged without ``cfg.ptbxl_meta``."""
    if not cfg.ptbxl_meta:
        return items
    from .ptbxl import held_out_filter, load_meta

    keep, counts = held_out_filter(load_meta(cfg.ptbxl_meta), [it[0] for it in items], cfg.ptbxl_train_folds)
    log.info("patient-wise protocol (%s): %d PTB-XL records kept, %d of held-out folds and %d unlisted left out",
             what, counts["kept_ptbxl"], counts["held_out"], counts["unlisted"])
    return [it for it, k in zip(items, keep, strict=True) if k]


def load_splits(cfg: TrainConfig, progress: bool) -> tuple[list, list]:
    """The records at the model rate, high-passed: train as (id, (8, samples) array, source rate Hz)
    from every data folder (:func:`l2g.dataset.load_mixed_arrays`), validation as (id, array) from
    the first folder only."""
    kw = {"fs": cfg.data.fs, "highpass_hz": cfg.data.highpass_hz, "progress": progress}
    train_mixed = _patientwise(cfg, load_mixed_arrays(cfg.data_dirs or [cfg.data_dir], cfg.split_csv, "train",
                                                      extra_limit=cfg.extra_limit, **kw), "train")
    val_arrays = _val_arrays(cfg, progress)
    if not train_mixed or not val_arrays:
        raise ValueError(f"{cfg.split_csv}: empty train or val split under {cfg.data_dir}")
    return train_mixed, val_arrays


def _init_generator(g: Generator, cfg: TrainConfig) -> None:
    """Load ``cfg.init``'s weights into ``g`` (fine-tuning); its architecture must match."""
    init_state = load_generator_checkpoint(cfg.init, verify=False)
    # a calibrated checkpoint's residual factors do not carry over: training starts unscaled
    init_args = model_args(replace(GeneratorConfig(**init_state["model_args"]), residual_scale=()))
    if init_args != model_args(cfg.generator):
        raise ValueError(f"init={cfg.init!r}: its model_args {init_args} differ from "
                         f"this run's generator config {model_args(cfg.generator)}")
    g.load_state_dict(init_state["state_dict"])
    log.info("generator initialised from %s", cfg.init)


def _build_nets(cfg: TrainConfig, device: torch.device) -> _Nets:
    """Generator (random or ``cfg.init``), its average, critic and their AdamW optimisers."""
    g = Generator(cfg.generator).to(device)
    if cfg.init:
        _init_generator(g, cfg)
    # averaged weights (validated and shipped when ema_decay > 0)
    g_avg = copy.deepcopy(g).eval() if cfg.ema_decay > 0 else g
    d = Discriminator(cfg.discriminator).to(device)
    opt_g = torch.optim.AdamW(g.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    opt_d = torch.optim.AdamW(d.parameters(), lr=cfg.lr_d, betas=(0.5, 0.9))
    return _Nets(g, g_avg, d, opt_g, opt_d, g, d, _fm_encoder(cfg, device))


def _fm_encoder(cfg: TrainConfig, device: torch.device) -> torch.nn.Module | None:
    """The frozen feature-matching encoder (eval mode, no gradients to its weights), or None."""
    if cfg.fm_weight <= 0:
        return None
    from .digest import weights_version
    from .fidelity import load_classifier

    check_files(cfg)
    net, ccfg, _ = load_classifier(cfg.fm_encoder)
    if ccfg.arch != "plain" or tuple(ccfg.leads) != tuple(LEADS):
        raise ValueError(f"fm_encoder={cfg.fm_encoder!r}: needs a 12-lead classifier of arch 'plain' "
                         f"(got arch {ccfg.arch!r}, leads {ccfg.leads}); the resnet ones score fidelity")
    log.info("feature matching through %s (weight %g)", weights_version(cfg.fm_encoder), cfg.fm_weight)
    return net.to(device).eval().requires_grad_(False)


def _resume(nets: _Nets, cfg: TrainConfig, ckpt_path: Path) -> _Progress:
    """Restore the nets, optimisers and history from ``ckpt_path``."""
    state = load_training_state(ckpt_path)
    nets.g.load_state_dict(state["g"])
    if cfg.ema_decay > 0:
        nets.g_avg.load_state_dict(state["g_avg"])
    nets.d.load_state_dict(state["d"])
    nets.opt_g.load_state_dict(state["opt_g"])
    nets.opt_d.load_state_dict(state["opt_d"])
    log.info("resumed from %s at epoch %d", ckpt_path, state["epoch"] + 1)
    return _Progress(state["epoch"] + 1, state["best"], state["bad_epochs"], state["history"],
                     state["train_seconds"])


def _wrap_ddp(nets: _Nets, world: int) -> None:
    if world > 1:
        nets.g_ddp, nets.d_ddp = DDP(nets.g), DDP(nets.d)


def _folder_groups(cfg: TrainConfig, train_mixed: list) -> list[int] | None:
    """Each training record's data folder (0 = the first), or None without ``cfg.folder_weights``."""
    if not cfg.folder_weights:
        return None
    from .catalog import data_roots

    labels = [r.label for r in data_roots(cfg.data_dirs or [cfg.data_dir])]
    index = {label: k for k, label in enumerate(labels) if k}
    return [index.get(rid.split("/", 1)[0], 0) if "/" in rid else 0 for rid, _, _ in train_mixed]


def _window_sources(cfg: TrainConfig, train_mixed: list, progress: bool) -> tuple[WindowDataset, WindowDataset | None]:
    """Random crops of the training records (each window knows its record's band), and of synthetic
    ECGs for the first epochs (or None)."""
    groups = _folder_groups(cfg, train_mixed)
    weights = cfg.folder_weights if groups is not None else None
    data = WindowDataset([x for _, x, _ in train_mixed], cfg.data, windows_per_epoch=cfg.windows_per_epoch,
                         seed=cfg.seed, rates=[r for _, _, r in train_mixed], groups=groups, group_weights=weights)
    if not (cfg.synthetic_records and cfg.synthetic_epochs):
        return data, None
    from .synthetic import synthetic_arrays

    synth = WindowDataset(
        synthetic_arrays(cfg.synthetic_records, cfg.data.fs, cfg.data.highpass_hz, seed=cfg.seed, progress=progress),
        cfg.data, windows_per_epoch=cfg.windows_per_epoch, seed=cfg.seed + 7,
    )
    return data, synth


def _lr_at(cfg: TrainConfig, it: int, total_steps: int) -> float:
    """Generator learning rate at step ``it`` of ``total_steps``: cosine decay from ``cfg.lr`` to 5 % of it."""
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * it / max(total_steps, 1))))


def _get_batch(source: WindowDataset, step: int, cfg: TrainConfig, rank: int, world: int,
              device: torch.device) -> tuple[torch.Tensor, ...]:
    """This rank's share of batch ``step``: x8 (B, 8, T) mV, mask (B, 12) available, valid (B, T),
    band_hz (B,) the band each window's record carries."""
    idx = [(step * world + rank) * cfg.batch_size + j for j in range(cfg.batch_size)]
    items = [source[i % len(source)] for i in idx]
    return tuple(torch.stack([it[key] for it in items]).to(device) for key in ("x8", "mask", "valid", "band_hz"))


def _critic_step(nets: _Nets, x8: torch.Tensor, pred: torch.Tensor, x12: torch.Tensor, mask: torch.Tensor) -> float:
    """One hinge-loss step of the critic on real ``x8`` against the detached generated ``pred``."""
    # one forward over real and fake together (one DDP reduction per backward)
    scores = nets.d_ddp(torch.cat([x8, pred.detach()]), torch.cat([x12, x12]), torch.cat([mask, mask]))
    b = x8.shape[0]
    loss_d = sum(F.relu(1 - s[:b]).mean() + F.relu(1 + s[b:]).mean() for s in scores)
    nets.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    nets.opt_d.step()
    return loss_d.item()


def _adversarial_loss(nets: _Nets, pred: torch.Tensor, x12: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial term (the critic's score of ``pred``, negated)."""
    # through the unwrapped critic: no gradient sync for the critic here; its gradients are
    # cleared before its next step
    return -sum(f.mean() for f in nets.d(pred, x12, mask))


def _generator_step(nets: _Nets, loss: torch.Tensor) -> None:
    """Backpropagate ``loss`` into the generator, clip its gradient norm at 5 and step."""
    nets.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(nets.g.parameters(), 5.0)
    nets.opt_g.step()


@torch.no_grad()
def _ema_update(g_avg: torch.nn.Module, g: torch.nn.Module, decay: float) -> None:
    """``g_avg <- decay * g_avg + (1 - decay) * g`` for floating tensors; others copied."""
    for a, b in zip(g_avg.state_dict().values(), g.state_dict().values(), strict=True):
        if a.dtype.is_floating_point:
            a.lerp_(b, 1.0 - decay)
        else:
            a.copy_(b)


def _train_step(nets: _Nets, batch: tuple[torch.Tensor, ...], cfg: TrainConfig, model: LeadModel,
                use_adv: bool) -> dict:
    """One optimisation step on one batch; returns the loss parts (floats) for the epoch means.

    ``model`` is the forward path (:class:`l2g.model.LeadModel`) over ``nets.g_ddp``."""
    x8, mask, valid, band = batch
    x12 = expand12(x8)
    pred, prior = model(x12, mask, return_prior=True)
    weights = (window_weights(prior, x8, mask, valid, power=cfg.loss_norm_power)
               if cfg.loss_norm == "linear" else None)
    # a window of a low-rate record is scored on the band it carries only (l2g.losses.band_limit): output and
    # target low-passed once, then every term (reconstruction, feature matching, critic) compares like with like
    pred_b, x8_b = band_limit(pred, band, cfg.data.fs), band_limit(x8, band, cfg.data.fs)
    loss, parts = recon_losses(pred_b, x8_b, mask, valid, cfg, weights)  # = band_limited_recon_loss
    if nets.encoder is not None:
        fm = feature_matching_loss(nets.encoder, pred_b, x8_b, valid, cfg.data.fs)
        loss = loss + cfg.fm_weight * fm
        parts["fm"] = fm.item()
    if use_adv:
        parts["d"] = _critic_step(nets, x8, pred_b, x12, mask)
        adv = _adversarial_loss(nets, pred_b, x12, mask)
        loss = loss + cfg.adv_weight * adv
        parts["adv"] = adv.item()
    _generator_step(nets, loss)
    if cfg.ema_decay > 0:
        _ema_update(nets.g_avg, nets.g, cfg.ema_decay)
    return parts


def _validate(nets: _Nets, linear: LinearBaseline, val: dict, base_val: dict, epoch: int, train_seconds: float,
             lr: float, sums: dict[str, float], steps: int, use_adv: bool, synthetic: bool) -> dict:
    """Score the (averaged) generator on the validation windows; returns the epoch's metrics row."""
    nets.g.eval()
    metrics = evaluate_windows(nets.g_avg, linear, val)
    return {"epoch": epoch, "seconds": round(train_seconds, 1), "lr": lr,
            **{f"train_{k}": v / max(steps, 1) for k, v in sums.items()},
            "val_mse": metrics["mse"], "val_r": metrics["r"],
            "linear_val_mse": base_val["mse"], "linear_val_r": base_val["r"],
            "val_rel": relative_score(metrics, base_val),
            **{f"val_mse_k{k}": v for k, v in metrics["mse_k"].items()},
            **{f"val_r_k{k}": v for k, v in metrics["r_k"].items()},
            **{f"linear_val_mse_k{k}": v for k, v in base_val["mse_k"].items()},
            **{f"linear_val_r_k{k}": v for k, v in base_val["r_k"].items()},
            "adversarial": use_adv, "synthetic": synthetic}


def _save_epoch(nets: _Nets, linear: LinearBaseline, cfg: TrainConfig, prog: _Progress, epoch: int,
                     improved: bool, summary: dict, out: Path) -> None:
    """Rank 0: the shipped weights when improved, the resumable state and the metrics files."""
    if improved:
        save(_checkpoint(nets.g_avg, linear, cfg, summary), out)
    save({"g": nets.g.state_dict(), "g_avg": nets.g_avg.state_dict(), "d": nets.d.state_dict(),
           "opt_g": nets.opt_g.state_dict(), "opt_d": nets.opt_d.state_dict(), "epoch": epoch, "best": prog.best,
           "bad_epochs": prog.bad_epochs, "history": prog.history, "train_seconds": prog.train_seconds,
           "config": _config_dict(cfg)}, out.with_suffix(".ckpt"))
    _write_metrics(prog.history, out.with_suffix(".metrics.csv"), out.with_suffix(".metrics.json"))


# -------------------------------------------------------------------- main
def train(cfg: TrainConfig, out: str | Path, resume: bool = True, progress: bool = True) -> dict:
    """Run (or resume) training; returns the summary stored in the checkpoint.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the process group is initialised
    here; every rank computes on its share of each batch and gradients are
    averaged by DistributedDataParallel; only rank 0 writes files.
    """
    from tqdm import tqdm

    check_files(cfg)  # a config built in Python (not by load_config) names real files too
    rank, world, device = _start_process(cfg)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    train_mixed, val_arrays = load_splits(cfg, progress and rank == 0)
    train_arrays = [(rid, x) for rid, x, _ in train_mixed]
    linear = fit_linear(train_mixed, cfg)
    val = validation_set(val_arrays, cfg)
    base_val = evaluate_windows(None, linear, val)
    nets = _build_nets(cfg, device)
    prog = _resume(nets, cfg, out.with_suffix(".ckpt")) if resume and out.with_suffix(".ckpt").exists() else _Progress()
    _wrap_ddp(nets, world)
    data, synth = _window_sources(cfg, train_mixed, progress and rank == 0)
    steps = cfg.windows_per_epoch // (cfg.batch_size * world)
    total_steps = cfg.epochs * steps
    model = LeadModel(linear, nets.g_ddp)  # linear prior -> generator -> available leads kept

    for epoch in range(prog.start_epoch, cfg.epochs):
        t0 = time.time()
        source = synth if synth is not None and epoch < cfg.synthetic_epochs else data
        source.set_epoch(epoch)
        nets.g_ddp.train()
        nets.d_ddp.train()
        use_adv = cfg.adv_weight > 0 and epoch >= cfg.adv_start_epoch
        sums: dict[str, float] = {}
        bar = tqdm(range(steps), desc=f"epoch {epoch}", disable=not progress or rank != 0, leave=False)
        for step in bar:
            lr = _lr_at(cfg, epoch * steps + step, total_steps)
            for group in nets.opt_g.param_groups:
                group["lr"] = lr
            parts = _train_step(nets, _get_batch(source, step, cfg, rank, world, device), cfg, model, use_adv)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix(mse=f"{parts['mse']:.4f}")
        prog.train_seconds += time.time() - t0

        row = _validate(nets, linear, val, base_val, epoch, prog.train_seconds, lr, sums, steps, use_adv,
                       source is synth)
        prog.history.append(row)
        # an adversarial run ships an adversarially trained generator: only those epochs compete
        eligible = cfg.adv_weight == 0 or use_adv
        score = {"relative": row["val_rel"], "mse": row["val_mse"], "last": -epoch}[cfg.select]
        improved = eligible and score < prog.best
        if improved:
            prog.best, prog.bad_epochs = score, 0
        elif eligible:
            prog.bad_epochs += 1
        if rank == 0:
            log.info("epoch %d: val mse %.5f r %.4f (linear %.5f / %.4f), mse/linear over k %.4f%s", epoch,
                     row["val_mse"], row["val_r"], base_val["mse"], base_val["r"], row["val_rel"],
                     " *" if improved else "")
            summary = _summary(cfg, prog.history, prog.train_seconds, world, device, train_arrays, val_arrays)
            _save_epoch(nets, linear, cfg, prog, epoch, improved, summary, out)
        if prog.bad_epochs >= cfg.patience:
            log.info("early stop at epoch %d", epoch)
            break
    summary = _summary(cfg, prog.history, prog.train_seconds, world, device, train_arrays, val_arrays)
    if cfg.calibrate and rank == 0 and out.exists():
        summary = calibrate(out, val_arrays=val_arrays)
    if world > 1:
        summary["replica_max_abs_diff"] = replica_divergence([nets.g, nets.d])
        if rank == 0:
            (out.with_suffix(".replicas.json")).write_text(json.dumps(
                {"world_size": world, "replica_max_abs_diff": summary["replica_max_abs_diff"]}))
        dist.barrier()
    return summary


def replica_divergence(modules: list[torch.nn.Module]) -> float:
    """Largest absolute difference of any parameter or buffer between DDP ranks (0.0 = identical)."""
    flat = torch.cat([t.detach().float().reshape(-1) for m in modules
                      for t in [*m.parameters(), *m.buffers()]])
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return max(float((g - gathered[0]).abs().max()) for g in gathered)


def _summary(cfg, history, seconds, world, device, train_arrays, val_arrays) -> dict:
    pool = [r for r in history if cfg.adv_weight == 0 or r["adversarial"]] or history
    key = {"relative": "val_rel", "mse": "val_mse", "last": "epoch"}[cfg.select]
    sign = -1 if cfg.select == "last" else 1
    best = min(pool, key=lambda r: sign * r.get(key, math.inf)) if pool else {}
    return {
        "epochs_run": len(history),
        "best_epoch": best.get("epoch"),
        "selected_by": key,
        "init": cfg.init or None,
        "val_mse": best.get("val_mse"),
        "val_r": best.get("val_r"),
        "val_rel": best.get("val_rel"),
        "val_mse_k": {k: best[f"val_mse_k{k}"] for k in range(1, 8) if f"val_mse_k{k}" in best},
        "val_r_k": {k: best[f"val_r_k{k}"] for k in range(1, 8) if f"val_r_k{k}" in best},
        "linear_val_mse": best.get("linear_val_mse"),
        "linear_val_r": best.get("linear_val_r"),
        "train_seconds": round(seconds, 1),
        "world_size": world,
        "device": str(device),
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpu",
        "torch": str(torch.__version__),
        "n_train_records": len(train_arrays),
        "n_val_records": len(val_arrays),
        "train_ids_sha": _ids_digest([i for i, _ in train_arrays]),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _ids_digest(ids: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def _write_metrics(history: list[dict], csv_path: Path, json_path: Path) -> None:
    keys = sorted({k for row in history for k in row}, key=lambda k: (k != "epoch", k))
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    json_path.write_text(json.dumps(history, indent=1))
