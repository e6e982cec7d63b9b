"""Delineation methods against LUDB's cardiologist annotations (lead II).

For every method and every one of the 200 LUDB records (10 s, 500 Hz), lead II is
delineated and compared with the cardiologists' lead-II annotations. Methods: neurokit2's
``dwt``, ``cwt``, ``peak``, ``prominence`` and our ``l2g`` on lead II alone
(``delineate_record(rec, "II", m, context=False)``); ``l2g+leads``, the ``l2g`` method with
the other 11 leads as context (``context=True``, the project default for records); and, for
scale, ``ann-aVF`` / ``ann-I``: the cardiologists' annotations of lead aVF / I scored as if
they were a detector of lead II's.

1. **Fiducial points** (P on/peak/off, QRS on, R peak, QRS off, T on/peak/off). A detected
   point matches an annotated point of the same kind when they are at most
   ``--tolerance`` ms apart (150 ms, the usual choice on LUDB and the QT database),
   one-to-one, closest pairs first. Annotations cover only the central part of each
   record, so a detection that matches nothing counts as a false positive only when it
   lies inside the annotated span [first annotation - margin, last annotation + margin]
   (``--margin``, 0 ms by default); a matched detection counts wherever it lies.
   Reported per point: sensitivity Se = TP / annotated, positive predictive value
   PPV = TP / (TP + FP), F1, and the error detected - annotated (ms) of matched pairs:
   mean, SD and mean absolute.
2. **Per-record intervals.** :func:`l2g.morphology.intervals` gives the median PR, QRS
   and QT of the beats whose R peak lies inside the annotated span. The same function
   applied to the annotations (assembled into beats the same way) gives the
   cardiologists' medians. Reported per interval: the fraction of records (among those
   where the cardiologists' interval exists) where the method measured it, and, over
   records where both exist, the mean absolute error, the mean error (bias), its SD, the
   median absolute error and the fraction within the target; also on subsets (odd / even
   record numbers, with / without AF, flutter or pacing per ``ludb.csv``).

The best automated method is the one meeting the most interval targets (MAE <= 10 ms for
PR and QRS, <= 15 ms for QT, with >= 90 % of records measured), then with the lowest summed
interval MAE, then the highest mean F1.

Reproduce (about a minute for all rows on one CPU core)::

    .venv/bin/python -m bench.delineation_ludb --data ../shared/data
    .venv/bin/python -m bench.delineation_ludb --methods l2g l2g+leads --limit 20 --no-write

Writes reports/delineation_ludb.json and reports/delineation_ludb.md and prints the tables
(per-method runtimes go to stderr).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from l2g.io import read_record
from l2g.morphology import (
    DEFAULT_METHOD,
    METHODS,
    POINTS,
    Delineation,
    delineate_record,
    intervals,
)

ROOT = Path(__file__).resolve().parents[1]

TARGETS_MS = {"pr_ms": 10.0, "qrs_ms": 10.0, "qt_ms": 15.0}
# "l2g+leads": the l2g method with the other leads as context (delineate_record(..., context=True))
BENCH_METHODS = (*METHODS, "l2g+leads")
# the cardiologists' annotations of another lead, scored against lead II's (the inter-lead scale)
ANNOTATION_LEADS = {"ann-aVF": "avf", "ann-I": "i"}
INTERVALS = ("pr_ms", "qrs_ms", "qt_ms", "heart_rate_bpm")
# LUDB symbol of each wave's peak
WAVE_SYMBOL = {"p": "p", "N": "qrs", "t": "t"}
POINT_LABEL = {
    "p_on": "P on", "p_peak": "P peak", "p_off": "P off", "qrs_on": "QRS on", "r_peaks": "R peak",
    "qrs_off": "QRS off", "t_on": "T on", "t_peak": "T peak", "t_off": "T off",
}


# ----------------------------------------------------------------- annotations
def read_annotation_waves(path: Path, lead: str = "ii") -> dict[str, list[tuple[float, float, float]]]:
    """Annotated waves of one LUDB lead: ``{"p"|"qrs"|"t": [(onset, peak, offset), ...]}``.

    Sample indices; an onset or offset that is not annotated next to its peak is NaN.
    """
    import wfdb

    ann = wfdb.rdann(str(path), lead)
    samples, symbols = np.asarray(ann.sample, dtype=np.float64), list(ann.symbol)
    waves: dict[str, list[tuple[float, float, float]]] = {"p": [], "qrs": [], "t": []}
    for k, sym in enumerate(symbols):
        if sym not in WAVE_SYMBOL:
            continue
        on = samples[k - 1] if k > 0 and symbols[k - 1] == "(" else np.nan
        off = samples[k + 1] if k + 1 < len(symbols) and symbols[k + 1] == ")" else np.nan
        waves[WAVE_SYMBOL[sym]].append((on, samples[k], off))
    return waves


def annotation_span(path: Path, lead: str = "ii") -> tuple[float, float]:
    """First and last annotated sample of a lead."""
    import wfdb

    ann = wfdb.rdann(str(path), lead)
    return float(ann.sample.min()), float(ann.sample.max())


def reference_delineation(waves: dict[str, list[tuple[float, float, float]]], signal: np.ndarray,
                          fs: float) -> Delineation:
    """The annotations as a :class:`Delineation`: one beat per annotated QRS.

    The P wave of a beat is the last annotated P whose peak lies between the previous
    QRS peak and this one; its T wave the first annotated T between this QRS peak and the
    next one (the same rule :mod:`l2g.morphology` uses for detections).
    """
    qrs = np.array(waves["qrs"], dtype=np.float64).reshape(-1, 3)
    r = qrs[:, 1]
    n = r.size
    beats = {name: np.full(n, np.nan) for name in POINTS}
    beats["r_peaks"], beats["qrs_on"], beats["qrs_off"] = r, qrs[:, 0], qrs[:, 2]
    prev_r = np.concatenate([[-np.inf], r[:-1]])
    next_r = np.concatenate([r[1:], [np.inf]])
    for on, pk, off in waves["p"]:
        i = np.flatnonzero((pk > prev_r) & (pk < r))
        if i.size:
            beats["p_on"][i[0]], beats["p_peak"][i[0]], beats["p_off"][i[0]] = on, pk, off  # later P wins
    for on, pk, off in reversed(waves["t"]):
        i = np.flatnonzero((pk > r) & (pk < next_r))
        if i.size:
            beats["t_on"][i[0]], beats["t_peak"][i[0]], beats["t_off"][i[0]] = on, pk, off  # earlier T wins
    return Delineation(fs=fs, signal=signal, method="cardiologists", **beats)


# ----------------------------------------------------------------- matching
def match(ref: np.ndarray, det: np.ndarray, tol: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i_ref, j_det) with ``|det - ref| <= tol``, closest pairs first."""
    if ref.size == 0 or det.size == 0:
        return []
    dist = np.abs(det[None, :] - ref[:, None])
    cand = np.argwhere(dist <= tol)
    order = np.argsort(dist[cand[:, 0], cand[:, 1]], kind="stable")
    used_r, used_d, pairs = set(), set(), []
    for i, j in cand[order]:
        if i in used_r or j in used_d:
            continue
        used_r.add(int(i))
        used_d.add(int(j))
        pairs.append((int(i), int(j)))
    return pairs


