"""Diagnostic fidelity: reference classifiers that score whether generated leads keep the diagnosis.

An *instrument*, not a diagnosis the dashboard shows. A 1-D ResNet
(:class:`ResNet1d`) is trained on the real leads of PTB-XL's training folds
(:mod:`l2g.ptbxl`), early-stopped on fold 9, to name the five diagnostic
superclasses (multi-label). The 12-lead one then reads the real, the
reconstructed, the linear and the zero-filled 12-lead of fold 10; "input-only"
classifiers of the same family read just the recorded leads — the "don't
reconstruct" baseline.

Independence: no classifier here takes part in any generator loss (the
generator is trained on reconstruction terms only, :mod:`l2g.losses`), and
each classifier has its own seed.

Inputs are 10 s at 100 Hz, mV, high-passed at the project's cut-off
(:data:`l2g.dataset.DataConfig.highpass_hz`), shape ``(n, leads, 1000)``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import save  # atomic: tmp file, then os.replace
from .leads import LEADS
from .ptbxl import SUPERCLASSES

__all__ = ["ClassifierConfig", "ResNet1d", "PlainCNN1d", "build_classifier", "train_classifier", "load_classifier",
           "predict_proba", "roc_auc", "macro_auc", "bootstrap_auc", "lead_rows", "window_starts"]

log = logging.getLogger(__name__)

FS_HZ = 100.0
N_SAMPLES = 1000


@dataclass(frozen=True)
class ClassifierConfig:
    """A reference classifier's architecture and training settings.

    Attributes
    ----------
    leads : tuple of str
        Input leads in :data:`l2g.leads.LEADS` order (12 for the reference).
    channels : tuple of int
        Width of the stem and of each residual stage (stride 2 each).
    kernel : int
        Convolution kernel size, samples at 100 Hz.
    crop, hop : int
        Training sees one random ``crop``-sample window (2.5 s) of each record
        per epoch; prediction averages the probabilities of the windows every
        ``hop`` samples over the whole record (as PTB-XL's benchmark models do).
    epochs, batch_size, lr, weight_decay, patience, seed, threads
        Training: AdamW with a one-cycle schedule; early stopping on the
        validation macro-AUC; torch intra-op threads (0 = default).
    arch : {"resnet", "plain"}
        :class:`ResNet1d` (the reference and input-only classifiers that
        score) or :class:`PlainCNN1d` (another architecture: the frozen
        encoder of the generator's feature-matching loss, never a scorer).
    """

    leads: tuple[str, ...] = LEADS
    channels: tuple[int, ...] = (64, 64, 128, 128, 128)
    kernel: int = 7
    crop: int = 250
    hop: int = 125
    epochs: int = 16
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 4
    seed: int = 7
    threads: int = 1
    classes: tuple[str, ...] = field(default=SUPERCLASSES)
    arch: str = "resnet"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"ClassifierConfig: arch must be one of {sorted(ARCHS)}, got {self.arch!r}")


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel, stride, pad, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, kernel, 1, pad, bias=False), nn.BatchNorm1d(c_out),
        )
        self.skip = (nn.Identity() if c_in == c_out and stride == 1 else
                     nn.Sequential(nn.AvgPool1d(stride, ceil_mode=True) if stride > 1 else nn.Identity(),
                                   nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out)))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class ResNet1d(nn.Module):
    """A small xresnet-style 1-D ResNet: stem, residual stages (stride 2), concat pooling, linear head.

    Input ``(batch, len(cfg.leads), samples)`` mV; output logits ``(batch, 5)``.

    >>> net = ResNet1d(ClassifierConfig(leads=("I",)))
    >>> net(torch.zeros(2, 1, 1000)).shape
    torch.Size([2, 5])
    """

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        ch = cfg.channels
        self.stem = nn.Sequential(nn.Conv1d(len(cfg.leads), ch[0], 15, 2, 7, bias=False), nn.BatchNorm1d(ch[0]),
                                  nn.ReLU(inplace=True))
        self.stages = nn.Sequential(*[_Block(a, b, cfg.kernel, 2) for a, b in zip(ch[:-1], ch[1:], strict=True)])
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * ch[-1], len(cfg.classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stages(self.stem(x))
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], 1))


class PlainCNN1d(nn.Module):
    """A plain (non-residual) 1-D CNN: conv–BN–ReLU stages with max-pooling, average pooling, linear head.

    Another architecture than :class:`ResNet1d` (no skips, kernel ``cfg.kernel`` throughout, max-pool
    downsampling, average pooling only): the frozen encoder of the generator's feature-matching loss
    (:func:`l2g.losses.feature_matching_loss`), so that the classifiers that score the generator never
    took part in its training. Input ``(batch, len(cfg.leads), samples)`` mV at 100 Hz, any length
    ≥ 32 samples; output logits ``(batch, 5)``; :meth:`features` the activations the loss compares.

    >>> net = PlainCNN1d(ClassifierConfig(arch="plain", kernel=9))
    >>> net(torch.zeros(2, 12, 410)).shape
    torch.Size([2, 5])
    >>> [tuple(f.shape) for f in net.features(torch.zeros(2, 12, 410))][-1]
    (2, 128)
    """

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        ch = (len(cfg.leads),) + tuple(cfg.channels)
        pad = cfg.kernel // 2
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv1d(a, b, cfg.kernel, 1, pad, bias=False), nn.BatchNorm1d(b), nn.ReLU(inplace=True),
                          nn.MaxPool1d(2, ceil_mode=True))
            for a, b in zip(ch[:-1], ch[1:], strict=True))
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(ch[-1], len(cfg.classes)))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each stage's output ``(batch, channels, samples / 2**(s+1))`` and the pooled vector ``(batch, channels)``."""
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out + [x.mean(-1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1])


#: The classifier families by :attr:`ClassifierConfig.arch`.
ARCHS = {"resnet": ResNet1d, "plain": PlainCNN1d}


def build_classifier(cfg: ClassifierConfig) -> nn.Module:
    """An untrained classifier of ``cfg.arch``.

    >>> type(build_classifier(ClassifierConfig(arch="plain"))).__name__
    'PlainCNN1d'
    """
    return ARCHS[cfg.arch](cfg)


def lead_rows(leads: Sequence[str]) -> list[int]:
    """Row indices of ``leads`` in the 12-lead order.

    >>> lead_rows(["I", "II", "V2"])
    [0, 1, 7]
    """
    return [LEADS.index(lead) for lead in leads]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of one binary label (Mann–Whitney, ties counted half); NaN for one class only.

    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(score)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(y: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray]:
    """Macro-AUC over the classes (columns) and the per-class AUCs, shape ``(classes,)``.

    >>> m, per = macro_auc(np.array([[0, 1], [1, 0], [1, 1]]), np.array([[.1, .9], [.8, .2], [.7, .6]]))
    >>> round(m, 3), per.tolist()
    (1.0, [1.0, 1.0])
    """
    per = np.array([roc_auc(y[:, c], p[:, c]) for c in range(y.shape[1])])
    return float(np.nanmean(per)), per


def bootstrap_auc(y: np.ndarray, preds: dict[str, np.ndarray], groups: np.ndarray, n_boot: int = 1000,
                  seed: int = 0) -> dict[str, dict[str, tuple[float, float]]]:
    """95 % percentile intervals of the macro- and per-class AUC, resampling patients with replacement.

    Every method in ``preds`` is scored on the same resampled patients, so
    paired differences can be read from the same draws.

    Parameters
    ----------
    y : ndarray, shape (n, classes)
    preds : dict of str -> ndarray, shape (n, classes)
    groups : ndarray, shape (n,)
        Patient id per record.
    n_boot, seed : int

    Returns
    -------
    dict
        ``{method: {"macro": (lo, hi), class: (lo, hi), ...}}``.
    """
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    draws: dict[str, list[np.ndarray]] = {m: [] for m in preds}
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick])
        for m, p in preds.items():
            macro, per = macro_auc(y[idx], p[idx])
            draws[m].append(np.concatenate([[macro], per]))
    out: dict[str, dict[str, tuple[float, float]]] = {}
    names = ("macro",) + tuple(SUPERCLASSES[: y.shape[1]])
    for m, rows in draws.items():
        a = np.asarray(rows)
        lo, hi = np.nanpercentile(a, 2.5, axis=0), np.nanpercentile(a, 97.5, axis=0)
        out[m] = {n: (float(lo[i]), float(hi[i])) for i, n in enumerate(names)}
    return out


