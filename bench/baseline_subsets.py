"""Linear baseline on the validation split, per number of available leads.

Fits :class:`l2g.baseline.LinearBaseline` on the TRAIN split once (one
covariance covering the widest lag set), then scores several lag / ridge
configurations on the VAL split for k = 1..7 available leads: for each k, up to
``--subsets`` random k-lead subsets of the 12 (fixed seed, the same for every
configuration), every val record in full.

Metrics, on the *target* leads: the independent leads (I, II, V1–V6) that the
available ones do not fix exactly (available chest leads and, with two or more
limb leads, I and II are excluded). Per (record, target lead): MSE in mV² and
Pearson r, averaged over the target leads; then mean (and median, robust to
the few artefact-laden records) over all (subset, record) pairs of each k.
``mse12`` is the MSE over all 12 leads not available (the paper's setting;
limb leads fixed by Einthoven/Goldberger count with zero error).

Reproduce (about a minute on 2 CPU cores)::

    .venv/bin/python -m bench.baseline_subsets --data ../shared/data --split splits/split.csv \
        --save weights/linear.pt
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import time
from pathlib import Path

import numpy as np

from l2g.baseline import LinearBaseline, LinearConfig
from l2g.dataset import load_split_arrays
from l2g.leads import CHEST_LEADS, INDEPENDENT_LEADS, LEADS, expand_independent, limb_basis

ROOT = Path(__file__).resolve().parents[1]

# candidate lag sets (samples at 250 Hz: 1 sample = 4 ms)
LAG_SETS: dict[str, tuple[int, ...]] = {
    "lag0": (0,),
    "pm2": (-2, -1, 0, 1, 2),
    "log8": (-8, -4, -2, -1, 0, 1, 2, 4, 8),
    "dense8": tuple(range(-8, 9)),
    "log16": (-16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16),
    "log32": (-32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32),
    "log64": (-64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32, 64),
}
# a longer lag set (or another ridge than RIDGE0) is chosen only when it lowers the mean MSE by this much
MIN_GAIN = 0.01
RIDGE0 = 1e-3
RIDGES = (1e-4, 1e-3, 1e-2)


def _rel(path: str) -> str:
    """``path`` relative to the repository when inside it (for the saved metadata)."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def pick_subsets(k: int, n: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Up to ``n`` distinct k-lead subsets of the 12, drawn without replacement."""
    combos = list(itertools.combinations(LEADS, k))
    idx = rng.choice(len(combos), size=min(n, len(combos)), replace=False)
    return [combos[i] for i in sorted(idx)]


def targets_of(available: tuple[str, ...]) -> list[int]:
    """Indices (in INDEPENDENT_LEADS) of the independent leads not fixed by ``available``."""
    fixed = {c for c in CHEST_LEADS if c in available}
    if limb_basis(available) is not None:
        fixed |= {"I", "II"}
    return [j for j, lead in enumerate(INDEPENDENT_LEADS) if lead not in fixed]


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1) + 1e-12)


