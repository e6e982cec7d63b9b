"""Training data: records -> independent-lead arrays -> random windows with random lead subsets.

The pipeline is::

    read_record  ->  to_independent (resample, remove baseline wander, I, II, V1-V6)
                 ->  load_split_arrays (one split, cached as .npz)
                 ->  WindowDataset (random crop + availability mask + augmentation)
                 ->  make_input (12 leads, unavailable ones zeroed)

All arrays are float32 in mV at the model rate :attr:`DataConfig.fs`.
Only the 8 independent leads are stored; the other 4 follow exactly
(:data:`l2g.leads.EXPAND_8_TO_12`).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .leads import CHEST_LEADS, EXPAND_8_TO_12, INDEPENDENT_LEADS, LEADS, PRESETS, complete_limb_leads, parse_lead_list
from .paths import DEFAULT_CACHE_DIR  # where load_split_arrays caches the converted splits
from .preprocess import HIGHPASS_HZ
from .record import Record

__all__ = [
    "DataConfig",
    "to_independent",
    "load_split_arrays",
    "sample_available",
    "mask_from_leads",
    "WindowDataset",
    "make_input",
    "DEFAULT_CACHE_DIR",
    "BAND_FRACTION",
    "band_hz",
    "load_mixed_arrays",
    "extra_ids",
]

# bump when the conversion changes, so old caches are not reused
_CACHE_VERSION = 2
# relative weight of k = 1..7 available leads in sample_available: extra weight on 1 and 2 leads,
# the hardest cases and the ones wearables give
_K_WEIGHTS = np.array([2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
# clinical presets with 1-7 leads (the study's range)
_PRESET_SUBSETS = tuple(parse_lead_list(v) for v in PRESETS.values() if 1 <= len(v) <= 7)
_E_TORCH = torch.from_numpy(EXPAND_8_TO_12.copy())  # (12, 8)


@dataclass(frozen=True)
class DataConfig:
    """How records become training windows (travels with the weights in the train config)."""

    # model rate in Hz: halves the compute of 500 Hz data on 2-core CPUs and keeps the
    # diagnostic ECG band (<= 100 Hz, below the 125 Hz Nyquist frequency)
    fs: float = 250.0
    # baseline-wander high-pass cut-off in Hz (zero-phase Butterworth); None = no filter
    highpass_hz: float | None = HIGHPASS_HZ
    # window length in samples at fs (4.1 s at 250 Hz: 3-6 beats); a multiple of 16 for the U-Net
    window: int = 1024
    # probability that a window's available leads are one of the clinical PRESETS (1-7 leads)
    presets_weight: float = 0.3
    # relative weights of k = 1..7 available leads when no preset is drawn
    k_weights: tuple[float, ...] = (2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    # master switch for the augmentations below (False: plain crops, for measuring their effect)
    augment: bool = True
    # amplitude scaling: one log-uniform factor in [lo, hi] for all leads (body habitus, gain);
    # (1.0, 1.0) disables
    amp_scale: tuple[float, float] = (0.8, 1.25)
    # white Gaussian noise, standard deviation in mV, independent per lead; 0 disables
    noise_mv: float = 0.01
    # residual baseline drift: a sine per lead with amplitude uniform in [0, drift_mv] mV,
    # frequency uniform in [0.05, drift_hz] Hz and random phase; 0 disables
    drift_mv: float = 0.05
    drift_hz: float = 0.5

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"DataConfig: fs must be a positive number in Hz, got {self.fs!r}")
        if int(self.window) != self.window or self.window < 1:
            raise ValueError(f"DataConfig: window must be a positive number of samples, got {self.window!r}")
        if not 0 <= self.presets_weight <= 1:
            raise ValueError(f"DataConfig: presets_weight must be in [0, 1], got {self.presets_weight!r}")
        kw = tuple(float(v) for v in self.k_weights)
        if len(kw) != 7 or min(kw) < 0 or sum(kw) <= 0:
            raise ValueError(
                f"DataConfig: k_weights must be 7 non-negative weights for k = 1..7 (not all 0), got {self.k_weights!r}"
            )
        object.__setattr__(self, "k_weights", kw)
        lo, hi = self.amp_scale
        if not 0 < lo <= hi:
            raise ValueError(f"DataConfig: amp_scale must be (lo, hi) with 0 < lo <= hi, got {self.amp_scale!r}")
        for name in ("noise_mv", "drift_mv"):
            if getattr(self, name) < 0:
                raise ValueError(f"DataConfig: {name} must be >= 0, got {getattr(self, name)!r}")
        if self.drift_hz < 0.05:
            raise ValueError(f"DataConfig: drift_hz must be >= 0.05 Hz, got {self.drift_hz!r}")
        object.__setattr__(self, "amp_scale", (float(lo), float(hi)))


# ---------------------------------------------------------------- records
def to_independent(
    record: Record, fs: float = 250.0, highpass_hz: float | None = HIGHPASS_HZ, *, flat_mv: float = 0.02
) -> np.ndarray:
    """The 8 independent leads of a record at the model rate.

    Steps (as at inference in :func:`l2g.reconstruction.reconstruct`):
    :func:`l2g.preprocess.resample` to ``fs``, then
    :func:`l2g.preprocess.remove_baseline` at ``highpass_hz``, then pick I, II
    and V1–V6. When I or II is unusable but two limb leads are usable, they
    are derived exactly (:func:`l2g.leads.complete_limb_leads`).

    A lead is unusable when it is absent or *flat*: a peak-to-peak range
    below ``flat_mv`` over the whole record. Flat leads are disconnected
    electrodes stored as zeros (6 of the 448 records in ``shared/data``, all
    Ningbo); every real lead shows at least its QRS complex (> 0.1 mV).

    Parameters
    ----------
    record : Record
        Any rate and lead layout.
    fs : float
        Output rate in Hz.
    highpass_hz : float or None
        Baseline-wander cut-off in Hz; None skips the filter.
    flat_mv : float
        Peak-to-peak range (mV) below which a lead counts as flat; 0 disables.

    Returns
    -------
    ndarray of float32, shape (8, n)
        I, II, V1–V6 in mV, ``n = round(record.n_samples * fs / record.fs)``.

    Raises
    ------
    ValueError
        If a chest lead is unusable, or fewer than two limb leads are usable
        when I or II is unusable.
    """
    from .preprocess import remove_baseline, resample

    rec = record.standardize()
    present = [st != "absent" for st in rec.status]
    flat = [p and float(np.ptp(row)) < flat_mv for p, row in zip(present, rec.signal, strict=True)]
    usable = {lead for lead, p, f in zip(LEADS, present, flat, strict=True) if p and not f}
    bad_chest = [c for c in CHEST_LEADS if c not in usable]
    if bad_chest:
        why = ", ".join(f"{c} ({'flat' if flat[LEADS.index(c)] else 'absent'})" for c in bad_chest)
        raise ValueError(f"{record.name}: unusable chest lead(s) {why}; need V1-V6")
    limb = [lead for lead in LEADS[:6] if lead in usable]
    direct = "I" in usable and "II" in usable
    if not direct and len(limb) < 2:
        raise ValueError(
            f"{record.name}: need I and II or any two usable (present, not flat) limb leads, "
            f"got {', '.join(limb) or 'none'}"
        )
    rec = resample(rec, fs)
    if highpass_hz is not None:
        rec = remove_baseline(rec, highpass_hz)
    sig = rec.signal
    if direct:
        lead_i, lead_ii = sig[0], sig[1]
    else:
        derived = complete_limb_leads({lead: sig[LEADS.index(lead)] for lead in limb})
        lead_i, lead_ii = derived["I"], derived["II"]
    out = np.stack([lead_i, lead_ii, *(sig[LEADS.index(c)] for c in CHEST_LEADS)]).astype(np.float32)
    return np.ascontiguousarray(out)


def _resolve(data_dir: Path, record_id: str) -> Path | None:
    from .catalog import record_path

    try:
        return record_path(data_dir, record_id)
    except ValueError:
        return None


def _read_split_ids(split_csv: str | Path, split: str) -> list[str]:
    from .catalog import load_split

    table = load_split(split_csv)
    known = sorted(set(table["split"]))
    if split not in known:
        raise ValueError(f"{split_csv}: no split {split!r}; splits are {known}")
    return table.loc[table["split"] == split, "record_id"].tolist()


def _cache_key(data_dir: Path, ids: Sequence[str], split: str, fs: float, highpass_hz: float | None) -> str:
    """Digest of everything the converted split depends on (ids, files' mtimes and sizes, settings)."""
    h = hashlib.sha256()
    h.update(json.dumps([_CACHE_VERSION, str(data_dir.resolve()), split, fs, highpass_hz]).encode())
    for rid in ids:
        path = _resolve(data_dir, rid)
        stamps = []
        if path is not None:  # the header and its signal file(s) share the stem
            for f in sorted(path.parent.glob(f"{glob.escape(path.stem)}.*")):
                st = f.stat()
                stamps.append((f.name, st.st_mtime_ns, st.st_size))
        h.update(json.dumps([rid, stamps]).encode())
    return h.hexdigest()[:20]


def load_split_arrays(
    data_dir: str | Path,
    split_csv: str | Path,
    split: str,
    fs: float = 250.0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    *,
    highpass_hz: float | None = HIGHPASS_HZ,
    use_cache: bool = True,
) -> list[tuple[str, np.ndarray]]:
    """Read and convert every record of one split.

    Parameters
    ----------
    data_dir : path
        Root of the ECG archives (record ids are relative to it).
    split_csv : path
        CSV with columns ``record_id`` (path below ``data_dir`` without
        extension, e.g. ``ludb/data/1``) and ``split``.
    split : str
        ``"train"``, ``"val"`` or ``"test"`` (any value of the split column).
    fs : float
        Model rate in Hz.
    cache_dir : path, optional
        Where the converted split is cached as one ``.npz`` keyed by split,
        rate, filter and the files' modification times and sizes; default
        ``~/.cache/l2g``.
    progress : bool
        Show a tqdm progress bar while converting.
    highpass_hz : float or None
        Baseline-wander cut-off in Hz (see :func:`to_independent`).
    use_cache : bool
        False: neither read nor write the cache.

    Returns
    -------
    list of (str, ndarray of float32, shape (8, n))
        Record id and its independent leads (mV at ``fs``), in the CSV order.
        Records that cannot be read or converted are left out.

    Warns
    -----
    UserWarning
        Once per record left out, with the reason.
    """
    ids = _read_split_ids(split_csv, split)
    return _load_ids(Path(data_dir), ids, split, fs, cache_dir, progress, highpass_hz, use_cache)


def _load_ids(data_dir: Path, ids: list[str], split: str, fs: float, cache_dir, progress: bool,
              highpass_hz: float | None, use_cache: bool) -> list[tuple[str, np.ndarray]]:
    """The body of :func:`load_split_arrays` for a given id list."""
    from .io import read_record

    cache_path = None
    if use_cache:
        cdir = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).expanduser()
        key = _cache_key(data_dir, ids, split, float(fs), highpass_hz)
        cache_path = cdir / f"{split}_{float(fs):g}hz_{key}.npz"
        if cache_path.is_file():
            try:
                with np.load(cache_path, allow_pickle=False) as z:
                    names, offsets, data = z["names"].tolist(), z["offsets"], z["data"]
                return [(n, data[:, offsets[i]: offsets[i + 1]].copy()) for i, n in enumerate(names)]
            except (OSError, KeyError, ValueError) as exc:
                warnings.warn(f"{cache_path}: unreadable cache ({exc}); rebuilding", UserWarning, stacklevel=3)

    from tqdm import tqdm

    out: list[tuple[str, np.ndarray]] = []
    for rid in tqdm(ids, desc=f"{split} records", disable=not progress, leave=False):
        path = _resolve(data_dir, rid)
        if path is None:
            warnings.warn(f"{data_dir / rid}: no record file; skipped",
                          UserWarning, stacklevel=3)
            continue
        try:
            x = to_independent(read_record(path, name=rid), fs, highpass_hz)
        except (OSError, ValueError, KeyError, IndexError, RuntimeError, TypeError) as exc:
            warnings.warn(f"{path}: skipped ({type(exc).__name__}: {exc})", UserWarning, stacklevel=2)
            continue
        out.append((rid, x))

    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [x.shape[1] for _, x in out]).astype(np.int64)
        data = np.concatenate([x for _, x in out], axis=1) if out else np.zeros((8, 0), np.float32)
        tmp = cache_path.with_name(f"{cache_path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, names=np.array([n for n, _ in out], dtype=str), offsets=offsets, data=data)
        os.replace(tmp, cache_path)  # atomic: concurrent DDP ranks may both write
    return out


# ------------------------------------------------------------ lead subsets
def mask_from_leads(leads: Iterable[str] | str) -> np.ndarray:
    """Availability mask over the 12 canonical leads.

    Parameters
    ----------
    leads : iterable of str or str
        Lead names (any spelling :func:`l2g.leads.parse_lead_list` accepts).

    Returns
    -------
    ndarray of bool, shape (12,)
        True where the lead (in :data:`l2g.leads.LEADS` order) is available.
    """
    chosen = set(parse_lead_list(leads))
    return np.array([lead in chosen for lead in LEADS], dtype=bool)


def sample_available(
    rng: np.random.Generator, presets_weight: float = 0.3, k_weights: Sequence[float] | None = None
) -> tuple[str, ...]:
    """Draw a random set of available leads (1 to 7 of the 12).

    With probability ``presets_weight`` one of the clinical
    :data:`l2g.leads.PRESETS` with 1–7 leads (uniformly); otherwise a size
    ``k`` in 1..7 drawn with ``k_weights`` (default 2, 2, 1, 1, 1, 1, 1: extra
    weight on the hard one- and two-lead cases) and then ``k`` of the 12 leads
    uniformly.

    Parameters
    ----------
    rng : numpy.random.Generator
    presets_weight : float
        Probability of drawing a preset, in [0, 1].
    k_weights : sequence of 7 float, optional
        Relative weights of k = 1..7.

    Returns
    -------
    tuple of str
        Canonical lead names in canonical order.
    """
    if rng.random() < presets_weight:
        return _PRESET_SUBSETS[int(rng.integers(len(_PRESET_SUBSETS)))]
    kw = _K_WEIGHTS if k_weights is None else np.asarray(k_weights, dtype=float)
    k = int(rng.choice(np.arange(1, 8), p=kw / kw.sum()))
    idx = np.sort(rng.choice(len(LEADS), size=k, replace=False))
    return tuple(LEADS[i] for i in idx)


# ---------------------------------------------------------------- windows
class WindowDataset(torch.utils.data.Dataset):
    """Random windows of independent-lead records with a random availability mask.

    Item ``index`` of epoch ``e`` is a pure function of ``(seed, e, index)``:
    DDP ranks that split the indices, and resumed runs, see exactly the same
    windows. Records are drawn uniformly (each record equally likely, whatever
    its length), then a crop start uniformly.

    Parameters
    ----------
    arrays : sequence of ndarray, shape (8, n)
        I, II, V1–V6 in mV at ``config.fs`` (from :func:`load_split_arrays`).
    config : DataConfig
    windows_per_epoch : int
        Dataset length.
    seed : int
    rates : sequence of float, optional
        Each record's own sampling rate in Hz (from :func:`load_mixed_arrays`);
        default: all at ``config.fs``. Only the items' ``band_hz`` depends on it.
    groups : sequence of int, optional
        Each record's group (e.g. the data folder it came from, 0, 1, ...).
    group_weights : sequence of float, optional
        With ``groups``: the share of windows drawn from each group (a group
        first, then a record uniformly within it), e.g. ``(1, 1)`` = half the
        windows from the 300 shared records, half from 22k PTB-XL ones.
        Default: records drawn uniformly, whatever their group.

    Notes
    -----
    Each item is a dict of tensors:

    ``x8`` : float32 tensor (8, window)
        The (augmented) crop, mV. Records shorter than the window are
        zero-padded at the end.
    ``mask`` : bool tensor (12,)
        Available leads (from :func:`sample_available`).
    ``valid`` : bool tensor (window,)
        False on padding.
    ``band_hz`` : float32 tensor ()
        The band the record carries (:func:`band_hz`): ``config.fs / 2`` for
        a record sampled at ``config.fs`` or faster, 45 Hz for a 100-Hz one.
        The training loss low-passes output and target to it
        (:func:`l2g.losses.band_limit`).

    Augmentations (:class:`DataConfig`) change the whole window, which is
    both the input and the target: the result is another plausible recording.
    """

    def __init__(
        self,
        arrays: Sequence[np.ndarray],
        config: DataConfig = DataConfig(),
        *,
        windows_per_epoch: int = 4096,
        seed: int = 0,
        rates: Sequence[float] | None = None,
        groups: Sequence[int] | None = None,
        group_weights: Sequence[float] | None = None,
    ):
        if not len(arrays):
            raise ValueError("WindowDataset: no records")
        for i, x in enumerate(arrays):
            if np.ndim(x) != 2 or np.shape(x)[0] != len(INDEPENDENT_LEADS) or np.shape(x)[1] < 1:
                raise ValueError(f"WindowDataset: record {i} has shape {np.shape(x)}; expected (8, n >= 1)")
        if windows_per_epoch < 1:
            raise ValueError(f"WindowDataset: windows_per_epoch must be >= 1, got {windows_per_epoch}")
        rates = [float(config.fs)] * len(arrays) if rates is None else [float(r) for r in rates]
        if len(rates) != len(arrays) or not all(np.isfinite(r) and r > 0 for r in rates):
            raise ValueError(f"WindowDataset: rates must be {len(arrays)} positive rates in Hz, one per record")
        self.arrays = [np.asarray(x, np.float32) for x in arrays]
        self.bands = np.array([band_hz(r, config.fs) for r in rates], np.float32)
        self.members: list[np.ndarray] | None = None
        self.group_p: np.ndarray | None = None
        if group_weights is not None:
            gw = np.asarray(group_weights, float)
            g = np.asarray(groups if groups is not None else np.zeros(len(arrays)), int)
            if len(g) != len(arrays) or g.min() < 0 or g.max() >= len(gw):
                raise ValueError(f"WindowDataset: groups must be {len(arrays)} integers in 0..{len(gw) - 1}")
            if not (np.all(np.isfinite(gw)) and gw.min() >= 0 and gw.sum() > 0):
                raise ValueError(f"WindowDataset: group_weights must be non-negative, not all 0; got {list(gw)}")
            self.members = [np.flatnonzero(g == k) for k in range(len(gw))]
            empty = [k for k, m in enumerate(self.members) if gw[k] > 0 and not len(m)]
            if empty:
                raise ValueError(f"WindowDataset: group(s) {empty} have weight but no records")
            self.group_p = gw / gw.sum()
        self.config = config
        self.windows_per_epoch = int(windows_per_epoch)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose windows are served (call at the start of each epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.windows_per_epoch

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        # separate streams: switching augmentation off leaves crops and masks unchanged
        return np.random.default_rng([self.seed, self.epoch, index, stream])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.windows_per_epoch:
            raise IndexError(f"WindowDataset: index {index} out of range 0..{self.windows_per_epoch - 1}")
        cfg = self.config
        w = int(cfg.window)
        rng = self._rng(index, 0)
        if self.members is None:
            i = int(rng.integers(len(self.arrays)))
        else:
            members = self.members[int(rng.choice(len(self.members), p=self.group_p))]
            i = int(members[rng.integers(len(members))])
        x = self.arrays[i]
        n = x.shape[1]
        crop = np.zeros((len(INDEPENDENT_LEADS), w), np.float32)
        valid = np.zeros(w, bool)
        if n >= w:
            s = int(rng.integers(0, n - w + 1))
            crop[:] = x[:, s: s + w]
            valid[:] = True
        else:
            crop[:, :n] = x
            valid[:n] = True
        mask = mask_from_leads(sample_available(self._rng(index, 1), cfg.presets_weight, cfg.k_weights))
        if cfg.augment:
            self._augment(crop, valid, self._rng(index, 2))
        return {"x8": torch.from_numpy(crop), "mask": torch.from_numpy(mask), "valid": torch.from_numpy(valid),
                "band_hz": torch.tensor(self.bands[i])}

    def _augment(self, crop: np.ndarray, valid: np.ndarray, rng: np.random.Generator) -> None:
        """Augment ``crop`` in place (valid samples only; padding stays zero)."""
        cfg = self.config
        nv = int(valid.sum())
        lo, hi = cfg.amp_scale
        if hi > lo:
            crop *= np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        if cfg.noise_mv > 0:
            crop[:, :nv] += rng.normal(0.0, cfg.noise_mv, size=(crop.shape[0], nv)).astype(np.float32)
        if cfg.drift_mv > 0:
            t = np.arange(nv) / cfg.fs
            amp = rng.uniform(0, cfg.drift_mv, size=(crop.shape[0], 1))
            freq = rng.uniform(0.05, cfg.drift_hz, size=(crop.shape[0], 1))
            phase = rng.uniform(0, 2 * np.pi, size=(crop.shape[0], 1))
            crop[:, :nv] += (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def make_input(x8: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The 12-lead model input with the unavailable leads zeroed.

    Parameters
    ----------
    x8 : Tensor, shape (B, 8, T)
        I, II, V1–V6 in mV.
    mask : Tensor of bool, shape (B, 12)
        Availability in :data:`l2g.leads.LEADS` order.

    Returns
    -------
    Tensor, shape (B, 12, T)
        ``EXPAND_8_TO_12 @ x8`` with unavailable rows set to 0, dtype and
        device of ``x8``.
    """
    if x8.ndim != 3 or x8.shape[1] != len(INDEPENDENT_LEADS):
        raise ValueError(f"make_input: expected x8 of shape (B, 8, T), got {tuple(x8.shape)}")
    if mask.shape != (x8.shape[0], len(LEADS)):
        raise ValueError(f"make_input: expected mask of shape (B, 12), got {tuple(mask.shape)}")
    x12 = torch.einsum("ij,bjt->bit", _E_TORCH.to(x8), x8)
    return x12 * mask.to(device=x8.device, dtype=x8.dtype)[:, :, None]


# ---------------------------------------------------- several data folders
#: Share of a low-rate record's Nyquist frequency that its windows teach (the top 10 % is the
#: resampler's anti-aliasing transition band): 45 Hz for PTB-XL's 100-Hz records.
BAND_FRACTION = 0.9
# bump when the extra-folder cache layout or conversion changes
_EXTRA_CACHE_VERSION = 1


def band_hz(rate: float, fs: float) -> float:
    """The band (Hz) that a record sampled at ``rate`` carries once resampled to the model rate ``fs``.

    ``fs / 2`` (the whole band: no band limit) when ``rate >= fs``; otherwise
    :data:`BAND_FRACTION` of the record's Nyquist frequency.

    Examples
    --------
    >>> band_hz(500.0, 250.0), band_hz(100.0, 250.0)
    (125.0, 45.0)
    """
    return float(fs) / 2 if rate >= fs else BAND_FRACTION * float(rate) / 2


def extra_ids(root_label: str, catalog, split_table, split: str, limit: int) -> list[str]:
    """Ids of one extra folder that belong to ``split`` (see :func:`l2g.catalog.split_extra`)."""
    from .catalog import split_extra

    ok = catalog[catalog["error"] == ""]
    ids = [f"{root_label}/{r}" for r in ok["record_id"]]
    listed = split_table.loc[split_table["split"] == split, "record_id"]
    listed = set(listed[listed.str.startswith(root_label + "/")])
    if split == "train":
        placed = split_extra(split_table, ids)
        chosen = [r for r, part in zip(placed["record_id"], placed["split"], strict=True)
                  if part == "train" or r in listed]
        # an id the split CSV puts elsewhere (or excludes) never trains
        others = set(split_table.loc[split_table["split"] != "train", "record_id"])
        chosen = [r for r in chosen if r not in others]
    else:
        chosen = [r for r in ids if r in listed]
    return chosen[:limit] if limit > 0 else chosen


def load_mixed_arrays(
    data_dirs: Sequence[str | Path],
    split_csv: str | Path,
    split: str,
    fs: float = 250.0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    *,
    highpass_hz: float | None = HIGHPASS_HZ,
    extra_limit: int = 0,
) -> list[tuple[str, np.ndarray, float]]:
    """Read one split from several data folders; each array carries its record's source rate.

    The first folder is the one ``split_csv`` describes: its records of
    ``split`` are read with :func:`load_split_arrays` (cached ``.npz``).
    Records of the extra folders (ids ``label/...``, see
    :func:`l2g.catalog.data_roots`) join the **train** split only, by the rule
    of :func:`l2g.catalog.split_extra`: never a copy of a shared val/test
    record, and not a second copy of a shared train record. (Extra-folder ids
    that ``split_csv`` lists, e.g. from ``l2g catalog --split-out``, follow
    the CSV.)

    Every array is at the model rate ``fs`` (the same :func:`to_independent`
    as for the shared records: a 100-Hz record is upsampled and holds nothing
    above 50 Hz). The extra folders' arrays are converted once into a
    memory-mapped ``.npy`` under ``cache_dir`` (default ``~/.cache/l2g``; at
    250 Hz PTB-XL's 21.8k records take 1.7 GB on disk) and served as
    read-only views of it, so they cost page cache rather than process
    memory.

    Parameters
    ----------
    data_dirs : sequence of path or str
        Folders as for :func:`l2g.catalog.data_roots` (``NAME=PATH`` allowed).
    split_csv, split, fs, cache_dir, progress, highpass_hz
        As for :func:`load_split_arrays`.
    extra_limit : int
        Use at most this many records per extra folder (the first by id; 0 =
        all): for smoke runs.

    Returns
    -------
    list of (str, ndarray of float32, shape (8, n), float)
        Record id, independent leads (mV at ``fs``) and the record's own
        sampling rate in Hz (see :func:`band_hz`). Shared records first, in
        CSV order, then each extra folder's in id order.
    """
    from .catalog import data_roots, load_split, scan_cached

    roots = data_roots(data_dirs)
    out: list[tuple[str, np.ndarray, float]] = []
    labels = {r.label for r in roots[1:]}
    table = load_split(split_csv)
    primary_ids = [r for r in table.loc[table["split"] == split, "record_id"] if r.split("/", 1)[0] not in labels]
    if primary_ids:
        # source rates from the (cached, header-only) catalogue: a low-rate shared record is band-limited too
        cat = scan_cached(roots[0].path, cache_dir=cache_dir, progress=progress)
        rates = dict(zip(cat["record_id"], cat["fs"].astype(float), strict=True))
        out += [(rid, x, rates.get(rid, float(fs))) for rid, x in
                _load_ids(roots[0].path, primary_ids, split, fs, cache_dir, progress, highpass_hz, True)]
    elif split not in set(table["split"]):
        raise ValueError(f"{split_csv}: no split {split!r}; splits are {sorted(set(table['split']))}")
    for root in roots[1:]:
        catalog = scan_cached(root.path, cache_dir=cache_dir, progress=progress)
        ids = extra_ids(root.label, catalog, table, split, extra_limit)
        if ids:
            native = dict(zip(root.label + "/" + catalog["record_id"], catalog["fs"].astype(float), strict=True))
            out += _load_extra(root, ids, native, split, float(fs), highpass_hz, cache_dir, progress)
    return out


def _load_extra(root, ids: list[str], native: dict[str, float], split: str, fs: float,
                highpass_hz: float | None, cache_dir, progress: bool) -> list[tuple[str, np.ndarray, float]]:
    """Convert one extra folder's records into a memory-mapped cache (once) and return views of it."""
    from tqdm import tqdm

    from .catalog import files_digest, record_path
    from .io import read_record

    cdir = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).expanduser()
    key = hashlib.sha256(json.dumps([_EXTRA_CACHE_VERSION, str(root.path.resolve()), files_digest(root.path), ids,
                                     fs, highpass_hz]).encode()).hexdigest()[:20]
    # raw little-endian float32, (n_total, 8): record i is rows offsets[i]:offsets[i+1] (lengths are
    # known only once read, so the file grows record by record); index: names, offsets, rates
    data_path = cdir / f"{root.label}_{split}_{fs:g}hz_{key}.f32"
    index_path = data_path.with_suffix(".index.npz")
    if not (data_path.is_file() and index_path.is_file()):
        cdir.mkdir(parents=True, exist_ok=True)
        tmp = data_path.with_name(f"{data_path.name}.{os.getpid()}.tmp")
        names, offsets, rates = [], [0], []
        with open(tmp, "wb") as fh:
            for rid in tqdm(ids, desc=f"{root.label} records", disable=not progress, leave=False):
                rel = rid.split("/", 1)[1]
                try:
                    path = record_path(root.path, rel)
                    x = to_independent(read_record(path, name=rid), fs, highpass_hz)
                except (OSError, ValueError, KeyError, IndexError, RuntimeError, TypeError) as exc:
                    warnings.warn(f"{root.path / rel}: skipped ({type(exc).__name__}: {exc})", UserWarning,
                                  stacklevel=3)
                    continue
                fh.write(np.ascontiguousarray(x.T, dtype="<f4").tobytes())
                names.append(rid)
                offsets.append(offsets[-1] + x.shape[1])
                rates.append(native.get(rid, fs))
        np.savez(index_path.with_name(index_path.name + ".tmp.npz"), names=np.array(names, dtype=str),
                 offsets=np.array(offsets, np.int64), rates=np.array(rates, np.float64))
        os.replace(index_path.with_name(index_path.name + ".tmp.npz"), index_path)
        os.replace(tmp, data_path)
    with np.load(index_path, allow_pickle=False) as z:
        names, offsets, rates = z["names"].tolist(), z["offsets"], z["rates"]
    data = np.memmap(data_path, dtype="<f4", mode="r", shape=(int(offsets[-1]), len(INDEPENDENT_LEADS)))
    return [(n, data[offsets[i]: offsets[i + 1]].T, float(rates[i])) for i, n in enumerate(names)]