def score_points(ref: Delineation, det: Delineation, span: tuple[float, float], tol: float,
                 margin: float) -> dict[str, dict[str, object]]:
    """Per point kind: TP, FN, FP and the errors (samples) of matched pairs."""
    lo, hi = span[0] - margin, span[1] + margin
    out = {}
    for name in POINTS:
        r = getattr(ref, name)
        r = r[np.isfinite(r)]
        d = getattr(det, name)
        d = d[np.isfinite(d)]
        pairs = match(r, d, tol)
        matched = {j for _, j in pairs}
        fp = sum(1 for j, x in enumerate(d) if j not in matched and lo <= x <= hi)
        out[name] = {"tp": len(pairs), "fn": int(r.size - len(pairs)), "fp": int(fp),
                     "err": [float(d[j] - r[i]) for i, j in pairs]}
    return out


# ----------------------------------------------------------------- one method
def detect(method: str, path: Path) -> Delineation:
    """Lead II of one LUDB record delineated by ``method`` (a bench method name)."""
    rec = read_record(path.with_suffix(".hea"))
    if method in ANNOTATION_LEADS:
        trace = np.asarray(rec.lead("II"), dtype=np.float64)  # amplitudes are not scored
        return reference_delineation(read_annotation_waves(path, ANNOTATION_LEADS[method]), trace, rec.fs)
    if method == "l2g+leads":
        return delineate_record(rec, "II", "l2g", context=True)
    return delineate_record(rec, "II", method, context=False)


