"""The training run's settings: :class:`TrainConfig` (saved in the checkpoint) and reading it from a
JSON or TOML file or a checkpoint's plain dict (:func:`load_config`, :func:`config_from_dict`).
:mod:`l2g.train` re-exports these names.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .baseline import LinearConfig
from .dataset import DataConfig
from .model import (
    DiscriminatorConfig,
    GeneratorConfig,
)

__all__ = ["TrainConfig", "load_config", "config_from_dict", "check_files"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved in the checkpoint."""

    data_dir: str = "../shared/data"  # root of the ECG archives
    # several data folders (first = data_dir, the one split_csv describes; the others add training
    # records, see l2g.dataset.load_mixed_arrays); () = data_dir alone
    data_dirs: tuple[str, ...] = ()
    extra_limit: int = 0  # at most this many records per extra folder (0 = all; for smoke runs)
    # share of training windows drawn from each data folder (one weight per folder, first = data_dir),
    # e.g. (1, 1): half the windows from the shared archive, half from PTB-XL; () = every record
    # equally likely (then the 22k PTB-XL records supply 98.6 % of the windows)
    folder_weights: tuple[float, ...] = ()
    # validate (select the epoch, calibrate) on the validation records not derived from PTB-XL only
    # (l2g.catalog.ptbxl_ecg_id): with PTB-XL in training, its own copies would favour it
    val_exclude_ptbxl: bool = False
    # PTB-XL's patient-wise protocol (l2g.ptbxl): with a ptbxl_database.csv here, every PTB-XL copy in
    # any folder (train and validation) is kept only when its ECG's strat_fold is in ptbxl_train_folds,
    # so no fold-9/10 patient reaches training or model selection; "" = off
    ptbxl_meta: str = ""
    ptbxl_train_folds: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    split_csv: str = "splits/split.csv"  # record_id,split (ids only)
    epochs: int = 60  # maximum epochs
    windows_per_epoch: int = 4096  # random crops per epoch (all ranks together)
    batch_size: int = 32  # per rank
    lr: float = 1e-3  # AdamW learning rate (generator); cosine decay to 5 %
    lr_d: float = 2e-4  # discriminator learning rate
    weight_decay: float = 1e-4
    adv_weight: float = 0.02  # weight of the adversarial (VTT) loss; 0 = reconstruction only
    adv_start_epoch: int = 5  # reconstruction-only warm-up epochs
    grad_weight: float = 0.5  # weight of the first-difference MSE (sharp QRS)
    amp_weight: float = 0.1  # weight of the per-lead log-amplitude (RMS) mismatch
    # feature matching (l2g.losses.feature_matching_loss): weight, and the frozen encoder's file (a
    # l2g.fidelity classifier of arch "plain", never one of the classifiers that score fidelity); 0 = off
    fm_weight: float = 0.0
    fm_encoder: str = ""
    patience: int = 12  # early stopping: epochs without validation improvement
    # "none": every missing-lead sample counts the same (windows with few available leads, whose
    # errors are largest, dominate); "linear": each window's reconstruction terms are divided by
    # the linear prior's error on that window, so every k and subset counts as "beat the baseline"
    loss_norm: str = "none"
    # with loss_norm="linear": weights 1 / error ** power (1 = full normalisation, 0.5 = halfway)
    loss_norm_power: float = 1.0
    # exponential moving average of the generator weights per step (0 = off); validation and
    # the shipped weights use the average
    ema_decay: float = 0.0
    # validation score that selects the shipped epoch: "mse" (pooled over all windows),
    # "relative" (mean over k = 1..7 of model MSE / linear MSE) or "last" (the last epoch run: for a
    # loss the validation MSE does not measure, chosen afterwards on another validation, e.g. fold 9)
    select: str = "mse"
    # start the generator from this l2g checkpoint's weights (fine-tuning); "" = random init
    init: str = ""
    # after training, fit the per-k residual factors on the validation split (see calibrate)
    calibrate: bool = False
    synthetic_records: int = 0  # deepfake-ecg ECGs for pretraining (0 = none)
    synthetic_epochs: int = 0  # first epochs trained on synthetic ECGs only, then real ones
    seed: int = 1234
    threads: int = 0  # torch intra-op threads per process; 0 = leave default
    val_windows_per_record: int = 2  # fixed crops per validation record
    val_masks_per_k: int = 4  # availability subsets per k = 1..7 in validation
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    linear: LinearConfig = field(default_factory=LinearConfig)


