"""Experiment: sweep delineator settings (``l2g.morphology.TemplateConfig``) on LUDB, odd / even / all.

    .venv/bin/python -m bench.experiments.template_sweep --fields qrs_valley_frac_on --values 0 0.1 0.2 0.3
    .venv/bin/python -m bench.experiments.template_sweep --fields qrs_valley_frac_on qrs_valley_frac_off \\
        --values 0.1 0.2 0.3
    .venv/bin/python -m bench.experiments.template_sweep --fields qrs_multi_weight --values 0.3 0.4 0.5 0.6 0.7

For each value, every field named in ``--fields`` is set to it, the bench's ``l2g+leads`` row
(lead II, the other leads as context; ``bench/delineation_ludb.py``) is re-run, and the
per-record median PR / QRS / QT MAE (ms) is printed on the odd records (where settings are
chosen), the even ones (the check) and all 200. ``--per-record`` also lists, for each value, the
records whose QRS error moved by more than 1 ms: QRS and QT error (detected - annotated, ms) with
the default settings -> with the value.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import l2g.morphology as morph
from bench import delineation_ludb as ludb_bench

ROOT = Path(__file__).resolve().parents[2]


def _errors(row: dict) -> tuple[float, float]:
    """QRS and QT error (detected - annotated, ms) of one per-record row of ``ludb_bench.run_method``."""
    return tuple(row["det"][k] - row["ref"][k] for k in ("qrs_ms", "qt_ms"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--fields", nargs="+", required=True, help="TemplateConfig fields set to each value")
    ap.add_argument("--values", type=float, nargs="+", required=True)
    ap.add_argument("--per-record", action="store_true", help="list the records whose QRS error changed")
    args = ap.parse_args()
    known = {f.name for f in dataclasses.fields(morph.TemplateConfig)}
    bad = [f for f in args.fields if f not in known]
    if bad:
        raise SystemExit(f"unknown TemplateConfig field(s) {bad}; valid: {sorted(known)}")
    ludb = args.data / "ludb" / "data"
    records = sorted((p.with_suffix("") for p in ludb.glob("*.hea")), key=lambda p: int(p.name))
    subsets = ludb_bench.record_subsets(ludb, [p.name for p in records])
    base = morph._DEFAULT_CONFIG
    print(f"default: {', '.join(f'{f}={getattr(base, f)}' for f in args.fields)}; PR / QRS / QT MAE (ms)")
    default = ludb_bench.run_method("l2g+leads", records, 150.0, 0.0)["per_record"] if args.per_record else []
    try:
        for value in args.values:
            morph._DEFAULT_CONFIG = dataclasses.replace(base, **dict.fromkeys(args.fields, value))
            res = ludb_bench.run_method("l2g+leads", records, 150.0, 0.0)
            cells = []
            for name, keep in (("odd", subsets["odd"]), ("even", subsets["even"]), ("all", None)):
                iv = ludb_bench.interval_errors(res["per_record"], keep)
                cells.append(f"{name} " + " / ".join(f"{iv[k]['mae']:.1f}" for k in ("pr_ms", "qrs_ms", "qt_ms")))
            print(f"{'+'.join(args.fields)} = {value:g}: " + " | ".join(cells), flush=True)
            for old, new in zip(default, res["per_record"], strict=True):
                e0, e1 = (_errors(r) for r in (old, new))
                if abs(e1[0] - e0[0]) > 1:  # NaN (unmeasured) compares False: not listed
                    print(f"  record {old['record']:>4}: QRS {e0[0]:+6.1f} -> {e1[0]:+6.1f}   "
                          f"QT {e0[1]:+6.1f} -> {e1[1]:+6.1f}")
    finally:
        morph._DEFAULT_CONFIG = base


if __name__ == "__main__":
    main()