def score(model: LinearBaseline, val: list[np.ndarray], subsets: dict[int, list[tuple[str, ...]]]) -> dict:
    """Per k: mean and median (over subsets x records) MSE (mV²), mean Pearson r, 12-lead MSE."""
    val12 = [expand_independent(x) for x in val]
    out = {}
    for k, subs in subsets.items():
        mse, r, mse12 = [], [], []  # one value per (subset, record)
        for s in subs:
            tgt = targets_of(s)
            miss12 = [i for i, lead in enumerate(LEADS) if lead not in s]
            for x8, x12 in zip(val, val12, strict=True):
                pred = model.predict(x12, s)
                mse.append(((pred[tgt] - x8[tgt]) ** 2).mean())
                r.append(_pearson(pred[tgt], x8[tgt]).mean())
                p12 = expand_independent(pred)
                mse12.append(((p12[miss12] - x12[miss12]) ** 2).mean())
        out[k] = {"mse": float(np.mean(mse)), "mse_median": float(np.median(mse)), "r": float(np.mean(r)),
                  "mse12": float(np.mean(mse12))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="data root")
    ap.add_argument("--split", default=str(ROOT / "splits" / "split.csv"), help="record_id,split CSV")
    ap.add_argument("--fs", type=float, default=250.0, help="model rate, Hz")
    ap.add_argument("--subsets", type=int, default=30, help="random subsets per k")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lags", nargs="*", default=list(LAG_SETS), choices=list(LAG_SETS), help="lag sets to score")
    ap.add_argument("--save", default=None, help="write the best configuration here (e.g. weights/linear.pt)")
    args = ap.parse_args()

    t0 = time.time()
    train = load_split_arrays(args.data, args.split, "train", fs=args.fs, progress=False)
    val = load_split_arrays(args.data, args.split, "val", fs=args.fs, progress=False)
    print(f"train: {len(train)} records, val: {len(val)} records ({time.time() - t0:.1f} s to load)")
    max_lag = max(max(abs(v) for v in LAG_SETS[name]) for name in args.lags)
    t0 = time.time()
    fitted = LinearBaseline.fit([x for _, x in train], LinearConfig(lags=(0,), fs=args.fs), max_lag=max_lag)
    print(f"covariance over lags -{max_lag}..{max_lag} fitted in {time.time() - t0:.1f} s")

    rng = np.random.default_rng(args.seed)
    subsets = {k: pick_subsets(k, args.subsets, rng) for k in range(1, 8)}
    x_val = [x for _, x in val]

    results: dict[tuple[str, float], dict] = {}

    def mean_mse(key: tuple[str, float]) -> float:
        return float(np.mean([v["mse"] for v in results[key].values()]))

    def pick(candidates: list[tuple[str, float]]) -> tuple[str, float]:
        """The first candidate, replaced by a later one only when that is MIN_GAIN better."""
        best = candidates[0]
        for key in candidates[1:]:
            if mean_mse(key) < (1 - MIN_GAIN) * mean_mse(best):
                best = key
        return best

    # lag sets from the shortest span up, at RIDGE0; then the ridge for the chosen lags
    by_span = sorted(args.lags, key=lambda n: (max(abs(v) for v in LAG_SETS[n]), len(LAG_SETS[n])))
    for name in by_span:
        cfg = LinearConfig(lags=LAG_SETS[name], ridge=RIDGE0, fs=args.fs)
        results[(name, RIDGE0)] = score(fitted.with_config(cfg), x_val, subsets)
    best_lags = pick([(n, RIDGE0) for n in by_span])[0]
    for ridge in RIDGES:
        if (best_lags, ridge) not in results:
            cfg = LinearConfig(lags=LAG_SETS[best_lags], ridge=ridge, fs=args.fs)
            results[(best_lags, ridge)] = score(fitted.with_config(cfg), x_val, subsets)
    best = pick([(best_lags, RIDGE0)] + [(best_lags, r) for r in RIDGES if r != RIDGE0])

    ks = list(range(1, 8))
    print(f"\nVAL split, {len(val)} records, <= {args.subsets} subsets per k (seed {args.seed}); "
          "target = independent leads not fixed by the available ones")
    head = "config".ljust(18) + "".join(f"k={k}".rjust(8) for k in ks) + "    mean"
    for metric, label in (("mse", "MSE (mV^2) on target leads, mean over records"),
                          ("mse_median", "MSE (mV^2) on target leads, median over records"),
                          ("r", "Pearson r on target leads, mean over records"),
                          ("mse12", "MSE (mV^2) on all missing leads of the 12, mean over records")):
        print(f"\n{label}\n{head}")
        for (name, ridge), res in results.items():
            vals = [res[k][metric] for k in ks]
            fmt = "{:8.4f}" if metric == "r" else "{:8.5f}"
            print(f"{name} r={ridge:g}".ljust(18) + "".join(fmt.format(v) for v in vals) + fmt.format(np.mean(vals)))

    print(f"\nchosen (mean MSE; longer lags or another ridge must gain >= {MIN_GAIN:.0%}): "
          f"lags={best[0]} {LAG_SETS[best[0]]}, ridge={best[1]:g}")
    if args.save:
        cfg = LinearConfig(lags=LAG_SETS[best[0]], ridge=best[1], fs=args.fs)
        model = LinearBaseline.fit([x for _, x in train], cfg)
        model.meta.update({
            "train_split": _rel(args.split),
            "train_ids_sha": hashlib.sha256("\n".join(sorted(rid for rid, _ in train)).encode()).hexdigest()[:16],
            "val_mse_by_k": {str(k): results[best][k]["mse"] for k in ks},
            "val_r_by_k": {str(k): results[best][k]["r"] for k in ks},
            "bench": "bench/baseline_subsets.py",
        })
        model.save(args.save)
        print(f"saved {model!r} -> {args.save}")


if __name__ == "__main__":
    main()