_KIND = "l2g.fidelity.ResNet1d"  # the checkpoint kind of every classifier here (whatever cfg.arch)


def _state(net: nn.Module, cfg: ClassifierConfig, extra: dict) -> dict:
    return {"kind": _KIND, "config": asdict(cfg),
            "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}, **extra}


def _config_from(raw: dict) -> ClassifierConfig:
    return ClassifierConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def load_classifier(path: str | Path) -> tuple[nn.Module, ClassifierConfig, dict]:
    """A trained classifier (eval mode), its config and its checkpoint's summary.

    Raises
    ------
    ValueError
        When ``path`` is not a classifier written by :func:`train_classifier`.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("kind") != _KIND:
        raise ValueError(f"{path}: not a classifier written by l2g.fidelity.train_classifier")
    cfg = _config_from(state["config"])
    net = build_classifier(cfg)
    net.load_state_dict(state["state_dict"])
    return net.eval(), cfg, state.get("summary", {})


def window_starts(n_samples: int, crop: int, hop: int) -> list[int]:
    """Start samples of the prediction windows: every ``hop``, the last one flush with the end.

    >>> window_starts(1000, 250, 125)
    [0, 125, 250, 375, 500, 625, 750]
    """
    if n_samples <= crop:
        return [0]
    starts = list(range(0, n_samples - crop + 1, hop))
    if starts[-1] != n_samples - crop:
        starts.append(n_samples - crop)
    return starts


def predict_proba(net: nn.Module, x: np.ndarray, cfg: ClassifierConfig | None = None,
                  batch_size: int = 256) -> np.ndarray:
    """Class probabilities, shape ``(n, 5)``, of inputs ``(n, leads, samples)`` mV (100 Hz).

    With ``cfg``, the mean of the probabilities of the windows of
    :func:`window_starts`; without, the whole input at once.
    """
    starts = window_starts(x.shape[-1], cfg.crop, cfg.hop) if cfg is not None else [0]
    width = cfg.crop if cfg is not None else x.shape[-1]
    out = []
    net.eval()
    with torch.no_grad():
        for a in range(0, len(x), batch_size):
            xb = np.asarray(x[a : a + batch_size], np.float32)
            p = np.zeros((len(xb), net.head[-1].out_features), np.float64)
            for s0 in starts:
                p += torch.sigmoid(net(torch.from_numpy(np.ascontiguousarray(xb[..., s0 : s0 + width])))).numpy()
            out.append((p / len(starts)).astype(np.float32))
    return np.concatenate(out) if out else np.zeros((0, net.head[-1].out_features), np.float32)


def train_classifier(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                     cfg: ClassifierConfig, out: str | Path) -> dict:
    """Train (or resume) one classifier; the best validation epoch is written to ``out``.

    Every epoch writes ``out``'s ``.ckpt`` (model, optimiser, history), so a
    killed run resumes at the next epoch. Augmentation: a random
    ``cfg.crop``-sample window per record and amplitude scaling (×0.8–1.25 per record).

    Parameters
    ----------
    x_train, x_val : ndarray, shape (n, 12, 1000)
        12-lead inputs (mV, 100 Hz); ``cfg.leads`` picks the rows.
    y_train, y_val : ndarray, shape (n, 5)
        Multi-hot labels.
    cfg : ClassifierConfig
    out : path

    Returns
    -------
    dict
        Summary: best epoch, its validation macro-AUC, history, seconds.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rows = lead_rows(cfg.leads)
    net = build_classifier(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    ckpt = out.with_suffix(".ckpt")
    hist: list[dict] = []
    best, bad, start, seconds = -1.0, 0, 0, 0.0
    if ckpt.exists():
        st = torch.load(ckpt, map_location="cpu", weights_only=True)
        net.load_state_dict(st["state_dict"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        hist, best, bad, start, seconds = st["history"], st["best"], st["bad"], st["epoch"] + 1, st["seconds"]
        log.info("%s: resumed at epoch %d", out, start)
    rng = np.random.default_rng(cfg.seed + start)
    ytr = torch.from_numpy(y_train.astype(np.float32))
    loss_fn = nn.BCEWithLogitsLoss()
    xv = x_val[:, rows]
    for epoch in range(start, cfg.epochs):
        if bad >= cfg.patience:
            break
        t0 = time.time()
        net.train()
        perm = rng.permutation(len(x_train))
        total = 0.0
        for b in range(steps_per_epoch):
            idx = np.sort(perm[b * cfg.batch_size : (b + 1) * cfg.batch_size])
            full = np.asarray(x_train[idx][:, rows], np.float32)
            s0 = rng.integers(0, full.shape[-1] - cfg.crop + 1, len(idx))
            xb = full[np.arange(len(idx))[:, None, None], np.arange(len(rows))[None, :, None],
                      s0[:, None, None] + np.arange(cfg.crop)[None, None, :]]
            xb = xb * rng.uniform(0.8, 1.25, (len(idx), 1, 1)).astype(np.float32)
            loss = loss_fn(net(torch.from_numpy(np.ascontiguousarray(xb))), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        seconds += time.time() - t0
        val_auc, per = macro_auc(y_val, predict_proba(net, xv, cfg))
        hist.append({"epoch": epoch, "loss": total / steps_per_epoch, "val_macro_auc": val_auc,
                     "val_auc": per.tolist(), "seconds": seconds})
        improved = val_auc > best
        if improved:
            best, bad = val_auc, 0
            save(_state(net, cfg, {"summary": {"best_epoch": epoch, "val_macro_auc": val_auc}}), out)
        else:
            bad += 1
        log.info("%s epoch %d: loss %.4f, fold-9 macro-AUC %.4f%s (%.0f s)", out.name, epoch, total / steps_per_epoch,
                 val_auc, " *" if improved else "", seconds)
        save({"state_dict": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
               "history": hist, "best": best, "bad": bad, "epoch": epoch, "seconds": seconds}, ckpt)
    summary = {"best_epoch": max(hist, key=lambda h: h["val_macro_auc"])["epoch"] if hist else None,
               "val_macro_auc": best, "history": hist, "seconds": seconds, "config": asdict(cfg)}
    state = torch.load(out, map_location="cpu", weights_only=True)
    save({**state, "summary": summary}, out)
    return summary


#: Where ``bench/diagnostic.py score`` writes the findings the viewer's trust panel reads.
FINDINGS_FILE = Path(__file__).resolve().parents[1] / "reports" / "diagnostic.json"


def load_findings(path: str | Path | None = None) -> dict | None:
    """The diagnostic-fidelity findings (``reports/diagnostic.json``), or None when there are none.

    Raises
    ------
    ValueError
        When the file exists but is not such a table.
    """
    import json

    p = Path(path) if path is not None else FINDINGS_FILE
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: not a readable diagnostic-fidelity table ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("subsets"), dict) or "model" not in data:
        raise ValueError(f"{p}: not a diagnostic-fidelity table (needs 'model' and 'subsets')")
    return data


def _subset_key(leads: Sequence[str]) -> str:
    return ",".join(lead for lead in LEADS if lead in set(leads))


def findings_for(available: Sequence[str], findings: dict | None, model_version: str) -> list[str]:
    """Plain-words lines for the trust panel: what the evaluation found the ticked lead set can and cannot show.

    Parameters
    ----------
    available : sequence of str
        The recorded leads the reconstruction used.
    findings : dict or None
        :func:`load_findings`.
    model_version : str
        The loaded generator's digest (``l2g.pt@…``); findings made for another one (another digest,
        :func:`l2g.digest.same_weights`) are not shown as its own.

    Returns
    -------
    list of str
        Markdown sentences; never empty.

    Examples
    --------
    >>> f = {"model": "m.pt@1", "subsets": {"I": {"real": .93, "input_only": .83, "model": .80, "linear": .79,
    ...      "zero": .5}}, "per_class": {"I": {"real": {"MI": .92}, "model": {"MI": .69}}}, "reconstruction": {}}
    >>> lines = findings_for(["I"], f, "l2g.pt@1")  # a renamed copy of the same file: its findings
    >>> "macro-AUC **0.80** from the generated 12-lead, 0.93 from twelve recorded leads" in lines[0]
    True
    >>> lines[1]
    'Myocardial infarction: AUC 0.69 generated vs 0.92 recorded — generated leads **cannot rule out an infarct**.'
    >>> lines[2].startswith("The reconstruction carries **less**")
    True
    >>> findings_for(["I"], f, "m.pt@2")[0].startswith("The diagnostic evaluation was made for another")
    True
    >>> findings_for(["I"], {**f, "patientwise": True}, "m.pt@2")[0].startswith("Not measured on this generator")
    True
    """
    if not findings:
        return ["No diagnostic evaluation is available for this model (run `make diagnostic`): whether the "
                "generated leads keep the diagnosis has not been measured."]
    from .digest import same_weights

    out: list[str] = []
    if not same_weights(findings.get("model"), model_version):
        if not findings.get("patientwise"):
            return [f"The diagnostic evaluation was made for another generator (`{findings.get('model')}`, this one "
                    f"is `{model_version}`); its findings do not apply."]
        # a patient-wise retraining is the only generator PTB-XL's test patients can score; its findings are
        # shown as what they are: measured on that generator, not on the loaded one
        out.append(f"Not measured on this generator (`{model_version}`): these figures are of `{findings['model']}`, "
                   "the same architecture retrained without PTB-XL's test patients (a generator that saw them "
                   "cannot be scored on them).")
    key = _subset_key(available)
    subsets = findings["subsets"]
    if key in subsets:
        v = subsets[key]
        pc = findings.get("per_class", {}).get(key, {})
        line = (f"From **{key.replace(',', ', ')}** (PTB-XL fold 10): a reference classifier reads the diagnosis "
                f"with macro-AUC **{v['model']:.2f}** from the generated 12-lead, {v['real']:.2f} from twelve "
                "recorded leads")
        line += f" and {v['input_only']:.2f} from the recorded leads alone." if "input_only" in v else "."
        out.append(line)
        mi_m, mi_r = pc.get("model", {}).get("MI"), pc.get("real", {}).get("MI")
        if mi_m is not None and mi_r is not None:
            verdict = (" — generated leads **cannot rule out an infarct**" if mi_r - mi_m > 0.05 else
                       " — close to the recorded 12-lead")
            out.append(f"Myocardial infarction: AUC {mi_m:.2f} generated vs {mi_r:.2f} recorded{verdict}.")
        if "input_only" in v and v["model"] < v["input_only"]:
            out.append("The reconstruction carries **less** diagnostic information than the recorded leads "
                       "themselves: read the diagnosis from the recorded leads, not from the generated ones.")
    else:
        done = [k for k in subsets if set(k.split(",")) <= set(available)]
        best = max(done, key=lambda k: len(k.split(",")), default=None)
        out.append("This lead set was not part of the diagnostic evaluation (evaluated: "
                   + "; ".join(k.replace(",", ", ") for k in subsets) + ").")
        if best is not None:
            v = subsets[best]
            out.append(f"It holds {best.replace(',', ', ')}, from which the generated 12-lead scored macro-AUC "
                       f"{v['model']:.2f} (twelve recorded leads {v['real']:.2f}).")
    rec = findings.get("reconstruction", {}).get(key, {}).get("model")
    if rec:
        out.append(f"Signal agreement from these leads on fold 10: mean r {rec['r']:.2f}, RMSE {rec['rmse_uv']:.0f} µV "
                   "over the generated leads.")
    return out
