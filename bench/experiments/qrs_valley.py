"""Experiment: the QRS "valley" stop (TemplateConfig.qrs_valley_frac_on / _off) on LUDB, odd / even / all.

    .venv/bin/python bench/experiments/qrs_valley.py [--data ../shared/data] [--fracs 0 0.1 0.15 0.2 0.3]

For each setting, the bench's ``l2g+leads`` row (lead II, the other leads as context) is re-run
with the setting and the per-record median PR / QRS / QT MAE (ms) printed on the odd records
(where settings are chosen), the even ones (the check) and all 200.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import delineation_ludb as bench  # noqa: E402

import l2g.morphology as morph  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--fracs", type=float, nargs="+", default=[0.0, 0.1, 0.15, 0.2, 0.3])
    ap.add_argument("--sides", nargs="+", default=["on", "off", "both"])
    args = ap.parse_args()
    ludb = args.data / "ludb" / "data"
    records = sorted((p.with_suffix("") for p in ludb.glob("*.hea")), key=lambda p: int(p.name))
    subsets = bench.record_subsets(ludb, [p.name for p in records])
    base = morph._DEFAULT_CONFIG
    for side in args.sides:
        for frac in args.fracs:
            if frac == 0 and side != args.sides[0]:
                continue
            on = frac if side in ("on", "both") else 0.0
            off = frac if side in ("off", "both") else 0.0
            morph._DEFAULT_CONFIG = dataclasses.replace(base, qrs_valley_frac_on=on, qrs_valley_frac_off=off)
            res = bench.run_method("l2g+leads", records, 150.0, 0.0)
            cells = []
            for name, keep in (("odd", subsets["odd"]), ("even", subsets["even"]), ("all", None)):
                iv = bench.interval_errors(res["per_record"], keep)
                cells.append(f"{name} " + " / ".join(f"{iv[k]['mae']:.1f}" for k in ("pr_ms", "qrs_ms", "qt_ms")))
            print(f"valley on {on:.2f} off {off:.2f}: " + " | ".join(cells), flush=True)
    morph._DEFAULT_CONFIG = base


if __name__ == "__main__":
    main()