def run_method(method: str, records: list[Path], tol_ms: float, margin_ms: float) -> dict[str, object]:
    """Score one method over ``records``; returns pooled point scores and per-record intervals."""
    pooled = {name: {"tp": 0, "fn": 0, "fp": 0, "err": []} for name in POINTS}
    per_record = []
    t0 = time.perf_counter()
    for path in records:
        det = detect(method, path)
        fs = det.fs
        waves = read_annotation_waves(path)
        span = annotation_span(path)
        ref = reference_delineation(waves, det.signal, fs)
        scores = score_points(ref, det, span, tol_ms * fs / 1000, margin_ms * fs / 1000)
        for name, s in scores.items():
            for k in ("tp", "fn", "fp"):
                pooled[name][k] += s[k]
            pooled[name]["err"] += [e * 1000 / fs for e in s["err"]]
        det_in = det.between(*span)
        per_record.append({"record": path.name, "ref": intervals(ref), "det": intervals(det_in)})
    runtime = time.perf_counter() - t0
    points = {}
    for name, s in pooled.items():
        tp, fn, fp, err = s["tp"], s["fn"], s["fp"], np.asarray(s["err"])
        se = tp / (tp + fn) if tp + fn else float("nan")
        ppv = tp / (tp + fp) if tp + fp else float("nan")
        f1 = 2 * se * ppv / (se + ppv) if se + ppv > 0 else float("nan")
        points[name] = {
            "n_ref": tp + fn, "tp": tp, "fn": fn, "fp": fp, "se": se, "ppv": ppv, "f1": f1,
            "mean_ms": float(err.mean()) if err.size else float("nan"),
            "sd_ms": float(err.std(ddof=1)) if err.size > 1 else float("nan"),
            "mae_ms": float(np.abs(err).mean()) if err.size else float("nan"),
        }
    return {"points": points, "intervals": interval_errors(per_record), "runtime_s": runtime,
            "per_record": per_record}


def interval_errors(per_record: list[dict], keep: set[str] | None = None) -> dict[str, dict[str, float]]:
    """Per-interval error summary over the records (optionally only those named in ``keep``)."""
    rows = [r for r in per_record if keep is None or r["record"] in keep]
    ivals = {}
    for key in INTERVALS:
        ref_v = np.array([r["ref"][key] for r in rows], dtype=np.float64)
        det_v = np.array([r["det"][key] for r in rows], dtype=np.float64)
        has_ref = np.isfinite(ref_v)
        both = has_ref & np.isfinite(det_v)
        err = det_v[both] - ref_v[both]
        ivals[key] = {
            "n_ref": int(has_ref.sum()), "n_both": int(both.sum()),
            "measured_fraction": float(both.sum() / has_ref.sum()) if has_ref.any() else float("nan"),
            "mae": float(np.abs(err).mean()) if err.size else float("nan"),
            "bias": float(err.mean()) if err.size else float("nan"),
            "sd": float(err.std(ddof=1)) if err.size > 1 else float("nan"),
            "median_ae": float(np.median(np.abs(err))) if err.size else float("nan"),
            "within_target": float(np.mean(np.abs(err) <= TARGETS_MS[key])) if key in TARGETS_MS and err.size
            else float("nan"),
        }
    return ivals


def record_subsets(ludb: Path, names: list[str]) -> dict[str, set[str]]:
    """Record subsets: odd / even numbers (tuning / check halves) and those without AF, flutter or pacing."""
    import csv

    special = set()
    table = ludb.parent / "ludb.csv"
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rhythm = (row.get("Rhythms") or "").lower()
                if "fibrillation" in rhythm or "flutter" in rhythm or (row.get("Cardiac pacing") or "").strip():
                    special.add(row["ID"].strip())
    return {
        "odd": {n for n in names if int(n) % 2 == 1},
        "even": {n for n in names if int(n) % 2 == 0},
        "no AF/flutter/pacing": {n for n in names if n not in special},
        "AF/flutter/pacing": {n for n in names if n in special},
    }


