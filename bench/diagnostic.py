"""Does a generated lead keep the diagnosis? PTB-XL's patient-wise benchmark (issue #22).

Stages (each resumable; run from the repository root, ``make diagnostic`` runs them all):

    .venv/bin/python bench/diagnostic.py prepare       # PTB-XL records100 -> one cached array (100 Hz, high-passed)
    .venv/bin/python bench/diagnostic.py classifiers   # reference + input-only classifiers (folds 1-8, stop on 9)
    .venv/bin/python bench/diagnostic.py reconstruct   # fold 10 (and 9) reconstructions, model and linear, per subset
    .venv/bin/python bench/diagnostic.py score         # reports/diagnostic.md + .json

Paths: ``--ptbxl`` (records100's parent, default ../scratch/ptbxl/Data), ``--meta``
(ptbxl_database.csv), ``--work`` (arrays, classifiers and reconstructions; default runs/diagnostic).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from l2g.dataset import DataConfig
from l2g.fidelity import (
    ClassifierConfig,
    beat_measures,
    bootstrap_auc,
    lead_rows,
    load_classifier,
    macro_auc,
    predict_proba,
    train_classifier,
)
from l2g.leads import LEADS, normalize_lead_name
from l2g.preprocess import highpass_array
from l2g.ptbxl import SUPERCLASSES, TEST_FOLDS, TRAIN_FOLDS, VAL_FOLDS, load_meta

log = logging.getLogger("diagnostic")

# the subsets of the fidelity table (issue #22 item 3), in the order
FIDELITY_SUBSETS: tuple[tuple[str, ...], ...] = (("I",), ("II",), ("I", "II"), ("I", "II", "V2"),
                                                 ("I", "II", "V1", "V3", "V5"))
# the reconstruction table: every single lead, then the clinical presets
PRESETS: tuple[tuple[str, ...], ...] = (("I", "II"), ("I", "II", "V2"), ("I", "II", "V1", "V3", "V5"),
                                        ("I", "II", "V2", "V4"))


def subset_name(leads) -> str:
    return ",".join(leads)


def _paths(args) -> dict[str, Path]:
    work = Path(args.work)
    return {"work": work, "x": work / "ptbxl100_hp.npy", "ids": work / "ptbxl100_ids.npy",
            "clf": work / "classifiers", "rec": work / "recon"}


def prepare(args) -> None:
    """Read every listed record100 once: (n, 12, 1000) float32 mV, 0.5-Hz high-passed, ids beside."""
    import wfdb

    p = _paths(args)
    if p["x"].exists() and p["ids"].exists():
        log.info("prepare: %s exists", p["x"])
        return
    p["work"].mkdir(parents=True, exist_ok=True)
    meta = load_meta(args.meta)
    ids = np.array(sorted(meta.table.index), np.int64)
    x = np.lib.format.open_memmap(p["x"].with_suffix(".tmp.npy"), "w+", np.float32, (len(ids), 12, 1000))
    hp = DataConfig().highpass_hz
    t0 = time.time()
    for i, ecg in enumerate(ids):
        sig, fields = wfdb.rdsamp(str(Path(args.ptbxl) / meta.table.at[int(ecg), "filename_lr"]))
        names = [normalize_lead_name(n) for n in fields["sig_name"]]
        order = [names.index(lead) for lead in LEADS]
        arr = np.nan_to_num(sig[:1000, order].T.astype(np.float64))
        x[i, :, : arr.shape[1]] = highpass_array(arr, float(fields["fs"]), hp)
        if i % 2000 == 0:
            log.info("prepare: %d / %d (%.0f s)", i, len(ids), time.time() - t0)
    x.flush()
    del x
    p["x"].with_suffix(".tmp.npy").rename(p["x"])
    np.save(p["ids"], ids)


def load_arrays(args) -> tuple[np.ndarray, np.ndarray, object]:
    p = _paths(args)
    return np.load(p["x"], mmap_mode="r"), np.load(p["ids"]), load_meta(args.meta)


def fold_index(meta, ids: np.ndarray, folds, labelled: bool = True) -> np.ndarray:
    """Indices (into ``ids``) of the records in ``folds``; with ``labelled``, only those with a superclass."""
    f = meta.table.loc[ids, "strat_fold"].to_numpy()
    keep = np.isin(f, list(folds))
    if labelled:
        keep &= meta.table.loc[ids, "labels"].map(len).to_numpy() > 0
    return np.flatnonzero(keep)


def classifier_specs() -> list[tuple[str, ClassifierConfig]]:
    """The reference (12 leads) and the input-only classifiers; each its own seed."""
    specs = [("reference_12", ClassifierConfig(leads=LEADS, seed=7))]
    # the most telling comparisons first (lead I alone, I + II + V2), so a stopped run has them
    first = (("I",), ("I", "II", "V2"))
    order = sorted(range(len(FIDELITY_SUBSETS)), key=lambda k: (FIDELITY_SUBSETS[k] not in first, k))
    for k in order:
        leads = FIDELITY_SUBSETS[k]
        specs.append((f"input_{'_'.join(leads)}", ClassifierConfig(leads=leads, seed=100 + k)))
    return specs


def classifiers(args) -> None:
    x, ids, meta = load_arrays(args)
    tr, va = fold_index(meta, ids, TRAIN_FOLDS), fold_index(meta, ids, VAL_FOLDS)
    xtr = np.ascontiguousarray(x[tr])
    ytr, yva = meta.labels(ids[tr]), meta.labels(ids[va])
    xva = np.ascontiguousarray(x[va])
    log.info("classifiers: %d train (folds 1-8), %d validation (fold 9) records", len(tr), len(va))
    for name, cfg in classifier_specs():
        if args.only and name not in args.only:
            continue
        out = _paths(args)["clf"] / f"{name}.pt"
        if out.exists() and not out.with_suffix(".ckpt").exists():
            log.info("%s: done", name)
            continue
        if args.epochs:
            from dataclasses import replace

            cfg = replace(cfg, epochs=args.epochs)
        summary = train_classifier(xtr, ytr, xva, yva, cfg, out)
        out.with_suffix(".ckpt").unlink(missing_ok=True)
        log.info("%s: best epoch %s, fold-9 macro-AUC %.4f", name, summary["best_epoch"], summary["val_macro_auc"])


def recon_subsets() -> list[tuple[str, ...]]:
    """Every single lead, then the presets (the fidelity subsets are among them)."""
    out = [(lead,) for lead in LEADS] + list(PRESETS)
    assert all(s in out for s in FIDELITY_SUBSETS)
    return out


def reconstruct(args) -> None:
    """Fold-10 reconstructions at 100 Hz (high-passed as the inputs), per subset and method, cached as float16.

    Each record goes through :func:`l2g.reconstruct` — the product path — as a 100-Hz Record of its
    high-passed 12 leads; the generated leads are high-passed again (as ``l2g evaluate`` scores them).
    """
    import l2g
    from l2g.record import Record

    x, ids, meta = load_arrays(args)
    test = fold_index(meta, ids, TEST_FOLDS, labelled=False)
    rc_model = l2g.load_reconstructor(args.weights)
    import dataclasses

    rc_lin = dataclasses.replace(rc_model, generator=None)
    hp = DataConfig().highpass_hz
    out_dir = _paths(args)["rec"] / Path(args.weights).stem
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.txt").write_text(f"{args.weights} {rc_model.version}\n")
    np.save(out_dir / "index.npy", test)
    for leads in recon_subsets():
        for method, rc in (("model", rc_model), ("linear", rc_lin)):
            path = out_dir / f"{method}_{'_'.join(leads)}.npy"
            if path.exists():
                continue
            t0 = time.time()
            y = np.zeros((len(test), 12, 1000), np.float16)
            for j, i in enumerate(test):
                rec = Record(np.asarray(x[i], np.float32), 100.0, LEADS, name=str(ids[i]))
                full = l2g.reconstruct(rec, leads, model=rc)
                y[j] = highpass_array(full.signal.astype(np.float64), 100.0, hp)
                y[j][lead_rows_of(leads)] = x[i][lead_rows_of(leads)]
            np.save(path.with_suffix(".tmp.npy"), y)
            path.with_suffix(".tmp.npy").rename(path)
            log.info("reconstruct %s from %s: %d records, %.0f s", method, subset_name(leads), len(test),
                     time.time() - t0)


def lead_rows_of(leads) -> list[int]:
    return [LEADS.index(lead) for lead in leads]


def _fiducials(args, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(records, 3, beats<=20) R / QRS onset / QRS offset of the real lead II (l2g delineation), cached."""
    from l2g.morphology import delineate

    path = _paths(args)["work"] / "fiducials_fold10.npy"
    if path.exists():
        return np.load(path)
    out = np.full((len(idx), 3, 20), np.nan)
    for j, i in enumerate(idx):
        try:
            d = delineate(np.asarray(x[i, 1], np.float64), 100.0)
        except ValueError:
            continue
        nb = min(20, len(d.r_peaks))
        out[j, 0, :nb], out[j, 1, :nb], out[j, 2, :nb] = d.r_peaks[:nb], d.qrs_on[:nb], d.qrs_off[:nb]
    np.save(path, out)
    return out


