"""Fit and check the calibrated band and the trust grades of l2g.uncertainty (issues #14, #22 item 6).

Three steps, cached under --cache (default /tmp/l2g_trust) in a folder per generator (``l2g.pt@<sha256[:12]>``),
so new weights never reuse an old cache:

``cache``  reconstruct every record of a split from a plan of lead subsets (k = 1: all 12 single leads;
           k = 2…7: the clinical presets of size k plus ``--random`` random subsets drawn per record) with the
           shipped model and the linear prior; store, per (record, subset), the high-passed residuals
           ``y - generated``, the candidate scale pieces (decimated to ~125 Hz), the per-lead RMSE and the ST
           level at J + 60 ms of every generated lead (``l2g.measurements.beat_measures``, timed by fiducials of the
           REAL lead II, ``l2g.morphology.delineate``; the same fiducials for the real leads, so ``|ST_gen -
           ST_real|`` is the ST error); per record, the local mean square of every real lead (``*.inputs.npz``:
           the available leads' activity) and the fiducials.
``fit``    on the validation split only: compare the candidate scales (2-fold over records: quantiles fitted on
           one half, coverage / width measured on the other); choose the trust-grade regression's terms
           (2-fold Spearman) and fit it; choose the grade-A bounds (the most leads graded A such that their ST
           error is <= 0.05 mV in >= 90 % of them; predicted RMSE and band at the ST segment, see
           ``fit_grade_a``); write weights/interval.json (naming the generator it belongs to) and its
           weights/SHA256SUMS line; per-row table in the cache (``val_rows.csv.gz``).
``report`` on ``--split`` (test): coverage and mean width per k × lead, by source and diagnosis group, the
           Spearman correlation of predicted vs actual RMSE, and the share of grade-A leads whose ST error is
           within 0.05 mV, per grade, k and source; written to reports/trust_calibration_<split>.md.

The cache lives under ``--cache``/<generator version> (``cache_dir``), so new weights never reuse an old one;
``report`` refuses an interval.json fitted for another generator than the shipped one.

After new weights (``make trust`` runs the same; about 5 min per cache split on a quiet 2-core CPU)::

    OMP_NUM_THREADS=1 python -m bench.trust_calibrate cache --split val
    OMP_NUM_THREADS=1 python -m bench.trust_calibrate cache --split test
    python -m bench.trust_calibrate fit
    python -m bench.trust_calibrate report --split test
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from l2g.evaluate import diagnosis_groups, load_split_records
from l2g.leads import LEADS, LIMB_LEADS, PRESETS, parse_lead_list
from l2g.markdown import md_table
from l2g.measurements import beat_measures
from l2g.preprocess import HIGHPASS_HZ, remove_baseline
from l2g.record import GENERATED
from l2g.uncertainty import (
    DEFAULT_GRADE_TERMS,
    GRADE_B_MAX_UV,
    GRADES,
    ST_ERROR_MV,
    ST_LIMIT_MV,
    ST_SHARE,
    GradeRule,
    IntervalCalibration,
    chest_only,
    conformal_quantile,
    exact_leads,
    grade_design,
    grade_of,
    linear_sigma,
    moving_rms,
    predicted_rmse,
    st_decisions,
    st_segments,
)

ROOT = Path(__file__).resolve().parents[1]

WINDOWS = (0.05, 0.1, 0.2, 0.4)  # candidate moving-RMS windows (s)
LEVELS = (0.5, 0.68, 0.8, 0.9, 0.95, 0.99)
TARGET_HZ = 125.0


def cache_dir(args: argparse.Namespace, version: str) -> Path:
    """``--cache``/<model version>: a cache per generator, so new weights never reuse an old cache."""
    return Path(args.cache) / version


def plan_for(seed: int, n_random: int) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    out = [(lead,) for lead in LEADS]
    for k in range(2, 8):
        chosen = [parse_lead_list(v) for v in PRESETS.values() if len(v) == k]
        while len(chosen) < len([v for v in PRESETS.values() if len(v) == k]) + n_random:
            s = tuple(LEADS[i] for i in sorted(rng.choice(12, size=k, replace=False)))
            if s not in chosen:
                chosen.append(s)
        out += chosen
    return out


def ptbxl_fold_records(args: argparse.Namespace) -> list:
    """``--split ptbxlN``: PTB-XL records of fold N (records100, 100 Hz), one ECG per patient.

    ``--limit`` patients drawn with a fixed seed (all when None). Each item is ``(record id, source, groups,
    Record)``: the groups of the report are PTB-XL's diagnostic superclasses (``l2g.ptbxl``), "unlabelled"
    where an ECG has none.
    """
    from l2g.io import read_record
    from l2g.ptbxl import load_meta

    fold = int(args.split.removeprefix("ptbxl"))
    meta = load_meta(args.meta)
    t = meta.table[meta.table["strat_fold"] == fold]
    first = t.reset_index().groupby("patient_id")["ecg_id"].min().sort_values().to_numpy()
    rng = np.random.default_rng(fold)
    if args.limit is not None and args.limit < len(first):
        first = np.sort(rng.choice(first, size=args.limit, replace=False))
    out = []
    for ecg in first:
        rel = meta.table.at[int(ecg), "filename_lr"]
        rec = read_record(Path(args.ptbxl).parent / f"{rel}.hea")  # filename_lr starts with records100/
        labels = list(meta.table.at[int(ecg), "labels"]) or ["unlabelled"]
        out.append((f"ptbxl/{rel.removeprefix('records100/')}", f"PTB-XL fold {fold}", labels, rec))
    return out


def cmd_cache(args: argparse.Namespace) -> None:
    from l2g.reconstruction import load_reconstructor, reconstruct

    model = load_reconstructor(device="cpu")
    linear = load_reconstructor(method="linear", device="cpu")
    out = cache_dir(args, model.version) / args.split
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.txt").write_text(model.version + "\n")
    records = (ptbxl_fold_records(args) if args.split.startswith("ptbxl")
               else [(rid, source, diagnosis_groups(rec), rec) for rid, source, rec in
                     load_split_records(args.data, ROOT / "splits" / "split.csv", args.split)[: args.limit]])
    meta = []
    t0 = time.time()
    for n, (rid, source, groups, rec) in enumerate(records):
        rec = rec.crop(0.0, min(rec.duration, args.seconds))
        meta.append({"record_id": rid, "source": source, "groups": "; ".join(groups)})
        f = out / (rid.replace("/", "__") + ".npz")
        f_in = out / (rid.replace("/", "__") + ".inputs.npz")
        real = remove_baseline(rec, HIGHPASS_HZ).signal
        step = max(1, int(round(rec.fs / TARGET_HZ)))
        if not f_in.exists():  # local mean square of every real lead: the inputs' activity for any subset
            ms = [moving_rms(real, int(round(w * rec.fs)))[:, ::step] ** 2 for w in WINDOWS]
            np.savez_compressed(f_in, ms=np.array(ms, np.float32))
        if f.exists() and "st_gen" in np.load(f).files:
            continue
        fid = st_fiducials(real[LEADS.index("II")], rec.fs)
        st_real = beat_measures(real, rec.fs, *fid)[1]
        subsets = plan_for(n + 1000 * (args.split == "test"), args.random)
        res, envs, dis, rmse, gen_mask, st_gen = [], [], [], [], [], []
        for s in subsets:
            full = reconstruct(rec, s, model=model)
            prior = reconstruct(rec, s, model=linear)
            g = remove_baseline(full, HIGHPASS_HZ).signal
            e = real - g
            rmse.append(np.sqrt(np.mean(e**2, axis=1)))
            st_gen.append(beat_measures(g, rec.fs, *fid)[1])
            gen_mask.append([st == GENERATED for st in full.status])
            env = [moving_rms(full.signal, int(round(w * rec.fs)))[:, ::step] for w in WINDOWS]
            res.append(e[:, ::step])
            envs.append(np.stack(env))
            dis.append(moving_rms(full.signal - prior.signal, int(round(0.1 * rec.fs)))[:, ::step])
        np.savez_compressed(f, res=np.array(res, np.float16), env=np.array(envs, np.float16),
                            dis=np.array(dis, np.float16), rmse=np.array(rmse, np.float32),
                            gen=np.array(gen_mask), subsets=np.array([",".join(s) for s in subsets]),
                            st_real=st_real.astype(np.float32), st_gen=np.array(st_gen, np.float32),
                            fid=np.array(fid, np.float64), fs=np.float64(rec.fs), step=np.int64(step))
        print(f"{n + 1}/{len(records)} {rid} {time.time() - t0:.0f} s", flush=True)
    (out / "records.json").write_text(json.dumps(meta))


def st_fiducials(lead_ii: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R peaks, QRS onsets and offsets (samples, NaN where unknown) of the REAL lead II, high-passed.

    The same fiducials time the ST level of the real and of every generated lead of the record
    (:func:`l2g.measurements.beat_measures`), and the ST segment of the band (:func:`st_band_rows`).
    """
    from l2g.morphology import delineate

    d = delineate(np.asarray(lead_ii, np.float64), fs)
    return (np.asarray(d.r_peaks, np.float64), np.asarray(d.qrs_on, np.float64),
            np.asarray(d.qrs_off, np.float64))


