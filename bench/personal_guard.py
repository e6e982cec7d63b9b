"""The guard of the personalised mode (issue #23 item 3): can more evidence from both ECGs refuse more swaps?

Run from the repository root after ``python -m bench.personal prepare`` (same ``--work``)::

    python -m bench.personal_guard   # -> reports/personal_guard.json (read by bench.personal report)

Per record (PTB-XL ``records100``, 100 Hz, high-passed, as ``bench/personal.py`` prepares them) the median beats of
all 12 leads, timed by the R peaks of lead I and of lead II (``l2g.personal.median_beats``,
``l2g.morphology.detect_r_peaks``), resampled to 500 Hz as ``l2g.personal.guard_score`` does. Per pair and
available-lead subset, features of what both ECGs share (their available leads; R peaks of II when available,
else of the first lead, as the guard):

* ``qrs``: the current guard score (mean normalised distance of the QRS complexes at the best shift, ±60 ms);
  ``qrs_median``, ``qrs_max``: the same distances' median and maximum over the available leads;
* ``beat``: the same distance over the whole beat (−190 to +390 ms around R, at the QRS's shift);
* ``qrs_corr``: 1 − Pearson correlation of the QRS complexes (shape only);
* ``qrs_amp``: mean |log| ratio of the QRS peak-to-peak amplitudes;
* ``t_amp``, ``t_corr``: the same for the T wave (+150 to +390 ms);
* ``axis``: the difference of the frontal QRS axes (rad), only with I and II.

Candidates: each feature alone, and a logistic regression on the log features; weights and threshold (the 95th
percentile of the true pairs' score, as now) chosen on fold 9 only — true pairs against 20 wrong-patient priors
per target of the same fold — and reported once on fold 10 (true pairs; the wrong-patient pairs of
``bench.personal score``'s fixed derangement, and 20 per target).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from bench.personal import FS, SUBSETS, name
from l2g.leads import LEADS
from l2g.morphology import detect_r_peaks
from l2g.personal import median_beats
from l2g.preprocess import resample_array

log = logging.getLogger("personal_guard")

UP = 500.0
R = int(round(0.25 * UP))  # R in the median beat
QRS = slice(R - int(0.12 * UP), R + int(0.14 * UP))
BEAT = slice(R - int(0.19 * UP), R + int(0.39 * UP))
T = slice(R + int(0.15 * UP), R + int(0.39 * UP))
SHIFT = int(0.06 * UP)
NEG = 20
FEATURES = ("qrs", "qrs_median", "qrs_max", "beat", "qrs_corr", "qrs_amp", "t_amp", "t_corr", "axis")


def beats(work: Path, x: np.ndarray) -> np.ndarray:
    """(records, 2, 12, window) median beats at 500 Hz timed by lead I (0) and lead II (1); NaN without 3 beats."""
    path = work / "guard_beats.npy"
    if path.exists():
        return np.load(path)
    n = int(round(0.7 * UP))
    out = np.full((len(x), 2, 12, n), np.nan, np.float32)
    for i, rec in enumerate(x):
        for k, row in enumerate((0, 1)):
            m = median_beats(rec.astype(np.float64), FS, detect_r_peaks(rec[row].astype(np.float64), FS))
            if m is not None:
                out[i, k] = resample_array(m, FS, UP)[:, :n]
    np.save(path, out)
    return out


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    den = np.sqrt(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / den) if den > 0 else np.inf


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float(1.0 - (a * b).sum() / den) if den > 0 else 1.0


def _logratio(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.log(max(np.ptp(a), 1e-4) / max(np.ptp(b), 1e-4))))


def features(pb: np.ndarray, tb: np.ndarray, leads) -> dict[str, float]:
    """The features of one pair: ``pb``, ``tb`` (12, window) median beats of prior and target, same timing."""
    rows = [LEADS.index(lead) for lead in leads]
    if not (np.isfinite(pb[rows]).all() and np.isfinite(tb[rows]).all()):
        return dict.fromkeys(FEATURES, np.inf)
    f = {k: [] for k in FEATURES if k not in ("qrs_median", "qrs_max", "axis")}
    for r in rows:
        a_row, b_row = pb[r].astype(np.float64), tb[r].astype(np.float64)
        b = b_row[QRS]
        shifts = range(-SHIFT, SHIFT + 1)
        d = [_dist(a_row[QRS.start + s : QRS.stop + s], b) for s in shifts]
        s = list(shifts)[int(np.argmin(d))]
        f["qrs"].append(min(d))
        f["beat"].append(_dist(a_row[BEAT.start + s : BEAT.stop + s], b_row[BEAT]))
        f["qrs_corr"].append(_corr(a_row[QRS.start + s : QRS.stop + s], b))
        f["qrs_amp"].append(_logratio(a_row[QRS.start + s : QRS.stop + s], b))
        ta, tb_ = a_row[T.start + s : T.stop + s], b_row[T]
        f["t_amp"].append(_logratio(ta, tb_))
        f["t_corr"].append(_corr(ta, tb_))
    out = {k: float(np.mean(v)) for k, v in f.items()}
    out["qrs_median"], out["qrs_max"] = float(np.median(f["qrs"])), float(np.max(f["qrs"]))
    if "I" in leads and "II" in leads:
        def axis(m):
            i_area, avf_area = m[0, QRS].sum(), (m[1, QRS] - 0.5 * m[0, QRS]).sum()
            return np.arctan2(avf_area, i_area)
        d = abs(axis(pb.astype(np.float64)) - axis(tb.astype(np.float64)))
        out["axis"] = float(min(d, 2 * np.pi - d))
    else:
        out["axis"] = 0.0
    return out


def _design(df: pd.DataFrame, cols) -> np.ndarray:
    return np.log(np.clip(df[list(cols)].to_numpy(np.float64), 1e-3, 1e3))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights of a logistic regression on standardised columns (Newton steps), with the scaling."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    sw = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum()))  # classes weighted equally
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        g = z.T @ (sw * (p - y)) + l2 * np.r_[0, w[1:]]
        h = (z * (sw * p * (1 - p))[:, None]).T @ z + l2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        w = w - np.linalg.solve(h, g)
    return w, mu, sd


def _score(x: np.ndarray, model) -> np.ndarray:
    w, mu, sd = model
    return np.column_stack([np.ones(len(x)), (x - mu) / sd]) @ w


GRID = (0.0, 0.25, 0.5, 1.0)


def _grid(true: pd.DataFrame, wrong: pd.DataFrame, cols):
    """The weighted sum of standardised log features (weights in :data:`GRID`, ``qrs`` weight 1) that refuses the
    most wrong-patient pairs of fold 9 at 5 % of its true pairs; returns the score function."""
    import itertools

    xt, xw = _design(true, cols), _design(wrong, cols)
    mu, sd = xt.mean(0), xt.std(0) + 1e-9
    zt, zw = (xt - mu) / sd, (xw - mu) / sd
    others = [c for c in cols if c != "qrs"]
    best, best_w = -1.0, None
    for ws in itertools.product(GRID, repeat=len(others)):
        w = np.array([1.0 if c == "qrs" else ws[others.index(c)] for c in cols])
        st, sw = zt @ w, zw @ w
        refused = float(np.mean(sw > np.quantile(st, 0.95)))
        if refused > best:
            best, best_w = refused, w
    log.info("grid on %s: weights %s (fold 9 wrong refused %.1f%%)", cols, best_w.tolist(), 100 * best)
    return lambda df, w=best_w, mu=mu, sd=sd, cols=cols: ((_design(df, cols) - mu) / sd) @ w


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.personal_guard", description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/personal")
    ap.add_argument("--reports", default="reports")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    work = Path(args.work)
    x = np.load(work / "x.npy")
    ids = np.load(work / "ids.npy")
    pairs = pd.read_csv(work / "pairs.csv")
    pos = {int(e): i for i, e in enumerate(ids)}
    pi, ti = pairs["prior"].map(pos).to_numpy(), pairs["target"].map(pos).to_numpy()
    fold, patient = pairs["fold"].to_numpy(), pairs["patient"].to_numpy()
    mb = beats(work, x)
    log.info("median beats of %d records", len(x))
    rng = np.random.default_rng(1)
    # wrong-patient priors: NEG per target from the same fold (another patient's earliest ECG)
    negs = []
    for j in range(len(pairs)):
        others = np.flatnonzero((fold == fold[j]) & (patient != patient[j]))
        firsts = np.unique(pi[others])
        for p in rng.choice(firsts, size=min(NEG, len(firsts)), replace=False):
            negs.append((p, ti[j], fold[j], j))
    negs = np.array(negs)
    res: dict = {"features": list(FEATURES), "subsets": {}}
    for leads in SUBSETS:
        ref = 1 if "II" in leads else (0 if leads[0] == "I" else None)
        if ref is None:
            continue
        cache = work / f"guard_features_v2_{'_'.join(leads)}.npz"
        if cache.exists():
            z = np.load(cache)
            true, wrong = pd.DataFrame(z["true"], columns=FEATURES), pd.DataFrame(z["wrong"], columns=FEATURES)
        else:
            true = pd.DataFrame([features(mb[p, ref], mb[t, ref], leads) for p, t in zip(pi, ti, strict=True)])
            wrong = pd.DataFrame([features(mb[p, ref], mb[t, ref], leads) for p, t, _, _ in negs])
            np.savez(cache, true=true[list(FEATURES)].to_numpy(), wrong=wrong[list(FEATURES)].to_numpy())
        cols = [c for c in FEATURES if (c != "axis" or ("I" in leads and "II" in leads))
                and (len(leads) > 1 or c not in ("qrs_median", "qrs_max"))]
        t9, w9 = fold == 9, negs[:, 2] == 9
        x_fit = np.vstack([_design(true[t9], cols), _design(wrong[w9], cols)])
        y_fit = np.r_[np.zeros(t9.sum()), np.ones(w9.sum())]
        ok = np.isfinite(x_fit).all(1)
        model = _fit_logistic(x_fit[ok], y_fit[ok])
        cands = {c: (lambda df, c=c: df[c].to_numpy(np.float64)) for c in cols}
        cands["logistic(all)"] = lambda df, cols=cols, model=model: np.where(
            np.isfinite(_design(df, cols)).all(1), _score(np.nan_to_num(_design(df, cols), posinf=7.0), model), np.inf)
        cands[f"grid({'+'.join(cols)})"] = _grid(true[t9], wrong[w9], cols)
        out = {}
        for cname, fn in cands.items():
            st, sw = fn(true), fn(wrong)
            thr = float(np.quantile(st[t9 & np.isfinite(st)], 0.95))
            out[cname] = {"threshold": thr, **{f"fold{f}": {
                "true_refused": float(np.mean(st[fold == f] > thr)),
                "wrong_refused_20": float(np.mean(sw[negs[:, 2] == f] > thr))} for f in (9, 10)}}
            log.info("%s %s: fold 9 true %.1f%% wrong %.1f%%; fold 10 true %.1f%% wrong %.1f%%", name(leads), cname,
                     100 * out[cname]["fold9"]["true_refused"], 100 * out[cname]["fold9"]["wrong_refused_20"],
                     100 * out[cname]["fold10"]["true_refused"], 100 * out[cname]["fold10"]["wrong_refused_20"])
        res["subsets"][name(leads)] = {"candidates": out, "logistic_weights": model[0].tolist(), "columns": cols,
                                       "n_wrong": {f"fold{f}": int((negs[:, 2] == f).sum()) for f in (9, 10)}}
    (Path(args.reports) / "personal_guard.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
