"""Whole-ECG measurements (:func:`l2g.measurements.ecg_measurements`) against LUDB's cardiologists.

For each LUDB record (10 s, 500 Hz, 12 leads annotated independently by cardiologists), the
global PR, QRS and QT of :func:`l2g.measurements.ecg_measurements` (all 12 leads recorded)
are compared with the same intervals built from the annotations: each lead's annotated
waves as beats (``bench/delineation_ludb.py``'s ``reference_delineation``), global boundaries
per beat as the plain earliest onset / latest offset over the 12 annotated leads (the CSE
definition, :func:`l2g.measurements.global_fiducials` with ``robust=False``), median over
beats. The QRS axis is summarised per ``ludb.csv`` "Electric axis" class.

Reproduce (about 1 s per record on one CPU core)::

    .venv/bin/python bench/measurements_ludb.py --data ../shared/data --limit 40

Prints the table (MAE, bias, SD, within target, measured) and the axis per class.
"""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.delineation_ludb import TARGETS_MS, read_annotation_waves, reference_delineation  # noqa: E402
from l2g.io import read_record  # noqa: E402
from l2g.measurements import ecg_measurements, global_fiducials  # noqa: E402
from l2g.morphology import PLAUSIBLE_MS  # noqa: E402

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
CANON = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def annotated_intervals(path: Path, fs: float, n: int) -> dict[str, float]:
    """The cardiologists' global PR, QRS and QT (ms) of one record: medians over the annotated beats."""
    dels = {canon: reference_delineation(read_annotation_waves(path, lead), np.zeros(n), fs)
            for lead, canon in zip(LUDB_LEADS, CANON, strict=True)}
    fid = global_fiducials(dels, "II", robust=False)
    ms = 1000.0 / fs
    out = {}
    for key, a, b in (("pr", "p_on", "qrs_on"), ("qrs", "qrs_on", "qrs_off"), ("qt", "qrs_on", "t_off")):
        v = (fid[b] - fid[a]) * ms
        lo, hi = PLAUSIBLE_MS[key]
        v = v[np.isfinite(v) & (v >= lo) & (v <= hi)]
        out[f"{key}_ms"] = float(np.median(v)) if v.size else float("nan")
    return out


def compare(ludb: Path, names: list[str]) -> dict[str, np.ndarray]:
    """``{key: (records, 2) array of (ours, cardiologists')}`` plus ``axis`` (ours) and ``axis_class``."""
    rows: dict[str, list] = {"pr_ms": [], "qrs_ms": [], "qt_ms": [], "axis": [], "axis_class": []}
    classes = {}
    with open(ludb / "ludb.csv", newline="") as f:
        for r in csv.DictReader(f):
            classes[r["ID"].strip()] = (r["Electric axis of the heart"].strip().splitlines() or ["?"])[0]
    for name in names:
        path = ludb / "data" / name
        rec = read_record(path.with_suffix(".hea"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = ecg_measurements(rec)
        ref = annotated_intervals(path, rec.fs, rec.n_samples)
        by_key = dict(zip(ours["key"], ours["value"], strict=True))
        for key in ("pr_ms", "qrs_ms", "qt_ms"):
            rows[key].append((by_key[key], ref[key]))
        rows["axis"].append(by_key["qrs_axis_deg"])
        rows["axis_class"].append(classes.get(name, "?"))
    return {k: np.array(v) for k, v in rows.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=200, help="first N records (default all 200)")
    args = ap.parse_args(argv)
    ludb = args.data / "ludb"
    names = (ludb / "RECORDS").read_text().split()[: args.limit]
    names = [n.split("/")[-1] for n in names]
    res = compare(ludb, names)
    print(f"LUDB, {len(names)} records: global intervals, ours vs the cardiologists' (earliest onset / latest "
          "offset over the 12 annotated leads)\n")
    print("| interval | measured | MAE ms | bias ms | SD ms | median AE ms | within target |")
    print("|---|---|---|---|---|---|---|")
    for key in ("pr_ms", "qrs_ms", "qt_ms"):
        v = res[key]
        have = np.isfinite(v[:, 1])
        both = have & np.isfinite(v[:, 0])
        e = v[both, 0] - v[both, 1]
        print(f"| {key[:-3].upper()} | {both.sum()}/{have.sum()} | {np.abs(e).mean():.1f} | {e.mean():+.1f} | "
              f"{e.std():.1f} | {np.median(np.abs(e)):.1f} | {np.mean(np.abs(e) <= TARGETS_MS[key]):.0%} "
              f"(≤ {TARGETS_MS[key]:g} ms) |")
    print("\nQRS axis (ours, degrees) per ludb.csv class: median [IQR] (n)")
    for cls in sorted(set(res["axis_class"])):
        a = res["axis"][(res["axis_class"] == cls) & np.isfinite(res["axis"])]
        if a.size:
            q1, q2, q3 = np.percentile(a, [25, 50, 75])
            print(f"- {cls}: {q2:.0f} [{q1:.0f}, {q3:.0f}] ({a.size})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