_CHOICES = {"loss_norm": ("none", "linear"), "select": ("mse", "relative", "last")}


def _check_config(cfg: TrainConfig) -> TrainConfig:
    for name, valid in _CHOICES.items():
        if getattr(cfg, name) not in valid:
            raise ValueError(f"training option {name}={getattr(cfg, name)!r} is not one of {valid}")
    if not 0 < cfg.loss_norm_power <= 2:
        raise ValueError(f"training option loss_norm_power must be in (0, 2], got {cfg.loss_norm_power!r}")
    if not 0 <= cfg.ema_decay < 1:
        raise ValueError(f"training option ema_decay must be in [0, 1), got {cfg.ema_decay!r}")
    if cfg.fm_weight < 0 or (cfg.fm_weight > 0 and not cfg.fm_encoder):
        raise ValueError(f"training option fm_weight={cfg.fm_weight!r} needs fm_weight >= 0 and, when > 0, "
                         f"fm_encoder naming a classifier file (got {cfg.fm_encoder!r})")
    if cfg.extra_limit < 0:
        raise ValueError(f"training option extra_limit must be >= 0, got {cfg.extra_limit!r}")
    if cfg.data_dirs:  # the first folder is the one split_csv, validation and calibration use
        dirs = tuple(str(d) for d in cfg.data_dirs)
        cfg = replace(cfg, data_dirs=dirs, data_dir=dirs[0])
    cfg = replace(cfg, ptbxl_train_folds=tuple(int(f) for f in cfg.ptbxl_train_folds))
    if cfg.folder_weights:
        fw = tuple(float(w) for w in cfg.folder_weights)
        n_dirs = len(cfg.data_dirs) or 1
        if len(fw) != n_dirs or min(fw) < 0 or sum(fw) <= 0:
            raise ValueError(f"training option folder_weights={cfg.folder_weights!r}: need {n_dirs} non-negative "
                             f"weight(s), one per data folder, not all 0")
        cfg = replace(cfg, folder_weights=fw)
    return cfg


def load_config(path: str | Path | None, **overrides: object) -> TrainConfig:
    """Read a JSON or TOML file into a :class:`TrainConfig` (nested keys for sub-configs)."""
    raw: dict = {}
    if path is not None:
        p = Path(path)
        text = p.read_text()
        raw = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    return check_files(config_from_dict({**raw, **{k: v for k, v in overrides.items() if v is not None}},
                                        where=str(path)))


def check_files(cfg: TrainConfig) -> TrainConfig:
    """Refuse a run's config whose ``init`` or ``fm_encoder`` file does not exist (a ValueError naming it).

    Checked for a config a run is given (:func:`load_config`, and :func:`l2g.train.train` at its start),
    not by :func:`config_from_dict`: a shipped checkpoint's ``train_config`` names these files by the paths
    it was trained with, and reading it from another folder must work.
    """
    if cfg.init and not Path(cfg.init).is_file():
        raise ValueError(f"training option init={cfg.init!r}: no such checkpoint file")
    if cfg.fm_weight > 0 and not Path(cfg.fm_encoder).is_file():
        raise ValueError(f"training option fm_encoder={cfg.fm_encoder!r}: no such classifier file "
                         "(python -m bench.diagnostic encoder makes weights/candidates/fm_encoder.pt)")
    return cfg


def config_from_dict(raw: dict, where: str = "config") -> TrainConfig:
    """A :class:`TrainConfig` from plain nested dicts (a config file, or a checkpoint's ``train_config``)."""
    sub = {"data": DataConfig, "generator": GeneratorConfig, "discriminator": DiscriminatorConfig,
           "linear": LinearConfig}
    valid = {f.name for f in fields(TrainConfig)}
    kwargs: dict = {}
    for key, value in raw.items():
        if key not in valid:
            raise ValueError(f"{where}: unknown training option {key!r}; valid: {sorted(valid)}")
        if key in sub and isinstance(value, dict):
            names = {f.name for f in fields(sub[key])}
            bad = set(value) - names
            if bad:
                raise ValueError(f"{where}: unknown {key} option(s) {sorted(bad)}; valid: {sorted(names)}")
            value = sub[key](**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
        kwargs[key] = value
    return _check_config(TrainConfig(**kwargs))


def _config_dict(cfg: TrainConfig) -> dict:
    return json.loads(json.dumps(asdict(cfg)))
