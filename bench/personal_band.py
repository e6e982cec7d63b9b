"""The band and the grades of the personalised mode (issue #23 item 4): fit on fold 9, check on fold 10.

Run from the repository root after ``python -m bench.personal prepare`` and ``generic`` (same ``--work``)::

    python -m bench.personal_band fit     # fold-9 pairs -> weights/personal_interval.json (+ SHA256SUMS)
    python -m bench.personal_band check   # fold-9 and fold-10 pairs -> reports/personal_band.json
    python -m bench.personal report       # reports/personal.md, with the band and grade tables

Pairs are those of ``bench/personal.py`` (each fold-9/10 patient's earliest ECG as the prior, each later ECG a
target; PTB-XL ``records100``, 0.5-Hz high-passed), personalised with the library's method and penalties
(``l2g.personal.fit_correction`` / ``apply_correction``, :data:`l2g.personal.PENALTIES`); only the pairs the guard
lets through (``l2g.personal.guard`` at its threshold) are personalised, so only they calibrate and check the
personalised band (a refused pair is the generic result with the generic band).

``fit`` (fold 9 only), per subset of ``bench.personal.SUBSETS``: the split-conformal quantiles of the personalised
normalised residuals ``|y - personalised| / s`` per lead (``s``: the generic band's scale, from
``interval.json``); the predicted-RMSE factor (geometric mean of actual over the generic grade regression's
prediction, by ``l2g.trust.trust_table``, of the personalised leads); then a grade-A rule per subset, chosen on its
fold-9 leads as ``bench/trust_calibrate.py fit`` chooses the generic one (``fit_grade_a``). ``check`` runs the
product path (``l2g.uncertainty.interval_for`` and ``l2g.trust.trust_table`` on a personalised record, which read
``personal_interval.json``): band coverage per subset and the share of grade-A leads whose ST level at J + 60 ms
is within 0.05 mV, on fold 10 (and fold 9, where it was fitted).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.personal import FS, SUBSETS, _measures, name, personal_one
from bench.trust_calibrate import LEVELS, fit_grade_a, update_checksum
from l2g.grades import ST_ERROR_MV, ST_SHARE, GradeRule
from l2g.leads import LEADS
from l2g.personal import PENALTIES, guard
from l2g.personal_band import PERSONAL_FILE, PersonalCalibration, personal_calibration_for
from l2g.record import GENERATED, RECORDED, Metadata, Provenance, Record
from l2g.uncertainty import (
    band_scale,
    calibration_for,
    conformal_quantile,
    exact_leads,
    input_activity,
    interval_for,
    linear_sigma,
)

log = logging.getLogger("personal_band")

PRIOR_LABEL = "earlier ECG of this patient (PTB-XL pair)"


@dataclasses.dataclass
class Pairs:
    """The prepared arrays of ``bench.personal`` (100 Hz, high-passed) and the pairs' indices into them."""

    x: np.ndarray
    pi: np.ndarray
    ti: np.ndarray
    fold: np.ndarray
    fid: np.ndarray
    work: Path


def load_pairs(work: Path) -> Pairs:
    """``x.npy``, ``pairs.csv`` and the targets' lead-II fiducials of ``bench.personal prepare`` / ``score``."""
    ids = np.load(work / "ids.npy")
    pairs = pd.read_csv(work / "pairs.csv")
    pos = {int(e): i for i, e in enumerate(ids)}
    return Pairs(np.load(work / "x.npy"), pairs["prior"].map(pos).to_numpy(), pairs["target"].map(pos).to_numpy(),
                 pairs["fold"].to_numpy(), np.load(work / "fiducials.npy"), work)


def trusted(p: Pairs, leads) -> np.ndarray:
    """Whether the library's guard lets each pair through (cached per subset in ``--work``)."""
    path = p.work / f"guard_{'_'.join(leads)}.npy"
    if path.exists():
        return np.load(path)
    rows = [LEADS.index(lead) for lead in leads]
    ok = np.array([guard(p.x[a][rows], p.x[b][rows], leads, FS).trusted for a, b in zip(p.pi, p.ti, strict=True)])
    np.save(path, ok)
    return ok


def personal_record(sig: np.ndarray, leads, version: str, prior: bool = True) -> Record:
    """A personalised reconstruction as :func:`l2g.reconstruct` returns it (``prior=False``: named generic)."""
    status = tuple(RECORDED if lead in leads else GENERATED for lead in LEADS)
    prov = Provenance("model", version, tuple(leads), prior=PRIOR_LABEL if prior else None)
    return Record(sig.astype(np.float32), FS, LEADS, status=status, name="pair", meta=Metadata(provenance=prov))


def _generated(leads) -> list[int]:
    """Rows of the generated leads not fixed exactly by ``leads`` (those a band and a grade are about)."""
    exact = set(exact_leads(leads))
    return [j for j, lead in enumerate(LEADS) if lead not in exact]


