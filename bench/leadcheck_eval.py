"""Sensitivity and specificity of l2g.check_leads on simulated electrode faults (issue #14).

Every record of a split (12 recorded leads, first 10 s) is checked untouched and with each simulated
fault: the three limb-electrode reversals and five adjacent chest swaps (exact lead transformations,
:func:`l2g.leadcheck.apply_fault`), and one noisy lead (white noise of ``--noise-mv`` RMS added to a lead
drawn per record). Each scenario is run on the 12-lead record and on the ticked subset
I, II, V1–V6 minus nothing… i.e. ``--subset`` (default ``I,II,V1,V2,V3,V4``).

``stats`` caches the raw hypothesis numbers (:func:`l2g.leadcheck.lead_check_stats`) per split;
``report`` applies :data:`l2g.leadcheck.THRESHOLDS` (or ``--tune`` picks thresholds from the validation
split so that at most 1.5 % of untouched validation checks raise each kind of flag) and writes
reports/leadcheck.md for the test split.

    OMP_NUM_THREADS=1 python bench/leadcheck_eval.py stats --split val
    OMP_NUM_THREADS=1 python bench/leadcheck_eval.py stats --split test
    python bench/leadcheck_eval.py report [--tune]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l2g.evaluate import _md_table, load_split_records  # noqa: E402
from l2g.leadcheck import (  # noqa: E402
    CHEST_SWAPS,
    LIMB_FAULTS,
    THRESHOLDS,
    Thresholds,
    apply_fault,
    decide,
    lead_check_stats,
)
from l2g.leads import LEADS  # noqa: E402

FAULTS = ["none", *LIMB_FAULTS, *(f"{a}/{b}" for a, b in CHEST_SWAPS), "noisy lead"]


def scenarios(rec, rng, noise_mv):
    for fault in FAULTS:
        if fault == "none":
            yield fault, None, rec
        elif fault == "noisy lead":
            lead = LEADS[int(rng.integers(12))]
            sig = rec.standardize().signal.copy()
            sig[LEADS.index(lead)] += rng.normal(0, noise_mv, rec.n_samples).astype(np.float32)
            yield fault, lead, rec.standardize().replace(signal=sig)
        else:
            yield fault, None, apply_fault(rec.standardize(), fault)


def cmd_stats(args):
    from l2g.reconstruction import load_reconstructor

    model = load_reconstructor(device="cpu")
    records = load_split_records(args.data, ROOT / "splits" / "split.csv", args.split)[: args.limit]
    subset = tuple(args.subset.split(","))
    out = []
    t0 = time.time()
    for n, (rid, source, rec) in enumerate(records):
        rec = rec.crop(0.0, min(rec.duration, 10.0))
        rng = np.random.default_rng(n)
        for fault, lead, bad in scenarios(rec, rng, args.noise_mv):
            for name, r in (("12-lead", bad), (args.subset, bad.mask(subset))):
                out.append({"record_id": rid, "source": source, "fault": fault, "noisy": lead, "leads": name,
                            "stats": lead_check_stats(r, model=model)})
        print(f"{n + 1}/{len(records)} {rid} {time.time() - t0:.0f} s", flush=True)
    path = Path(args.cache) / f"leadcheck_{args.split}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))


def hit(row, faults: list[str]) -> bool:
    f = row["fault"]
    if f == "none":
        return False
    if f == "noisy lead":
        return f"bad {row['noisy']}" in faults
    return f in faults


def table(rows, th: Thresholds) -> pd.DataFrame:
    out = []
    for r in rows:
        faults = decide(r["stats"], th)
        out.append({"fault": r["fault"], "leads": r["leads"], "flagged": bool(faults), "correct": hit(r, faults)})
    df = pd.DataFrame(out)
    res = []
    for (leads, fault), g in df.groupby(["leads", "fault"], sort=False):
        if fault == "none":
            res.append({"leads": leads, "fault": "untouched", "n": len(g), "specificity": 1 - g["flagged"].mean(),
                        "sensitivity": np.nan, "flagged_any": g["flagged"].mean()})
        else:
            res.append({"leads": leads, "fault": fault, "n": len(g), "specificity": np.nan,
                        "sensitivity": g["correct"].mean(), "flagged_any": g["flagged"].mean()})
    return pd.DataFrame(res)


def tune(rows, q: float = 0.985) -> Thresholds:
    """Thresholds at the ``q`` quantile of each statistic over the untouched validation checks.

    Three kinds of flag at 1.5 % false alarms each keep the untouched records' specificity near 95 %.
    """
    none = [r["stats"] for r in rows if r["fault"] == "none"]
    limb = [max(s.limb_ratio.values()) for s in none if s.limb_ratio]
    chest = [max(s.chest_ratio.values()) for s in none if s.chest_ratio]
    z = [max(v for v in s.z.values() if np.isfinite(v)) for s in none]
    hf = [max(v for v in s.hf.values() if np.isfinite(v)) for s in none if s.hf]
    return Thresholds(limb_ratio=float(np.quantile(limb, q)), chest_ratio=float(np.quantile(chest, q)),
                      lead_z=float(np.quantile(z, q)), hf_ratio=float(np.quantile(hf, q)))


def cmd_report(args):
    test = pickle.loads((Path(args.cache) / "leadcheck_test.pkl").read_bytes())
    th = THRESHOLDS
    if args.tune:
        th = tune(pickle.loads((Path(args.cache) / "leadcheck_val.pkl").read_bytes()))
        print("tuned on val:", th)
    t = table(test, th)
    md = [
        "# Lead check on simulated electrode faults (test split)",
        "",
        "`python bench/leadcheck_eval.py report` (stats from `bench/leadcheck_eval.py stats --split test`). "
        f"{t['n'].max()} test records with 12 recorded leads, first 10 s each; each checked untouched and with "
        "each simulated fault (exact lead transformations; `noisy lead`: white noise of "
        f"{args.noise_mv} mV RMS added to one lead drawn per record), as the 12-lead record and as the ticked "
        "subset in `leads`. Sensitivity: the fault itself named (for the noisy lead: that lead flagged). "
        "Specificity: no flag at all on the untouched record. Thresholds "
        f"(l2g.leadcheck.THRESHOLDS): limb ratio > {th.limb_ratio:.2f}, chest ratio > {th.chest_ratio:.2f}, "
        f"lead z > {th.lead_z:.2f}, high-frequency ratio > {th.hf_ratio:.2f}.",
        "",
        _md_table(t),
        "",
    ]
    out = ROOT / "reports" / "leadcheck.md"
    out.write_text("\n".join(md))
    print("\n".join(md))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["stats", "report"])
    p.add_argument("--split", default="val")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--cache", default="/tmp/l2g_trust")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--subset", default="I,II,V1,V2,V3,V4")
    p.add_argument("--noise-mv", type=float, default=0.2)
    p.add_argument("--tune", action="store_true")
    args = p.parse_args()
    {"stats": cmd_stats, "report": cmd_report}[args.step](args)


if __name__ == "__main__":
    main()