def _recon_rows(real: np.ndarray, gen: np.ndarray, leads) -> dict:
    """Mean r and RMSE (µV) over the generated leads (and the chest ones), mean over records."""
    rows = [r for r in range(12) if LEADS[r] not in leads]
    chest = [r for r in rows if LEADS[r].startswith("V")]
    a = real[:, rows].astype(np.float64)
    b = gen[:, rows].astype(np.float64)
    a0, b0 = a - a.mean(-1, keepdims=True), b - b.mean(-1, keepdims=True)
    den = np.sqrt((a0**2).sum(-1) * (b0**2).sum(-1))
    r = np.where(den > 0, (a0 * b0).sum(-1) / np.where(den > 0, den, 1), np.nan)
    rmse = np.sqrt(((a - b) ** 2).mean(-1)) * 1000.0
    cpos = [rows.index(c) for c in chest]
    return {"r": float(np.nanmean(np.nanmean(r, 1))), "rmse_uv": float(np.mean(rmse.mean(1))),
            "r_chest": float(np.nanmean(np.nanmean(r[:, cpos], 1))) if cpos else float("nan"),
            "rmse_chest_uv": float(np.mean(rmse[:, cpos].mean(1))) if cpos else float("nan"),
            "n_generated": len(rows)}


def _shrinkage(real_m: np.ndarray, gen_m: np.ndarray) -> tuple[float, float, int]:
    """Correlation and OLS slope of generated on real (one value per record), finite pairs only."""
    ok = np.isfinite(real_m) & np.isfinite(gen_m)
    if ok.sum() < 3:
        return float("nan"), float("nan"), int(ok.sum())
    a, b = real_m[ok], gen_m[ok]
    return float(np.corrcoef(a, b)[0, 1]), float(np.polyfit(a, b, 1)[0]), int(ok.sum())