def _outputs(p: Pairs, leads, sel: np.ndarray) -> np.ndarray:
    """Personalised reconstructions (pairs, 12, T) of the selected pairs with the library's penalty."""
    gen = np.load(p.work / f"generic_{'_'.join(leads)}.npy")
    pen = PENALTIES.get(name(leads), PENALTIES["default"])
    return np.stack([personal_one(p.x[a], gen[a], p.x[b], gen[b], leads, pen)
                     for a, b in zip(p.pi[sel], p.ti[sel], strict=True)])


def _st_error(p: Pairs, sel: np.ndarray, out: np.ndarray) -> np.ndarray:
    """|ST error| (mV) at J + 60 ms per (pair, lead), fiducials of the real lead II (NaN where not measured)."""
    real = _measures(p.x[p.ti[sel]], p.fid[sel])
    return np.abs(_measures(out, p.fid[sel])[:, 1] - real[:, 1])


def fit(args) -> None:
    from l2g.reconstruction import load_reconstructor
    from l2g.trust import trust_table

    rc = load_reconstructor(args.weights, device="cpu")
    base = calibration_for(rc.version)
    p = load_pairs(Path(args.work))
    quantiles, factor, rows = {}, {}, []
    for leads in SUBSETS:
        t0 = time.time()
        sel = (p.fold == 9) & trusted(p, leads)
        out = _outputs(p, leads, sel)
        gen_rows = _generated(leads)
        sigma = linear_sigma(rc.linear, leads) * base.factor_for(leads)
        scores: list[list[np.ndarray]] = [[] for _ in LEADS]
        log_ratio = []
        st_err = _st_error(p, sel, out)
        q_g90 = base.quantile(0.9, len(leads))
        for i, b in enumerate(p.ti[sel]):
            rec = personal_record(out[i], leads, rc.version, prior=False)  # the generic route: generic grade pieces
            s = band_scale(input_activity(rec.select(leads), base.window_s), sigma, base.beta)
            tab = trust_table(rec, model=rc, calibration=base).set_index("lead")
            for j in gen_rows:
                lead = LEADS[j]
                scores[j].append(np.abs(p.x[b, j] - out[i, j]) / np.maximum(s[j], 1e-9))
                rmse = float(np.sqrt(np.mean((p.x[b, j] - out[i, j]) ** 2)) * 1000.0)
                pred = float(tab.at[lead, "predicted_rmse_uv"])
                log_ratio.append(np.log(max(rmse, 1.0) / max(pred, 1.0)))
                rows.append({"subset": name(leads), "lead": lead, "pred_generic_uv": pred,
                             "hw_generic_mv": float(tab.at[lead, "st_halfwidth_mv"]), "q_generic90": q_g90[j],
                             "st_err_mv": float(st_err[i, j])})
        q = np.array([[conformal_quantile(np.concatenate(scores[j]), lv) if scores[j] else
                       float(base.quantile(lv, len(leads))[j]) for j in range(len(LEADS))] for lv in LEVELS])
        quantiles[name(leads)], factor[name(leads)] = q, float(np.exp(np.mean(log_ratio)))
        log.info("fit %s: %d fold-9 pairs let through, q90 %s, RMSE factor %.3f, %.0f s", name(leads), int(sel.sum()),
                 np.round(q[LEVELS.index(0.9), gen_rows], 2).tolist(), factor[name(leads)], time.time() - t0)
    tab = pd.DataFrame(rows)
    q90 = {k: v[LEVELS.index(0.9)] for k, v in quantiles.items()}
    pred = tab["pred_generic_uv"].to_numpy() * tab["subset"].map(factor).to_numpy()
    ratio = np.array([q90[s][LEADS.index(lead)] for s, lead in zip(tab["subset"], tab["lead"], strict=True)])
    hw = tab["hw_generic_mv"].to_numpy() * ratio / tab["q_generic90"].to_numpy()
    rules = {}
    for key in quantiles:  # one grade-A rule per subset, chosen on its own fold-9 leads
        m = (tab["subset"] == key).to_numpy()
        best = fit_grade_a(pred[m], hw[m], tab["st_err_mv"].to_numpy()[m])
        rules[key] = None if best is None else GradeRule(best["max_predicted_rmse_uv"], best["max_st_halfwidth_mv"], {
            "split": "PTB-XL fold 9 same-patient pairs (guard let through)", "leads": best["leads"],
            "share": round(best["share"], 4), "st_error_mv": ST_ERROR_MV, "target_share": ST_SHARE,
            "measured_leads": int(np.isfinite(tab.loc[m, "st_err_mv"]).sum())})
    n9 = {name(leads): int(((p.fold == 9) & trusted(p, leads)).sum()) for leads in SUBSETS}
    pc = PersonalCalibration(model=rc.version, beta=base.beta, window_s=base.window_s, levels=LEVELS,
                             quantiles=quantiles, rmse_factor=factor, grade_a=rules, meta={
                                 "pairs": "PTB-XL fold 9, earliest ECG -> each later one, guard let through",
                                 "pairs_per_subset": n9, "penalties": {k: PENALTIES.get(k, PENALTIES["default"])
                                                                       for k in n9},
                                 "command": "python -m bench.personal_band fit",
                                 "made": datetime.date.today().isoformat()})
    path = Path(args.weights_dir) / PERSONAL_FILE
    pc.save(path)
    update_checksum(path)
    log.info("wrote %s (grade A: %s)", path, rules)