class Flat:
    """All (record, subset, generated non-exact lead) rows of a split as flat sample arrays (every 2nd sample)."""

    def __init__(self, cache: Path, split: str, linear, step: int = 2):
        meta = {m["record_id"]: m for m in json.loads((cache / split / "records.json").read_text())}
        rows, res, env, dis, sig, rid, inp, self.st_act = [], [], [], [], [], [], [], []
        for rec_id, m in meta.items():
            z = np.load(cache / split / (rec_id.replace("/", "__") + ".npz"))
            ms = np.load(cache / split / (rec_id.replace("/", "__") + ".inputs.npz"))["ms"]
            zr, ze, zd = z["res"], z["env"], z["dis"]
            # each beat's ST segment (timed as l2g.uncertainty.st_halfwidth times it) on the cached ~125 Hz grid
            fs, dec = float(z["fs"]), int(z["step"])
            st_idx = st_segments(fs, ms.shape[-1] * dec, z["fid"][0], z["fid"][2]) // dec
            st_err = np.abs(z["st_gen"] - z["st_real"][None, :])
            for i, key in enumerate(z["subsets"]):
                subset = tuple(str(key).split(","))
                sigma = linear_sigma(linear, subset)
                exact = set(exact_leads(subset))
                cols = [LEADS.index(a) for a in subset]
                act = np.sqrt(ms[:, cols, ::step].mean(axis=1))  # (windows, T)
                act_st = ms[:, cols][:, :, st_idx].mean(axis=1)  # (windows, beats, width): activity squared
                for j, lead in enumerate(LEADS):
                    if not z["gen"][i, j] or lead in exact:
                        continue
                    n = zr[i, j, ::step].size
                    rid.append(np.full(n, len(rows)))
                    rows.append({"record_id": rec_id, "source": m["source"], "groups": m["groups"],
                                 "k": len(subset), "subset": str(key), "lead": lead, "sigma": float(sigma[j]),
                                 "rmse": float(z["rmse"][i, j]), "st_err": float(st_err[i, j]),
                                 "chest_only": chest_only(subset)})
                    self.st_act.append(act_st)
                    res.append(zr[i, j, ::step])
                    env.append(ze[i, :, j, ::step])
                    dis.append(zd[i, j, ::step])
                    inp.append(act)
                    sig.append(np.full(n, sigma[j], np.float32))
        self.rows = pd.DataFrame(rows)
        self.res = np.abs(np.concatenate(res).astype(np.float32))
        self.env = np.concatenate(env, axis=1).astype(np.float32)
        self.dis = np.concatenate(dis).astype(np.float32)
        self.inp = np.concatenate(inp, axis=1).astype(np.float32)
        self.sigma = np.concatenate(sig)
        self.row = np.concatenate(rid)
        self.group = (self.rows["k"].to_numpy() - 1) * 12 + self.rows["lead"].map(LEADS.index).to_numpy()

    def st_halfwidth(self, cal: IntervalCalibration) -> np.ndarray:
        """Per row: the 90 % band's half-width (mV) at the ST segment, as :func:`l2g.uncertainty.st_halfwidth`.

        ``q90 * sigma * factor * sqrt(1 + (beta * a)^2)``, mean over each beat's segment, median over beats;
        NaN where no whole ST segment was timed.
        """
        w = WINDOWS.index(cal.window_s)
        k, lead = self.rows["k"].to_numpy(), self.group % 12
        q90 = np.array([cal.quantile(0.9, kk) for kk in range(1, 8)])[np.minimum(k, 7) - 1, lead]
        factor = np.ones(len(LEADS)) if cal.chest_only_factor is None else np.asarray(cal.chest_only_factor)
        scale = q90 * self.rows["sigma"].to_numpy() * np.where(self.rows["chest_only"].to_numpy(), factor[lead], 1.0)
        out = np.full(len(self.rows), np.nan)
        for r, a2 in enumerate(self.st_act):
            if a2.shape[1]:
                out[r] = scale[r] * np.median(np.sqrt(1.0 + cal.beta**2 * a2[w].astype(np.float64)).mean(axis=1))
        return out

    def with_factor(self, s: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """``s`` times ``factor[lead]`` on the samples of chest-only subsets (as ``_scale_for`` applies it)."""
        per_row = np.where(self.rows["chest_only"].to_numpy(), np.asarray(factor)[self.group % 12], 1.0)
        return (s * per_row[self.row]).astype(s.dtype)

    def scale(self, cand: dict) -> np.ndarray:
        kind = cand["kind"]
        if kind == "constant":
            return np.ones_like(self.res)
        if kind == "sigma*inputs":  # sigma(S) * sqrt(1 + (beta * activity of the available leads)^2)
            a = self.inp[WINDOWS.index(cand["window"])]
            return self.sigma * np.sqrt(1.0 + (cand["beta"] * a) ** 2)
        if kind == "sigma*(1+inputs)":
            a = self.inp[WINDOWS.index(cand["window"])]
            return self.sigma * (1.0 + cand["beta"] * a)
        s2 = self.sigma**2
        if kind in ("sigma+env", "sigma+env+dis"):
            s2 = s2 + (cand["alpha"] * self.env[WINDOWS.index(cand["window"])]) ** 2
        if kind == "sigma+env+dis":
            s2 = s2 + (cand["beta"] * self.dis) ** 2
        return np.sqrt(s2)


def fit_quantiles(flat: Flat, s: np.ndarray, rows_mask: np.ndarray, levels=LEVELS) -> np.ndarray:
    q = np.full((len(levels), 7, 12), np.nan)
    score = flat.res / np.maximum(s, 1e-9)
    g = flat.group[flat.row]
    keep = rows_mask[flat.row]
    for code in np.unique(g[keep]):
        sc = score[keep & (g == code)]
        for li, lv in enumerate(levels):
            q[li, code // 12, code % 12] = conformal_quantile(sc, lv)
    # cells without validation rows (a lead never generated at that k): nearest k of the same lead
    for li in range(len(levels)):
        for j in range(12):
            have = np.flatnonzero(np.isfinite(q[li, :, j]))
            for kk in range(7):
                if not np.isfinite(q[li, kk, j]) and have.size:
                    q[li, kk, j] = q[li, have[np.argmin(np.abs(have - kk))], j]
    return q


def fit_chest_only_factor(flat: Flat, s: np.ndarray, rows_mask: np.ndarray, level: float = 0.9,
                          min_records: int = 10) -> np.ndarray:
    """Per lead: the ``level`` quantile of the normalised residuals of chest-only subsets over that of the others.

    Pooled over k (chest-only subsets are few at each k); 1 where either side has rows of fewer than
    ``min_records`` records.
    """
    score = flat.res / np.maximum(s, 1e-9)
    lead_row, chest_row = flat.group % 12, flat.rows["chest_only"].to_numpy()
    lead, chest, keep = lead_row[flat.row], chest_row[flat.row], rows_mask[flat.row]
    factor = np.ones(len(LEADS))
    for j in range(len(LEADS)):
        sel = rows_mask & (lead_row == j)
        ids = flat.rows["record_id"]
        if min(ids[sel & chest_row].nunique(), ids[sel & ~chest_row].nunique()) < min_records:
            continue
        m = keep & (lead == j)
        factor[j] = conformal_quantile(score[m & chest], level) / conformal_quantile(score[m & ~chest], level)
    return factor


def evaluate(flat: Flat, s: np.ndarray, q90: np.ndarray, rows_mask: np.ndarray) -> pd.DataFrame:
    """Per row: coverage and mean half-width (µV) of the 90 % band; RMS of the scale."""
    hw = q90.ravel()[flat.group[flat.row]] * s
    n = np.bincount(flat.row, minlength=len(flat.rows))
    cov = np.bincount(flat.row, weights=(flat.res <= hw), minlength=len(flat.rows)) / n
    width = np.bincount(flat.row, weights=hw, minlength=len(flat.rows)) / n * 1000
    srms = np.sqrt(np.bincount(flat.row, weights=s.astype(np.float64) ** 2, minlength=len(flat.rows)) / n)
    out = flat.rows.assign(coverage=cov, halfwidth_uv=width, s_rms=srms)
    return out[rows_mask]


CANDIDATES = [{"kind": "constant"}, {"kind": "sigma"}] + [
    {"kind": "sigma+env", "alpha": a, "window": 0.2} for a in (0.5, 1.0)
] + [{"kind": "sigma*inputs", "beta": b, "window": w} for w in (0.1, 0.2, 0.4) for b in (2.0, 4.0, 8.0, 16.0)]
#: Only these kinds may be shipped: the scale must grow when the available leads say less. The local RMS of
#: the generated trace ("sigma+env", the first version) shrinks with the trace when few leads are given.
SHIPPABLE = ("sigma*inputs",)


def grade_features(flat: Flat, s: np.ndarray, window_s: float, factor: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per row: the :data:`l2g.uncertainty.GRADE_FEATURES` that ``trust_table`` computes for a record.

    ``s`` is the shipped scale (with the chest-only ``factor``), ``window_s`` its activity window.
    """
    n = np.bincount(flat.row, minlength=len(flat.rows))

    def rms(x):
        return np.sqrt(np.bincount(flat.row, weights=x.astype(np.float64) ** 2, minlength=len(flat.rows)) / n)

    r = flat.rows
    lead = flat.group % 12
    f = np.ones(len(LEADS)) if factor is None else np.asarray(factor, np.float64)
    return {"s": rms(s), "gen": rms(flat.env[WINDOWS.index(0.1)]), "dis": rms(flat.dis),
            "sigma": r["sigma"].to_numpy() * np.where(r["chest_only"].to_numpy(), f[lead], 1.0),
            "act": rms(flat.inp[WINDOWS.index(window_s)]), "k": r["k"].to_numpy(),
            "chest_only": r["chest_only"].to_numpy().astype(np.float64), "lead": r["lead"].to_numpy()}


def fit_grade(feats: dict[str, np.ndarray], rmse: np.ndarray, terms: dict[str, tuple[str, ...]],
              rows: np.ndarray | None = None) -> dict[str, list[float]]:
    """Least squares of log RMSE on :func:`l2g.uncertainty.grade_design` of ``terms`` (over ``rows``)."""
    sel = np.ones(len(rmse), bool) if rows is None else rows
    out = {}
    for kind, names in terms.items():
        x = grade_design(names, {k: v[sel] for k, v in feats.items()})
        out[kind] = [float(c) for c in np.linalg.lstsq(x, np.log(rmse[sel]), rcond=None)[0]]
    return out


#: Candidate additions to the grade regression's terms (l2g.uncertainty.grade_design), tried greedily on
#: validation (2-fold over records); a group is kept when it raises the held-out Spearman by MIN_GAIN.
TERM_GROUPS: dict[str, tuple[str, ...]] = {
    "log sigma (linear prior's expected error)": ("log_sigma",),
    "log act (available leads' activity)": ("log_act",),
    "lead": tuple(f"lead={lead}" for lead in LEADS[1:]),
    "k, chest-only": ("k", "chest_only"),
    "lead x log act": tuple(f"lead={lead}*log_act" for lead in LEADS[1:]),
    "lead x log s": tuple(f"lead={lead}*log_s" for lead in LEADS[1:]),
}
MIN_GAIN = 0.002
#: Candidate bounds of the band's half-width at the ST segment for grade A (mV), up to ST_LIMIT_MV.
BAND_BOUNDS = tuple(np.round(np.arange(0.02, ST_LIMIT_MV + 1e-9, 0.005), 3))
MIN_A_LEADS = 30  # a grade-A rule must grade at least this many validation leads


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def select_terms(feats: dict[str, np.ndarray], rmse: np.ndarray, fold: np.ndarray) -> tuple[tuple[str, ...], list]:
    """Greedy choice of :data:`TERM_GROUPS` on 2-fold validation Spearman(predicted, actual RMSE)."""
    def held_out(terms: tuple[str, ...]) -> float:
        pred = np.empty(len(rmse))
        for f in (0, 1):
            c = fit_grade(feats, rmse, {"model": terms}, rows=fold != f)["model"]
            pred[fold == f] = grade_design(terms, {k: v[fold == f] for k, v in feats.items()}) @ np.asarray(c)
        return _spearman(pred, rmse)

    terms, left = tuple(DEFAULT_GRADE_TERMS["model"]), dict(TERM_GROUPS)
    score = held_out(terms)
    log = [("terms before #22 (s, gen, dis)", score, True)]
    while left:
        tried = {name: held_out(terms + group) for name, group in left.items()}
        name = max(tried, key=tried.get)
        keep = tried[name] >= score + MIN_GAIN
        log += [(f"+ {n}", v, keep and n == name) for n, v in tried.items()]
        if not keep:
            break
        terms, score = terms + left.pop(name), tried[name]
    return terms, log


def fit_grade_a(pred_uv: np.ndarray, st_hw: np.ndarray, st_err: np.ndarray) -> dict | None:
    """The grade-A bounds: the most validation leads graded A with ``|ST error| <= ST_ERROR_MV`` in >= ST_SHARE.

    Per band bound ``L`` in :data:`BAND_BOUNDS`: among leads with a measured ST level and a band at the ST
    segment within ``L``, the largest predicted-RMSE threshold ``T`` (at most GRADE_B_MAX_UV) at which the
    leads with predicted RMSE <= T still have the share; then the (T, L) grading the most leads. None when
    no bound grades :data:`MIN_A_LEADS` leads with the share.
    """
    m = np.isfinite(st_err) & np.isfinite(st_hw)
    ok = st_err <= ST_ERROR_MV
    best = None
    for bound in BAND_BOUNDS:
        sel = np.flatnonzero(m & (st_hw <= bound) & (pred_uv <= GRADE_B_MAX_UV))
        if sel.size < MIN_A_LEADS:
            continue
        order = sel[np.argsort(pred_uv[sel], kind="stable")]
        p, share = pred_uv[order], np.cumsum(ok[order]) / np.arange(1, order.size + 1)
        last = np.r_[p[1:] != p[:-1], True]  # a threshold grades every tie
        good = np.flatnonzero(last & (share >= ST_SHARE) & (np.arange(1, order.size + 1) >= MIN_A_LEADS))
        if good.size and (best is None or good[-1] + 1 > best["leads"]):
            i = good[-1]
            best = {"max_predicted_rmse_uv": float(p[i]), "max_st_halfwidth_mv": float(bound),
                    "leads": int(i + 1), "share": float(share[i])}
    return best


def graded(cal: IntervalCalibration, feats: dict[str, np.ndarray], st_hw: np.ndarray) -> pd.DataFrame:
    """Per row: predicted RMSE, ST decision and grade exactly as :func:`l2g.trust.trust_table` gives them."""
    pred = predicted_rmse(cal, feats) * 1000.0
    rule, _ = cal.rule_for(cal.model, "model")
    ok = st_decisions(pred, st_hw, np.zeros(len(pred), bool), rule)
    return pd.DataFrame({"pred_rmse_uv": pred, "st_hw_mv": st_hw, "st_decisions": ok,
                         "grade": [grade_of(p, o)[0] for p, o in zip(pred, ok, strict=True)]})


def _name(c: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in c.items())


def update_checksum(path: Path) -> None:
    """Rewrite ``path``'s line of the SHA256SUMS beside it."""
    import hashlib

    sums = path.parent / "SHA256SUMS"
    lines = [ln for ln in sums.read_text().splitlines() if ln.strip() and not ln.endswith("  " + path.name)]
    lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")
    sums.write_text("\n".join(lines) + "\n")


def cmd_fit(args: argparse.Namespace) -> None:
    from scipy.stats import spearmanr

    from l2g.reconstruction import load_reconstructor

    rc = load_reconstructor(device="cpu")
    lin = rc.linear
    flat = Flat(cache_dir(args, rc.version), "val", lin)
    ids = sorted(flat.rows["record_id"].unique())
    half = {rid: i % 2 for i, rid in enumerate(ids)}
    fold = flat.rows["record_id"].map(half).to_numpy()
    lines = []
    best = None
    for cand in CANDIDATES:
        s = flat.scale(cand)
        parts = []
        for f in (0, 1):
            q = fit_quantiles(flat, s, fold != f, levels=(0.9,))[0]
            parts.append(evaluate(flat, s, q, fold == f))
        ev = pd.concat(parts)
        per_kl = ev.groupby(["k", "lead"])["coverage"].mean()
        per_rec = ev.groupby("record_id")["coverage"].mean()
        res = {"candidate": _name(cand), "coverage": ev["coverage"].mean(),
               "kxlead_min": per_kl.min(), "kxlead_max": per_kl.max(),
               "record_cov_sd": per_rec.std(), "record_cov_p10": per_rec.quantile(0.1),
               "halfwidth_uv": ev["halfwidth_uv"].mean(), "spearman": spearmanr(ev["s_rms"], ev["rmse"]).statistic}
        lines.append(res)
        print(res, flush=True)
        lines[-1]["halfwidth_k1_uv"] = ev.loc[ev["k"] == 1, "halfwidth_uv"].mean()
        lines[-1]["halfwidth_k7_uv"] = ev.loc[ev["k"] == 7, "halfwidth_uv"].mean()
    table = pd.DataFrame(lines)
    # the choice: the smallest spread of per-record coverage (calibrated for the record in front of you),
    # among shippable scales whose band is on average no wider than the non-adaptive sigma band
    limit = table.loc[table["candidate"] == "kind=sigma", "halfwidth_uv"].iloc[0]
    for cand, res in zip(CANDIDATES, lines, strict=True):
        if cand["kind"] in SHIPPABLE and res["halfwidth_uv"] <= limit and (
                best is None or res["record_cov_sd"] < best[0]):
            best = (res["record_cov_sd"], cand)
    chosen = best[1]
    s = flat.scale(chosen)
    everything = np.ones(len(flat.rows), bool)
    # subsets without a limb lead: their normalised residuals run smaller (over-covered when pooled with the
    # others, under-covered the others); one factor per lead, checked 2-fold like the candidates
    before, after = [], []
    for f in (0, 1):
        q0 = fit_quantiles(flat, s, fold != f, levels=(0.9,))[0]
        before.append(evaluate(flat, s, q0, fold == f))
        s_f = flat.with_factor(s, fit_chest_only_factor(flat, s, fold != f))
        q1 = fit_quantiles(flat, s_f, fold != f, levels=(0.9,))[0]
        after.append(evaluate(flat, s_f, q1, fold == f))
    for name, parts in (("without", before), ("with", after)):
        ev = pd.concat(parts)
        ev["limb_lead"] = ev["lead"].isin(LIMB_LEADS)
        print(f"2-fold validation coverage {name} the chest-only factor (limb_lead = generated lead is a limb lead):")
        print(md_table(ev.groupby(["limb_lead", "chest_only"]).agg(
            coverage=("coverage", "mean"), rows=("coverage", "size"), halfwidth_uv=("halfwidth_uv", "mean"))
            .reset_index()))
        per_kl = ev.groupby(["k", "lead"])["coverage"].mean()
        print(f"k x lead cells: min {per_kl.min():.3f}, max {per_kl.max():.3f}; "
              f"per-record SD {ev.groupby('record_id')['coverage'].mean().std():.3f}")
    factor = fit_chest_only_factor(flat, s, everything)
    print("chest_only_factor", dict(zip(LEADS, factor.round(3), strict=True)))
    s = flat.with_factor(s, factor)
    q = fit_quantiles(flat, s, everything)
    meta = {"split": "val", "records": len(ids), "rows": int(len(flat.rows)), "method": _name(chosen),
            "command": "python -m bench.trust_calibrate fit", "made": time.strftime("%Y-%m-%d")}
    band = IntervalCalibration(beta=float(chosen["beta"]), window_s=float(chosen["window"]), levels=LEVELS,
                               quantiles=q, grade_coef={}, chest_only_factor=factor, meta=meta, model=rc.version)
    # trust grade: the regression's terms (2-fold over records), then its coefficients on all of validation
    feats = grade_features(flat, s, band.window_s, factor)
    rmse = flat.rows["rmse"].to_numpy()
    terms, tried = select_terms(feats, rmse, fold)
    print("grade terms, 2-fold validation Spearman(predicted, actual RMSE):")
    print(md_table(pd.DataFrame(tried, columns=["terms", "spearman_2fold", "kept"])))
    grade_terms = {"model": terms, "linear": tuple(t for t in terms if "dis" not in t)}
    coef = fit_grade(feats, rmse, grade_terms)
    band = dataclasses.replace(band, grade_coef=coef, grade_terms=grade_terms)
    # grade A: bounds chosen on validation so that the ST level of leads so graded is right often enough
    st_hw, st_err = flat.st_halfwidth(band), flat.rows["st_err"].to_numpy()
    pred = predicted_rmse(band, feats) * 1000.0
    found = fit_grade_a(pred, st_hw, st_err)
    checks = []
    for f in (0, 1):  # the same choice on one half of the records, measured on the other
        half_rule = fit_grade_a(np.where(fold != f, pred, np.inf), st_hw, st_err)
        if half_rule is not None:
            r = GradeRule(half_rule["max_predicted_rmse_uv"], half_rule["max_st_halfwidth_mv"], {})
            sel = st_decisions(pred, st_hw, np.zeros(len(pred), bool), r) & (fold == f) & np.isfinite(st_err)
            checks.append({"chosen_on_half": 1 - f, **half_rule, "held_out_leads": int(sel.sum()),
                           "held_out_share": float(np.mean(st_err[sel] <= ST_ERROR_MV)) if sel.any() else np.nan})
    print("grade-A rule chosen on one half of the validation records, measured on the other:")
    print(md_table(pd.DataFrame(checks)))
    rule = None
    if found is not None:
        rule = GradeRule(found["max_predicted_rmse_uv"], found["max_st_halfwidth_mv"], {
            "split": "val", "records": len(ids), "leads": found["leads"], "share": round(found["share"], 4),
            "st_error_mv": ST_ERROR_MV, "target_share": ST_SHARE,
            "measured_leads": int(np.isfinite(st_err).sum()),
            "spearman_rmse": round(_spearman(pred, rmse), 4),
            "two_fold": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()} for c in checks]})
    cal = dataclasses.replace(band, grade_a=rule)
    cal.save(ROOT / "weights" / "interval.json")
    update_checksum(ROOT / "weights" / "interval.json")
    table.to_csv(cache_dir(args, rc.version) / "fit_table.csv", index=False)
    ev = flat.rows.assign(**graded(cal, feats, st_hw))
    ev.to_csv(cache_dir(args, rc.version) / "val_rows.csv.gz", index=False)
    print(md_table(table))
    print("chosen:", _name(chosen), "grade terms", terms, "grade_coef", coef)
    print("grade A:", None if rule is None else rule.to_dict(), "for", rc.version)


def cmd_report(args: argparse.Namespace) -> None:
    from scipy.stats import spearmanr

    from l2g.reconstruction import load_reconstructor
    from l2g.uncertainty import load_calibration

    rc = load_reconstructor(device="cpu")
    lin = rc.linear
    cal = load_calibration(ROOT / "weights" / "interval.json")
    if cal.model != rc.version:
        raise SystemExit(f"weights/interval.json was fitted for {cal.model}, not {rc.version}: run fit first")
    cand = {"kind": "sigma*inputs", "beta": cal.beta, "window": cal.window_s}
    flat = Flat(cache_dir(args, rc.version), args.split, lin)
    s = flat.scale(cand)
    if cal.chest_only_factor is not None:
        s = flat.with_factor(s, cal.chest_only_factor)
    ev = evaluate(flat, s, cal.quantiles[cal.levels.index(0.9)], np.ones(len(flat.rows), bool))
    feats = grade_features(flat, s, cal.window_s, cal.chest_only_factor)
    ev = ev.join(graded(cal, feats, flat.st_halfwidth(cal)).set_index(ev.index))
    ev.to_csv(cache_dir(args, rc.version) / f"{args.split}_rows.csv.gz", index=False)
    rho_band = spearmanr(ev["s_rms"], ev["rmse"]).statistic
    # the same record and lead from one lead vs from seven: is the band wider with fewer leads?
    m = ev.groupby(["record_id", "lead", "k"])["halfwidth_uv"].mean().unstack("k")
    both = m[1].notna() & m[7].notna()
    wider = float((m.loc[both, 1] > m.loc[both, 7]).mean())
    ev["rmse_uv"] = ev["rmse"] * 1000
    cov = ev.pivot_table(index="k", columns="lead", values="coverage", aggfunc="mean").reindex(columns=list(LEADS))
    wid = ev.pivot_table(index="k", columns="lead", values="halfwidth_uv", aggfunc="mean").reindex(
        columns=list(LEADS))
    src = ev.groupby("source").agg(records=("record_id", "nunique"), coverage=("coverage", "mean"),
                                   halfwidth_uv=("halfwidth_uv", "mean"))
    grp = ev.assign(group=ev["groups"].str.split("; ")).explode("group").groupby("group").agg(
        records=("record_id", "nunique"), coverage=("coverage", "mean"), halfwidth_uv=("halfwidth_uv", "mean"))
    rho = spearmanr(ev["pred_rmse_uv"], ev["rmse_uv"]).statistic
    rho_k = {int(k): spearmanr(g["pred_rmse_uv"], g["rmse_uv"]).statistic for k, g in ev.groupby("k")}
    ev["st_err_uv"] = ev["st_err"] * 1000
    gr = ev.groupby("grade").agg(
        n=("rmse_uv", "size"), actual_rmse_median=("rmse_uv", "median"),
        actual_rmse_p90=("rmse_uv", lambda x: x.quantile(0.9)), st_err_median=("st_err_uv", "median"),
        st_err_p90=("st_err_uv", lambda x: x.quantile(0.9)),
        st_within=("st_err", lambda x: (x.dropna() <= ST_ERROR_MV).mean())).reindex([g for g, _ in GRADES])
    a = ev[(ev["grade"] == "A") & ev["st_err"].notna()].assign(within=lambda d: d["st_err"] <= ST_ERROR_MV)
    by_k = ev.groupby("k").agg(leads=("grade", "size"), graded_a=("grade", lambda g: int((g == "A").sum())))
    by_k = by_k.join(a.groupby("k")["within"].mean().rename("a_st_within")).reset_index()
    by_src = ev.groupby("source").agg(records=("record_id", "nunique"), leads=("grade", "size"),
                                      graded_a=("grade", lambda g: int((g == "A").sum())))
    by_src = by_src.join(a.groupby("source")["within"].mean().rename("a_st_within")).reset_index()
    from l2g.catalog import ptbxl_ecg_id

    origin = np.where(ev["record_id"].map(ptbxl_ecg_id).notna(), "PTB-XL copies", "not PTB-XL")
    by_origin = ev.assign(origin=origin).groupby("origin").agg(
        records=("record_id", "nunique"), leads=("grade", "size"), graded_a=("grade", lambda g: int((g == "A").sum())))
    by_origin = by_origin.join(a.assign(origin=origin[a.index])  # a keeps ev's index
                               .groupby("origin")["within"].mean().rename("a_st_within")).reset_index()
    rule, rule_note = cal.rule_for(cal.model, "model")
    val = rule.validation if rule is not None else {}
    md = [
        f"# Band calibration on the `{args.split}` split",
        "",
        f"`python -m bench.trust_calibrate report --split {args.split}` with weights/interval.json "
        f"({cal.meta.get('method')}; fitted for {cal.model}). {ev['record_id'].nunique()} records, {len(ev)} "
        "(record, subset, lead) rows; subsets: every single lead, and per k = 2…7 the presets plus random subsets; "
        "leads fixed exactly by Einthoven/Goldberger are left out (zero-width band, always grade A). Residuals "
        "after a 0.5 Hz high-pass of real and generated, first 10 s of each record.",
        "",
        f"Overall coverage of the 90 % band: {ev['coverage'].mean():.3f}; k × lead cells within 0.85–0.95: "
        f"{int(((cov >= 0.85) & (cov <= 0.95)).sum().sum())} of {int(cov.notna().sum().sum())} "
        f"(min {np.nanmin(cov.values):.3f}, max {np.nanmax(cov.values):.3f}).",
        "",
        "## Coverage per k × lead", "", md_table(cov.round(3).reset_index()), "",
        "## Mean half-width (µV) per k × lead", "", md_table(wid.round(0).reset_index()), "",
        "## By source", "", md_table(src.round(3).reset_index()), "",
        "## By diagnosis group (a record may be in several)", "", md_table(grp.round(3).reset_index()), "",
        f"Band from one lead wider than from seven, same record and lead: {wider:.3f} of {int(both.sum())} "
        f"(record, lead) pairs; mean half-width k = 1: {wid.loc[1].mean():.0f} µV, k = 7: {wid.loc[7].mean():.0f} µV.",
        "",
        "## Trust grade", "",
        f"Spearman ρ (predicted vs actual RMSE over record × subset × lead): **{rho:.3f}** (validation, in "
        f"sample: {val.get('spearman_rmse', float('nan')):.3f}); per k: "
        + ", ".join(f"k={k}: {v:.2f}" for k, v in rho_k.items()) + f". From the band's scale alone (RMS of s "
        f"over the record): ρ = {rho_band:.3f}. Regression terms (`l2g.uncertainty.grade_design`): "
        + ", ".join(f"`{t}`" for t in cal.terms("model")) + ".",
        "",
        "Grade A (`l2g.uncertainty.st_decisions`): " + rule_note
        + ". ST level at J + 60 ms of every lead (`l2g.measurements.beat_measures`; real and generated high-passed "
        "at 0.5 Hz and timed by the same fiducials of the real lead II, `l2g.morphology.delineate`); ST error = "
        f"|generated − real|. On this split **{a['within'].mean():.3f}** of {len(a)} grade-A leads with a "
        f"measured ST level are within {ST_ERROR_MV:g} mV (target ≥ {ST_SHARE:g}); "
        f"{int(ev['st_err'].isna().sum())} of {len(ev)} leads have no measured ST level (lead II not delineated).",
        "",
        "Per grade (µV; st_within: share of the leads with a measured ST level within 0.05 mV):", "",
        md_table(gr.reset_index(), {"n": "d", **dict.fromkeys(gr.columns[1:-1], ".0f")}), "",
        "Per k (a_st_within: share of the grade-A leads within 0.05 mV):", "",
        md_table(by_k, {"k": "d", "leads": "d", "graded_a": "d"}), "",
        "Per source, and PTB-XL copies apart (the shipped generator was fine-tuned on PTB-XL, fold 10 included):", "",
        md_table(by_src, {"records": "d", "leads": "d", "graded_a": "d"}), "",
        md_table(by_origin, {"records": "d", "leads": "d", "graded_a": "d"}), "",
    ]
    out = ROOT / "reports" / f"trust_calibration_{args.split}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(md))
    grade_counts = ev["grade"].value_counts()
    summary = {  # read by bench/diagnostic.py (the grade-validation table of reports/diagnostic.md)
        "split": args.split, "model": cal.model,
        "command": f"python -m bench.trust_calibrate report --split {args.split}",
        "records": int(ev["record_id"].nunique()), "rows": int(len(ev)), "coverage": float(ev["coverage"].mean()),
        "spearman": float(rho), "grade_a": int(grade_counts.get("A", 0)), "grade_a_with_st": int(len(a)),
        "grade_a_st_within": float(a["within"].mean()) if len(a) else None,
        "st_share_goal": ST_SHARE, "st_error_mv": ST_ERROR_MV,
        "per_grade": {str(g): {"n": int(r["n"]),
                               "st_within": None if pd.isna(r["st_within"]) else float(r["st_within"]),
                               "st_err_p90_uv": None if pd.isna(r["st_err_p90"]) else float(r["st_err_p90"])}
                      for g, r in gr.iterrows() if not pd.isna(r["n"])},
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    print("\n".join(md))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["cache", "fit", "report"])
    p.add_argument("--split", default="val", help="val, test, or ptbxlN: PTB-XL's fold N (e.g. ptbxl10; cache "
                   "and report only, one ECG per patient; the generator must not have seen the fold)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--cache", default="/tmp/l2g_trust")
    p.add_argument("--limit", type=int, default=None, help="records (ptbxlN: patients) to use")
    p.add_argument("--ptbxl", default=str(ROOT.parent / "scratch" / "ptbxl" / "Data" / "records100"),
                   help="--split ptbxlN: PTB-XL's records100 folder")
    p.add_argument("--meta", default=str(ROOT.parent / "shared" / "ptbxl" / "ptbxl_database.csv"),
                   help="--split ptbxlN: PTB-XL's ptbxl_database.csv")
    p.add_argument("--random", type=int, default=3, help="random subsets per k = 2…7 on top of the presets")
    p.add_argument("--seconds", type=float, default=10.0, help="first seconds of each record used")
    args = p.parse_args()
    {"cache": cmd_cache, "fit": cmd_fit, "report": cmd_report}[args.step](args)


if __name__ == "__main__":
    main()