def score(args) -> None:
    """Write reports/diagnostic.md and reports/diagnostic.json from the cached reconstructions."""

    x, ids, meta = load_arrays(args)
    rec_dir = _paths(args)["rec"] / Path(args.weights).stem
    test = np.load(rec_dir / "index.npy")
    model_version = (rec_dir / "model.txt").read_text().split()[-1]
    real = np.asarray(x[test], np.float32)
    result: dict = {"model": model_version, "records_fold10": int(len(test)), "reconstruction": {},
                    "subsets": {}, "per_class": {}, "ci": {}, "shrinkage": {}, "st": {}}
    # 1. reconstruction on fold 10
    for leads in recon_subsets():
        name = subset_name(leads)
        result["reconstruction"][name] = {m: _recon_rows(real, np.load(rec_dir / f"{m}_{'_'.join(leads)}.npy"), leads)
                                          for m in ("model", "linear")}
    # 2. diagnostic fidelity on the labelled fold-10 records
    lab = np.flatnonzero(meta.table.loc[ids[test], "labels"].map(len).to_numpy() > 0)
    y = meta.labels(ids[test][lab])
    patients = meta.table.loc[ids[test][lab], "patient_id"].to_numpy()
    clf_dir = _paths(args)["clf"]
    ref, ref_cfg, ref_sum = load_classifier(clf_dir / "reference_12.pt")
    p_real = predict_proba(ref, real[lab], ref_cfg)
    result["classifiers"] = {"reference_12": {"val_macro_auc": ref_sum.get("val_macro_auc"),
                                              "best_epoch": ref_sum.get("best_epoch")}}
    for leads in FIDELITY_SUBSETS:
        name = subset_name(leads)
        cpath = clf_dir / f"input_{'_'.join(leads)}.pt"
        preds = {"real": p_real}
        if cpath.exists() and not cpath.with_suffix(".ckpt").exists():
            net, cfg, summ = load_classifier(cpath)
            preds["input_only"] = predict_proba(net, real[lab][:, lead_rows(leads)], cfg)
            result["classifiers"][cpath.stem] = {"val_macro_auc": summ.get("val_macro_auc"),
                                                 "best_epoch": summ.get("best_epoch")}
        for m in ("model", "linear"):
            preds[m] = predict_proba(ref, np.load(rec_dir / f"{m}_{'_'.join(leads)}.npy")[lab].astype(np.float32),
                                     ref_cfg)
        zero = np.zeros_like(real[lab])
        zero[:, lead_rows(leads)] = real[lab][:, lead_rows(leads)]
        preds["zero"] = predict_proba(ref, zero, ref_cfg)
        result["subsets"][name] = {}
        result["per_class"][name] = {}
        for m, p in preds.items():
            macro, per = macro_auc(y, p)
            result["subsets"][name][m] = macro
            result["per_class"][name][m] = dict(zip(SUPERCLASSES, per.tolist(), strict=True))
        result["ci"][name] = bootstrap_auc(y, preds, patients, n_boot=args.boot, seed=0)
        log.info("fidelity %s: %s", name, {m: round(v, 4) for m, v in result["subsets"][name].items()})
    # 3. regression to the mean and ST at J+60 ms, on fold 10 (fiducials of the real lead II)
    fid = _fiducials(args, x, test)
    meas_real = np.array([beat_measures(real[j], 100.0, *fid[j]) for j in range(len(test))])  # (n, 2, 12)
    for leads in FIDELITY_SUBSETS:
        name = subset_name(leads)
        result["shrinkage"][name], result["st"][name] = {}, {}
        for m in ("model", "linear"):
            gen = np.load(rec_dir / f"{m}_{'_'.join(leads)}.npy").astype(np.float32)
            meas = np.array([beat_measures(gen[j], 100.0, *fid[j]) for j in range(len(test))])
            shr, st = {}, {}
            for r, lead in enumerate(LEADS):
                if lead in leads:
                    continue
                if lead.startswith("V"):
                    shr[lead] = _shrinkage(meas_real[:, 0, r], meas[:, 0, r])
                err = np.abs(meas[:, 1, r] - meas_real[:, 1, r])
                err = err[np.isfinite(err)]
                st[lead] = (float(np.median(err)), float(np.percentile(err, 90)), float(np.mean(err <= 0.05)),
                            int(err.size))
            result["shrinkage"][name][m], result["st"][name][m] = shr, st
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "diagnostic.json").write_text(json.dumps(result, indent=1, allow_nan=True) + "\n")
    log.info("wrote %s", out / "diagnostic.json")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["prepare", "classifiers", "reconstruct", "score", "all"])
    ap.add_argument("--ptbxl", default="../scratch/ptbxl/Data")
    ap.add_argument("--meta", default="../shared/ptbxl/ptbxl_database.csv")
    ap.add_argument("--work", default="runs/diagnostic")
    ap.add_argument("--only", nargs="*", default=None, help="classifier names to train")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--weights", default="weights/l2g.pt")
    ap.add_argument("--out", default="reports")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap draws over patients")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stages = ["prepare", "classifiers", "reconstruct", "score"] if args.stage == "all" else [args.stage]
    for s in stages:
        globals()[s](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