def check(args) -> None:
    from l2g.personal_band import load_personal_calibration
    from l2g.reconstruction import load_reconstructor
    from l2g.trust import trust_table

    rc = load_reconstructor(args.weights, device="cpu")
    base = calibration_for(rc.version)
    pc = load_personal_calibration(Path(args.weights_dir) / PERSONAL_FILE)
    p = load_pairs(Path(args.work))
    res: dict = {"model": rc.version, "file": PERSONAL_FILE, "rmse_factor": pc.rmse_factor, "subsets": {},
                 "grade_a": {k: None if r is None else r.to_dict() for k, r in pc.grade_a.items()}}
    for leads in SUBSETS:
        cal = personal_calibration_for(rc.version, leads, personal=pc, base=base)
        gen_rows = _generated(leads)
        res["subsets"][name(leads)] = {}
        for f in (9, 10):
            t0 = time.time()
            sel = (p.fold == f) & trusted(p, leads)
            out = _outputs(p, leads, sel)
            st_err = _st_error(p, sel, out)
            cov_p, cov_g, width_p, width_g, graded = [], [], [], [], []
            for i, b in enumerate(p.ti[sel]):
                rec = personal_record(out[i], leads, rc.version)
                for cov, width, c in ((cov_p, width_p, cal), (cov_g, width_g, base)):
                    low, high = interval_for(rec, leads, 0.9, rc.linear, c)
                    y = p.x[b, gen_rows]
                    cov.append(np.mean((y >= low[gen_rows]) & (y <= high[gen_rows]), axis=1))
                    width.append(np.mean(high[gen_rows] - low[gen_rows], axis=1) * 500.0)  # half-width, µV
                tab = trust_table(rec, model=rc, calibration=base).set_index("lead")
                for j in gen_rows:
                    row = tab.loc[LEADS[j]]
                    rmse = float(np.sqrt(np.mean((p.x[b, j] - out[i, j]) ** 2)) * 1000.0)
                    graded.append({"lead": LEADS[j], "grade": row["grade"], "st_err_mv": float(st_err[i, j]),
                                   "pred_uv": float(row["predicted_rmse_uv"]), "rmse_uv": rmse})
            g = pd.DataFrame(graded)
            a = g[(g["grade"] == "A") & np.isfinite(g["st_err_mv"])]
            from scipy.stats import spearmanr

            res["subsets"][name(leads)][f"fold{f}"] = {
                "pairs": int(sel.sum()), "pairs_all": int((p.fold == f).sum()), "rows": len(g),
                "coverage_personal": float(np.mean(np.concatenate(cov_p))),
                "coverage_generic_band": float(np.mean(np.concatenate(cov_g))),
                "halfwidth_personal_uv": float(np.mean(np.concatenate(width_p))),
                "halfwidth_generic_uv": float(np.mean(np.concatenate(width_g))),
                "grades": {k: int((g["grade"] == k).sum()) for k in ("A", "B", "C")},
                "a_measured": len(a), "a_within": int((a["st_err_mv"] <= ST_ERROR_MV).sum()),
                "spearman_rmse": float(spearmanr(g["pred_uv"], g["rmse_uv"]).statistic),
                "median_pred_uv": float(g["pred_uv"].median()), "median_rmse_uv": float(g["rmse_uv"].median())}
            log.info("check %s fold %d: %s (%.0f s)", name(leads), f, res["subsets"][name(leads)][f"fold{f}"],
                     time.time() - t0)
    for f in (9, 10):
        rows = [v[f"fold{f}"] for v in res["subsets"].values()]
        res[f"fold{f}"] = {"a_measured": sum(r["a_measured"] for r in rows),
                           "a_within": sum(r["a_within"] for r in rows)}
    out_path = Path(args.reports) / "personal_band.json"
    out_path.write_text(json.dumps(res, indent=1))
    log.info("wrote %s", out_path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.personal_band", description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=("fit", "check"))
    ap.add_argument("--weights", default="weights/l2g.pt")
    ap.add_argument("--weights-dir", default="weights")
    ap.add_argument("--work", default="runs/personal")
    ap.add_argument("--reports", default="reports")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    {"fit": fit, "check": check}[args.stage](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
