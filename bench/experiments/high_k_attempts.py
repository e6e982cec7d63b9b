"""Research measurements: attempts to make the generator beat the linear baseline with many leads.

Not part of the product. Each sub-command scores one idea on the **validation** split (never the
test split, so the test table stays an honest hold-out) against the global linear baseline and
prints, per number of available leads k, the pooled MSE ratio idea / linear (< 1 = better).

    python -m bench.experiments.high_k_attempts stack-tta  [--weights weights/l2g.pt]
    python -m bench.experiments.high_k_attempts local-cov  [--betas 0.3,0.6,1 --taus 0.3,1,3]
    python -m bench.experiments.high_k_attempts loo        [--weights weights/l2g.pt]

``stack-tta``: the fixed validation windows of training (``l2g.train.validation_set``); test-time
augmentation (inputs scaled by 0.8 / 1.25 and sign-flipped, outputs scaled back, averaged) and a
per-k shrinkage ``prior + alpha_k * (generator - prior)`` fitted on the even validation records and
scored on the odd ones.
``local-cov``: the linear solution from a locally weighted covariance: training records weighted
by the Gaussian likelihood of the record's available-lead covariance under theirs (temperature
``tau``), blended ``beta * local + (1 - beta) * global``; whole validation records, 2 random
subsets per k.
``loo``: per-record choice between generator and baseline by leave-one-chest-lead-out error on
the record's own available leads; whole validation records, 2 random subsets per k = 3..7.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from l2g.baseline import CovarianceStats, LinearBaseline, LinearConfig, lagged_cov
from l2g.dataset import load_split_arrays
from l2g.leads import CHEST_LEADS, EXPAND_8_TO_12, LEADS
from l2g.model import LeadModel, expand12
from l2g.preprocess import HIGHPASS_HZ
from l2g.reconstruction import load_reconstructor
from l2g.train import load_config, validation_set

E = np.asarray(EXPAND_8_TO_12, np.float64)


def _split(name: str) -> list[tuple[str, np.ndarray]]:
    return load_split_arrays("../shared/data", "splits/split.csv", name, fs=250, highpass_hz=HIGHPASS_HZ,
                             progress=False)


def _random_subsets(rng: np.random.Generator, ks: range, per_k: int = 2):
    for k in ks:
        for _ in range(per_k):
            yield k, [LEADS[i] for i in sorted(rng.choice(12, size=k, replace=False))]


def _window_scores(p8: torch.Tensor, x8: torch.Tensor, mask: torch.Tensor, sel: torch.Tensor) -> dict[int, float]:
    p12, t12 = expand12(p8), expand12(x8)
    err = ((p12 - t12) ** 2).mean(-1)
    ks = mask.sum(1)
    return {k: float(err[((ks == k) & sel)[:, None] & ~mask].mean()) for k in range(1, 8)}


def stack_tta(weights: str) -> None:
    rec = load_reconstructor(weights)
    model = LeadModel(rec.linear, rec.generator.eval())
    val = validation_set(_split("val"), load_config(None))
    x8, mask = val["x8"], val["mask"]

    def run(scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        outs, priors = [], []
        with torch.no_grad():
            for i in range(0, len(x8), 128):
                x12 = expand12(x8[i: i + 128]) * scale
                m = mask[i: i + 128]
                pred, prior = model(x12, m, return_prior=True)
                outs.append(pred / scale)
                priors.append(prior / scale)
        return torch.cat(outs), torch.cat(priors)

    p1, prior = run(1.0)
    tta = (p1 + run(0.8)[0] + run(1.25)[0] + run(-1.0)[0]) / 4
    windows_per_record = 2 * 7 * 2  # validation_set defaults: 2 crops x 7 k x 2 subsets
    even = (torch.arange(len(x8)) // windows_per_record) % 2 == 0
    everything = torch.ones(len(x8), dtype=torch.bool)
    base = _window_scores(prior, x8, mask, everything)
    base_odd = _window_scores(prior, x8, mask, ~even)
    for name, p in (("generator", p1), ("generator + TTA", tta)):
        s = _window_scores(p, x8, mask, everything)
        print(f"{name:24s} all val windows  " + "  ".join(f"k{k} {s[k] / base[k]:.3f}" for k in s))
        d12, e12 = expand12(p - prior), expand12(x8 - prior)
        ks = mask.sum(1)
        shrunk = p.clone()
        alphas = {}
        for k in range(1, 8):
            fit = ((ks == k) & even)[:, None] & ~mask
            alphas[k] = float(((d12 * e12)[fit].sum() / (d12 * d12)[fit].sum()).clamp(0, 1.5))
            rows = ks == k
            shrunk[rows] = prior[rows] + alphas[k] * (p[rows] - prior[rows])
        raw = _window_scores(p, x8, mask, ~even)
        fitted = _window_scores(shrunk, x8, mask, ~even)
        print(f"{name:24s} odd records, raw " + "  ".join(f"k{k} {raw[k] / base_odd[k]:.3f}" for k in raw))
        print(f"{name:24s} odd, alpha_k     " + "  ".join(f"k{k} {fitted[k] / base_odd[k]:.3f}" for k in fitted)
              + "  alpha " + ",".join(f"{a:.2f}" for a in alphas.values()))


def local_cov(betas: list[float], taus: list[float]) -> None:
    cfg = LinearConfig(fs=250)
    m = cfg.max_lag
    covs = np.stack([acc / n for acc, n in (lagged_cov(x, m) for _, x in _split("train"))])
    glob = covs.mean(0)
    taps = 2 * m + 1
    zero = np.arange(8) * taps + m
    c0 = covs[:, zero][:, :, zero]
    global_lin = LinearBaseline(cfg, CovarianceStats(cov=glob, cov_max_lag=m, n_records=len(covs), n_samples=0))
    rng = np.random.default_rng(5)
    res: dict[tuple[float, float, int], list[tuple[float, float]]] = {}
    for _, x8 in _split("val"):
        x12 = E @ x8
        for k, av in _random_subsets(rng, range(1, 8)):
            idx = [LEADS.index(a) for a in av]
            miss = [i for i in range(12) if i not in idx]
            eg = float(((E @ global_lin.predict(x12, av))[miss] - x12[miss]).__pow__(2).mean())
            es = E[idx]
            cr = np.atleast_2d(np.cov(x12[idx]))
            cj = np.einsum("ia,nab,jb->nij", es, c0, es) + 1e-4 * np.eye(k)
            ll = -0.5 * (np.einsum("nij,ji->n", np.linalg.inv(cj), cr) + np.linalg.slogdet(cj)[1])
            for tau in taus:
                w = np.exp((ll - ll.max()) / tau)
                local = np.einsum("n,nab->ab", w / w.sum(), covs)
                for beta in betas:
                    st = CovarianceStats(cov=beta * local + (1 - beta) * glob, cov_max_lag=m, n_records=1, n_samples=0)
                    p = E @ LinearBaseline(cfg, st).predict(x12, av)
                    res.setdefault((tau, beta, k), []).append((float(((p[miss] - x12[miss]) ** 2).mean()), eg))
    for (tau, beta, k), v in sorted(res.items()):
        a = np.array(v)
        print(f"tau {tau} beta {beta} k{k}: MSE ratio {a[:, 0].sum() / a[:, 1].sum():.3f}, "
              f"better on {np.mean(a[:, 0] < a[:, 1]):.0%} of record/subset cases")


def loo(weights: str) -> None:
    rec = load_reconstructor(weights)
    lin = rec.linear
    rng = np.random.default_rng(5)
    res: dict[int, list[tuple[float, ...]]] = {}

    def err(pred8: np.ndarray, x12: np.ndarray, rows: list[int]) -> float:
        return float((((E @ pred8)[rows] - x12[rows]) ** 2).mean())

    for _, x8 in _split("val"):
        x12 = (E @ x8).astype(np.float32)
        for k, av in _random_subsets(rng, range(3, 8)):
            miss = [i for i, lead in enumerate(LEADS) if lead not in av]
            em, el = err(rec.predict_independent(x12, av), x12, miss), err(lin.predict(x12, av), x12, miss)
            lm = ll = 0.0
            chest = [c for c in av if c in CHEST_LEADS]
            for c in chest:
                rest, j = [a for a in av if a != c], [LEADS.index(c)]
                lm += err(rec.predict_independent(x12, rest), x12, j)
                ll += err(lin.predict(x12, rest), x12, j)
            res.setdefault(k, []).append((em, el, lm, ll, len(chest)))
    for k, v in sorted(res.items()):
        a = np.array(v)
        pick_linear = (a[:, 4] > 0) & (a[:, 2] > a[:, 3])
        chosen = np.where(pick_linear, a[:, 1], a[:, 0])
        print(f"k{k}: generator {a[:, 0].sum() / a[:, 1].sum():.3f}, leave-one-out choice "
              f"{chosen.sum() / a[:, 1].sum():.3f} (linear picked {pick_linear.mean():.0%}), "
              f"oracle choice {np.minimum(a[:, 0], a[:, 1]).sum() / a[:, 1].sum():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("stack-tta", "loo"):
        sub.add_parser(name).add_argument("--weights", default="weights/l2g.pt")
    lc = sub.add_parser("local-cov")
    lc.add_argument("--betas", default="0.3,0.6,1")
    lc.add_argument("--taus", default="0.3,1,3")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    if args.cmd == "stack-tta":
        stack_tta(args.weights)
    elif args.cmd == "loo":
        loo(args.weights)
    else:
        local_cov([float(b) for b in args.betas.split(",")], [float(t) for t in args.taus.split(",")])
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
