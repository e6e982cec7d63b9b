"""Train the lead-check network (l2g.leadnet) on simulated electrode faults; write weights/leadcheck.pt.

Training records: the shared train split (splits/split.csv) and PTB-XL (the copies of shared val/test records
excluded by :func:`l2g.dataset.load_mixed_arrays`), the 8 independent leads at 250 Hz (high-passed at 0.5 Hz,
the cached arrays of ``l2g train``), decimated to 100 Hz. One PTB-XL record in 20 (by id) is held out to watch
the training. Each example: a random 10-s window of a record, a random class of :data:`l2g.leadnet.CLASSES`
(no fault with probability ``--p-none``, else a fault applied exactly, :func:`l2g.leadnet.fault_matrix`),
a random recorded subset (all 12 leads with probability ``--p-full``, else 3-11 random leads; a fault only
where it is testable), light white noise on every lead and, with probability ``--p-noisy``, strong noise on
one lead (so that a noisy lead is not taken for a fault); optionally (``--aug-*``, off by default) per-lead gain
jitter, baseline wander and time scaling, for records unlike the training sources. Then
``bench/leadcheck_eval.py`` measures the network with the statistics of l2g.leadcheck on the validation split
and sets the thresholds.

    OMP_NUM_THREADS=1 python -m bench.leadcheck_train              # ~40 min on one CPU thread
    OMP_NUM_THREADS=1 python -m bench.leadcheck_train --steps 50   # smoke run (out: /tmp/leadcheck_smoke.pt)
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch

from l2g.checkpoint import save
from l2g.leadnet import CLASSES, LeadNet, LeadNetConfig, fault_matrix, held_out, is_testable, net_input
from l2g.leads import EXPAND_8_TO_12, LEADS, LIMB_LEADS, complete_limb_leads
from l2g.preprocess import HIGHPASS_HZ, resample_array

ROOT = Path(__file__).resolve().parents[1]

FAULT_M = np.stack([fault_matrix(c) for c in CLASSES]).astype(np.float32)  # (C, 8, 8)


def load_arrays(args) -> tuple[list[np.ndarray], list[str]]:
    """The training records' 8 independent leads at the network rate, cached under ``--cache``."""
    from l2g.dataset import load_mixed_arrays

    fs = LeadNetConfig().fs
    cache = Path(args.cache) / f"leadnet_train_{int(fs)}hz_{args.limit}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        lengths = z["lengths"]
        flat = z["x"]
        xs = np.split(flat, np.cumsum(lengths)[:-1], axis=1)
        return xs, list(z["ids"])
    recs = load_mixed_arrays([args.data, f"ptbxl={args.ptbxl}"], ROOT / "splits" / "split.csv", "train",
                             fs=250.0, highpass_hz=HIGHPASS_HZ, progress=False, extra_limit=args.limit)
    ids, xs = [], []
    for rid, x, _rate in recs:
        ids.append(rid)
        xs.append(resample_array(np.asarray(x, np.float64), 250.0, fs).astype(np.float32))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=np.concatenate(xs, axis=1), lengths=np.array([x.shape[1] for x in xs]), ids=np.array(ids))
    return xs, ids