def rank_key(res: dict[str, object]) -> tuple[float, float, float]:
    """Sort key (smaller is better): targets missed, summed interval MAE, -mean F1.

    A target counts as met when the MAE is within it and the interval was measured on at
    least 90 % of the records.
    """
    iv = res["intervals"]
    met = sum(1 for k, t in TARGETS_MS.items() if iv[k]["mae"] <= t and iv[k]["measured_fraction"] >= 0.9)
    mae_sum = sum(iv[k]["mae"] if np.isfinite(iv[k]["mae"]) else 1e3 for k in TARGETS_MS)
    f1 = np.nanmean([p["f1"] for p in res["points"].values()])
    return (len(TARGETS_MS) - met, mae_sum, -f1)


# ----------------------------------------------------------------- report
def _f(x: float | None, nd: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def markdown(report: dict[str, object]) -> str:
    """The report as Markdown tables."""
    cfg = report["config"]
    methods = report["methods"]
    lines = [
        "# Delineation on LUDB (lead II, cardiologists' annotations)",
        "",
        f"Generated by `bench/delineation_ludb.py` ({cfg['records']} records, neurokit2 {cfg['neurokit2']}, "
        f"{cfg['date']}; runtime {cfg['runtime_total_s']:.0f} s). Detections are matched one-to-one to the "
        f"annotations of the same kind within {cfg['tolerance_ms']:g} ms, closest first; an unmatched detection "
        f"counts as a false positive only inside the annotated span (margin {cfg['margin_ms']:g} ms). "
        "Errors are detected - annotated, in ms. `l2g` uses lead II alone; `l2g+leads` also the other 11 leads "
        "(QRS bounds); `ann-aVF` / `ann-I` are the cardiologists' annotations of lead aVF / I scored as if they "
        "were a detector of lead II's (the inter-lead scale).",
        "",
        "## Per-record median intervals vs the cardiologists' medians",
        "",
        "Per record: the median over the beats inside the annotated span (both sides computed by "
        "`l2g.morphology.intervals`). MAE = mean absolute error (ms) over the records where both exist; "
        "bias ± SD of the error; `meas.` = records where the method gave the interval, of those where the "
        "cardiologists' exists; `≤ tgt` = records within the target (PR, QRS 10 ms; QT 15 ms).",
        "",
        "| method | PR MAE | PR bias ± SD | PR meas. | PR ≤ tgt | QRS MAE | QRS bias ± SD | QRS meas. | QRS ≤ tgt "
        "| QT MAE | QT bias ± SD | QT meas. | QT ≤ tgt | HR MAE (bpm) | s |",
        "|---|" + "---:|" * 14,
    ]
    for m, res in methods.items():
        iv = res["intervals"]
        cells = []
        for k in ("pr_ms", "qrs_ms", "qt_ms"):
            v = iv[k]
            cells += [_f(v["mae"]), f"{_f(v['bias'])} ± {_f(v['sd'])}", _f(100 * v["measured_fraction"], 0) + " %",
                      _f(100 * v["within_target"], 0) + " %"]
        name = f"**{m}**" if m == report["best"] else m
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_f(iv['heart_rate_bpm']['mae'], 2)} | "
                     f"{_f(res['runtime_s'], 1)} |")
    lines += ["", "### Interval MAE (ms) on subsets of records", "",
              "`odd` = the records the `l2g` thresholds were chosen on, `even` = the check half; "
              "AF/flutter/pacing from `ludb.csv`. Cells: PR / QRS / QT (records).", ""]
    subsets = list(next(iter(methods.values()))["subsets"])
    lines.append("| method | " + " | ".join(subsets) + " |")
    lines.append("|---|" + "---|" * len(subsets))
    for m, res in methods.items():
        cells = []
        for sub in subsets:
            iv = res["subsets"][sub]
            cells.append(" / ".join(_f(iv[k]["mae"]) for k in ("pr_ms", "qrs_ms", "qt_ms"))
                         + f" ({iv['qrs_ms']['n_ref']})")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "## Fiducial points", "",
              "Se / PPV (%); error mean ± SD (ms) over matched pairs.", ""]
    lines.append("| point | " + " | ".join(methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    for name in POINTS:
        row = [POINT_LABEL[name]]
        for res in methods.values():
            p = res["points"][name]
            row.append("–" if p["tp"] == 0 else
                       f"{_f(100 * p['se'])} / {_f(100 * p['ppv'])}; {_f(p['mean_ms'])} ± {_f(p['sd_ms'])}")
        lines.append("| " + " | ".join(row) + " |")
    met = ", ".join(f"{k[:-3].upper()} {'met' if v else 'missed'}" for k, v in report["targets_met"].items())
    lines += ["", f"Best automated method: **{report['best']}** (most interval targets met with at least 90 % of "
              "records measured, then the lowest summed interval MAE, then the highest mean F1 over the points). "
              f"Targets on all records: {met}. Project default: `l2g.morphology.DEFAULT_METHOD = "
              f"\"{report['default']}\"` (with `delineate_record(..., context=True)` = `l2g+leads`).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                    help="shared data directory holding ludb/data (default ../shared/data)")
    ap.add_argument("--methods", nargs="+", default=[*BENCH_METHODS, *ANNOTATION_LEADS],
                    choices=[*BENCH_METHODS, *ANNOTATION_LEADS])
    ap.add_argument("--limit", type=int, default=None, help="only the first N records")
    ap.add_argument("--tolerance", type=float, default=150.0, help="matching tolerance in ms (default 150)")
    ap.add_argument("--margin", type=float, default=0.0, help="margin around the annotated span in ms (default 0)")
    ap.add_argument("--out", type=Path, default=ROOT / "reports", help="where to write the reports")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)

    ludb = args.data / "ludb" / "data"
    if not ludb.is_dir():
        ap.error(f"{ludb} not found (pass --data)")
    records = sorted((p.with_suffix("") for p in ludb.glob("*.hea")), key=lambda p: int(p.name))
    if args.limit:
        records = records[: args.limit]
    subsets = record_subsets(ludb, [p.name for p in records])

    import neurokit2

    results = {}
    t_all = time.perf_counter()
    for m in args.methods:
        results[m] = run_method(m, records, args.tolerance, args.margin)
        results[m]["subsets"] = {k: interval_errors(results[m]["per_record"], v) for k, v in subsets.items()}
        print(f"{m}: {results[m]['runtime_s']:.1f} s", file=sys.stderr)
    automated = [m for m in results if m not in ANNOTATION_LEADS] or list(results)
    best = min(automated, key=lambda m: rank_key(results[m]))
    iv = results[best]["intervals"]
    report = {
        "config": {"records": len(records), "lead": "II", "tolerance_ms": args.tolerance, "margin_ms": args.margin,
                   "targets_mae_ms": TARGETS_MS, "neurokit2": neurokit2.__version__,
                   "date": time.strftime("%Y-%m-%d"), "python": platform.python_version(),
                   "runtime_total_s": time.perf_counter() - t_all},
        "best": best,
        "default": DEFAULT_METHOD,
        "targets_met": {k: bool(iv[k]["mae"] <= t) for k, t in TARGETS_MS.items()},
        "methods": {m: {k: v for k, v in r.items() if k != "per_record"} for m, r in results.items()},
        "per_record": {m: r["per_record"] for m, r in results.items()},
    }
    md = markdown(report)
    print(md)
    print(f"total runtime {report['config']['runtime_total_s']:.1f} s", file=sys.stderr)
    if not args.no_write:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "delineation_ludb.json").write_text(json.dumps(_jsonable(report), indent=1) + "\n")
        (args.out / "delineation_ludb.md").write_text(md)
    return 0


def _jsonable(obj: object) -> object:
    """``obj`` with NaN / inf as None (strict JSON) and numpy scalars as Python numbers."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


if __name__ == "__main__":
    raise SystemExit(main())