class Sampler:
    """Random examples (input (24, T), class index) from 8-lead arrays."""

    def __init__(self, xs: list[np.ndarray], n: int, args, seed: int, shared: list[int] | None = None):
        self.xs, self.n, self.args, self.shared = xs, n, args, shared or []
        self.share = 0.0
        self.rng = np.random.default_rng(seed)

    def subset(self) -> list[str]:
        rng = self.rng
        if rng.random() < self.args.p_full:
            return list(LEADS)
        k = int(rng.integers(3, 12))
        return [LEADS[i] for i in sorted(rng.choice(12, size=k, replace=False))]

    def augment(self, x8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A window of ``x8`` stretched in time (``--aug-stretch``, on a 2.5 % grid so the resampling ratio is a
        small fraction) and per-lead gains (``--aug-gain``: log-normal, on the independent leads before the fault,
        as another body or source might record them); returns (window (8, <= n), gains (8, 1))."""
        rng, a, n = self.rng, self.args, self.n
        steps = int(a.aug_stretch / 0.025)
        m = int(round(n * (1 + 0.025 * int(rng.integers(-steps, steps + 1))))) if steps else n
        m = min(m, x8.shape[1])
        s = int(rng.integers(0, x8.shape[1] - m + 1))
        x8 = x8[:, s: s + m]
        if m != n and x8.shape[1] == m:  # stretch m samples to n (a shorter record is left as it is)
            x8 = resample_array(x8, float(m), float(n), n_out=n).astype(np.float32)
        gain = np.exp(rng.normal(0.0, rng.uniform(0.0, a.aug_gain), size=(x8.shape[0], 1))).astype(np.float32)
        return x8, gain

    def wander(self, shape: tuple[int, int]) -> np.ndarray:
        """Baseline wander (mV), shape ``shape``: per lead a sine of 0.05-0.5 Hz, amplitude up to ``--aug-wander``."""
        rng, fs = self.rng, LeadNetConfig().fs
        t = np.arange(shape[1]) / fs
        f = rng.uniform(0.05, 0.5, size=(shape[0], 1))
        amp = rng.uniform(0.0, self.args.aug_wander, size=(shape[0], 1))
        return (amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, size=(shape[0], 1)))).astype(np.float32)

    def example(self, x8: np.ndarray, cls: int | None = None, leads: list[str] | None = None):
        rng, a = self.rng, self.args
        n = self.n
        if a.aug_stretch > 0 or a.aug_gain > 0:
            x8, gain = self.augment(x8)
            x8 = x8 * gain
        elif x8.shape[1] > n:
            s = int(rng.integers(0, x8.shape[1] - n + 1))
            x8 = x8[:, s: s + n]
        leads = leads if leads is not None else self.subset()
        if cls is None:
            ok = [i for i, c in enumerate(CLASSES) if i > 0 and is_testable(c, leads)]
            if rng.random() < a.p_none or not ok:
                cls = 0
            else:  # chest swaps weighted ``--chest-weight`` against a limb reversal
                w = np.array([a.chest_weight if i > 3 else 1.0 for i in ok])
                cls = int(rng.choice(ok) if a.chest_weight == 1.0 else rng.choice(ok, p=w / w.sum()))
        x8 = FAULT_M[cls] @ x8
        if a.aug_wander > 0 and rng.random() < 0.5:  # at the electrodes, after the fault
            x8 = x8 + self.wander(x8.shape)
        x12 = EXPAND_8_TO_12 @ x8
        x12 = x12 + rng.normal(0.0, rng.uniform(0.0, a.noise_mv), size=x12.shape).astype(np.float32)
        if rng.random() < a.p_noisy:
            lead = LEADS.index(leads[int(rng.integers(len(leads)))])
            x12[lead] += rng.normal(0.0, rng.uniform(0.05, 0.4), size=x12.shape[1]).astype(np.float32)
        present = [lead in leads for lead in LEADS]
        limb = [lead for lead in LIMB_LEADS if lead in leads]
        if len(limb) >= 2:  # as check_leads: all six limb leads from the first two recorded
            full = complete_limb_leads({lead: x12[LEADS.index(lead)] for lead in limb})
            for i, lead in enumerate(LIMB_LEADS):
                x12[i], present[i] = full[lead], True
        x12 = x12 * np.array(present, dtype=np.float32)[:, None]
        if x12.shape[1] < n:
            x12 = np.pad(x12, ((0, 0), (0, n - x12.shape[1])))
        return net_input(x12, present), cls

    def batch(self, size: int):
        idx = self.rng.integers(0, len(self.xs), size=size)
        if self.shared and self.share > 0:  # the shared records: their share of the examples
            pick = self.rng.random(size) < self.share
            idx[pick] = self.rng.choice(self.shared, size=int(pick.sum()))
        ex = [self.example(self.xs[i]) for i in idx]
        return torch.from_numpy(np.stack([e[0] for e in ex])), torch.tensor([e[1] for e in ex])


def fixed_set(xs, n, args, subsets) -> tuple[torch.Tensor, torch.Tensor]:
    """Every held-out record with every testable class, for each subset (fixed seed)."""
    s = Sampler(xs, n, args, seed=1234)
    s.args = argparse.Namespace(**{**vars(args), "p_noisy": 0.0, "aug_gain": 0.0, "aug_wander": 0.0,
                                   "aug_stretch": 0.0})
    xx, yy = [], []
    for x8 in xs:
        for leads in subsets:
            for cls, c in enumerate(CLASSES):
                if is_testable(c, leads):
                    inp, y = s.example(x8, cls, list(leads))
                    xx.append(inp)
                    yy.append(y)
    return torch.from_numpy(np.stack(xx)), torch.tensor(yy)


@torch.no_grad()
def estimate(net, x, y) -> tuple[float, float]:
    net.eval()
    logits = torch.cat([net(x[i: i + 256]) for i in range(0, len(x), 256)])
    net.train()
    return float(torch.nn.functional.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


def get_lr(step: int, steps: int, lr: float) -> float:
    warm = 200
    if step < warm:
        return lr * (step + 1) / warm
    return lr * 0.5 * (1 + np.cos(np.pi * (step - warm) / max(steps - warm, 1)))


def train_stage(net, sampler, steps: int, lr: float, held, args, log: list, stage: int):
    """AdamW with warm-up and cosine decay; returns (held-out loss, step, state) of the best held-out loss
    (``--keep last``: of the last step)."""
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    best = None
    t1 = time.time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = get_lr(step, steps, lr)
        x, y = sampler.batch(args.batch)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % args.eval_every == 0 or step + 1 == steps:
            hl, ha = estimate(net, *held)
            log.append({"stage": stage, "step": step + 1, "train_loss": float(loss.detach()), "held_loss": hl,
                        "held_acc": ha})
            print(f"stage {stage} step {step + 1} loss {float(loss.detach()):.3f} held-out loss {hl:.3f} "
                  f"acc {ha:.3f} {time.time() - t1:.0f} s", flush=True)
            if best is None or hl < best[0] or (args.keep == "last" and step + 1 == steps):
                best = (hl, step + 1, {k: v.detach().clone() for k, v in net.state_dict().items()})
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--ptbxl", default=str(ROOT.parent / "scratch" / "ptbxl" / "Data" / "records100"))
    p.add_argument("--ptbxl-meta", default=str(ROOT.parent / "shared" / "ptbxl" / "ptbxl_database.csv"),
                   help="PTB-XL's ptbxl_database.csv: train only on ECGs of folds 1-8 (l2g.ptbxl.held_out_filter); "
                        "'' to use every PTB-XL record")
    p.add_argument("--cache", default="/tmp/l2g_leadnet")
    p.add_argument("--out", default=None, help="default weights/leadcheck.pt (/tmp/leadcheck_smoke.pt under 200 steps)")
    p.add_argument("--steps", type=int, default=16000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--limit", type=int, default=0, help="PTB-XL records to use (0: all)")
    p.add_argument("--p-none", type=float, default=0.3)
    p.add_argument("--p-full", type=float, default=0.4)
    p.add_argument("--p-noisy", type=float, default=0.15)
    p.add_argument("--noise-mv", type=float, default=0.03)
    p.add_argument("--chest-weight", type=float, default=1.0,
                   help="sampling weight of each testable chest swap against a limb reversal (1: all faults alike)")
    p.add_argument("--aug-gain", type=float, default=0.0,
                   help="per-lead gain jitter: log-gain SD drawn up to this per example (0: none)")
    p.add_argument("--aug-wander", type=float, default=0.0,
                   help="baseline wander (half the examples): sine amplitude up to this per lead, mV (0: none)")
    p.add_argument("--aug-stretch", type=float, default=0.0,
                   help="time scaling of the window by up to +-this (2.5 %% steps; 0: none)")
    p.add_argument("--shared-share", type=float, default=0.0,
                   help="share of the examples drawn from the shared train records (0: in proportion, 1.4 %%)")
    p.add_argument("--finetune-steps", type=int, default=4000, help="stage 2 (0: none)")
    p.add_argument("--finetune-lr", type=float, default=1e-3)
    p.add_argument("--finetune-shared-share", type=float, default=0.3)
    p.add_argument("--init", default=None, help="start from this checkpoint's weights")
    p.add_argument("--keep", choices=["best", "last"], default="best",
                   help="checkpoint of each stage: the best held-out loss, or the last step")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = Path(args.out) if args.out else (ROOT / "weights" / "leadcheck.pt" if args.steps >= 200
                                           else Path("/tmp/leadcheck_smoke.pt"))
    t0 = time.time()
    xs, ids = load_arrays(args)
    patientwise = None
    if args.ptbxl_meta:  # PTB-XL's patient-wise protocol: no ECG of a fold-9/10 patient in training or selection
        from l2g.ptbxl import TRAIN_FOLDS, held_out_filter, load_meta

        keep_ids, patientwise = held_out_filter(load_meta(args.ptbxl_meta), ids, TRAIN_FOLDS)
        xs = [x for x, k in zip(xs, keep_ids, strict=True) if k]
        ids = [rid for rid, k in zip(ids, keep_ids, strict=True) if k]
        print(f"patient-wise protocol: {patientwise}", flush=True)
    cfg = LeadNetConfig()
    n = int(cfg.fs * cfg.seconds)
    keep = [i for i, (rid, x) in enumerate(zip(ids, xs, strict=True)) if x.shape[1] >= cfg.fs * 5]
    train_ids = [ids[i] for i in keep if not held_out(ids[i])]
    train = [xs[i] for i in keep if not held_out(ids[i])]
    shared = [i for i, rid in enumerate(train_ids) if not rid.startswith("ptbxl/")]
    hold = [xs[i] for i in keep if held_out(ids[i])] or train[-5:]  # (a smoke run may hold none out)
    print(f"{len(train)} training records, {len(hold)} held out ({time.time() - t0:.0f} s to load)", flush=True)
    hx, hy = fixed_set(hold[:150], n, args, [LEADS, ("I", "II", "V1", "V2", "V3", "V4")])
    net = LeadNet(cfg)
    if args.init:  # continue from a checkpoint (fine-tuning)
        net.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True)["state_dict"])
    log: list = []
    sampler = Sampler(train, n, args, seed=args.seed, shared=shared)
    sampler.share = args.shared_share
    best = train_stage(net, sampler, args.steps, args.lr, (hx, hy), args, log, stage=1)
    if args.finetune_steps > 0:  # stage 2: from stage 1's best, more of the shared records (their sources)
        net.load_state_dict(best[2])
        sampler = Sampler(train, n, args, seed=args.seed, shared=shared)
        sampler.share = args.finetune_shared_share
        best = train_stage(net, sampler, args.finetune_steps, args.finetune_lr, (hx, hy), args, log, stage=2)
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    ckpt = {
        "state_dict": best[2],
        "config": {"fs": cfg.fs, "seconds": cfg.seconds, "widths": list(cfg.widths), "kernels": list(cfg.kernels)},
        "classes": list(CLASSES),
        "train": {"command": "python -m bench.leadcheck_train " + " ".join(sys.argv[1:]),
                  "records": len(train), "shared_records": len(shared), "held_out": len(hold),
                  "record_ids_sha256": digest,
                  "patientwise": patientwise,
                  "best_step_of_last_stage": best[1], "held_loss": best[0], "seconds": round(time.time() - t0),
                  **{k: v for k, v in vars(args).items()
                     if k not in ("data", "ptbxl", "ptbxl_meta", "cache", "out", "init")}},
        "log": log,
        "version": 1,
    }
    save(ckpt, out)  # atomic (l2g.checkpoint); the lead-check network keeps its own format (l2g.leadnet)
    if out.parent == ROOT / "weights":
        sums = out.parent / "SHA256SUMS"
        lines = [ln for ln in sums.read_text().splitlines() if ln.strip() and not ln.endswith("  " + out.name)]
        lines.append(f"{hashlib.sha256(out.read_bytes()).hexdigest()}  {out.name}")
        sums.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} (best step {best[1]}, held-out loss {best[0]:.3f}); {time.time() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
