"""Experiment: mean r of the generated chest leads for one lead subset, per split, several weights.

    .venv/bin/python -m bench.experiments.subset_r --split val --available I,II,V2,V4 weights/l2g.pt runs/x.pt

The same measure as ``bench/reconstruct_heldout.py`` (per record: mean over the generated chest leads of
Pearson r after a 0.5 Hz high-pass; then the mean over records), but in-process through
``l2g.reconstruct`` so that it can score the validation split and candidate weights quickly.
Records with a disconnected chest electrode (peak-to-peak < 0.02 mV) are skipped, as there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.reconstruct_heldout import disconnected, mean_chest_r
from l2g.catalog import load_split, record_path
from l2g.io import read_record
from l2g.leads import CHEST_LEADS, parse_lead_list
from l2g.reconstruction import load_reconstructor, reconstruct

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weights", nargs="*", type=Path)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--split", default="val")
    ap.add_argument("--available", default="I,II,V2,V4")
    args = ap.parse_args()
    avail = parse_lead_list(args.available)
    chest = [c for c in CHEST_LEADS if c not in avail]
    split = load_split(ROOT / "splits" / "split.csv")
    ids = split.loc[split["split"] == args.split, "record_id"].tolist()
    models = {"linear": load_reconstructor(method="linear")}
    for w in args.weights:
        models[str(w)] = load_reconstructor(w)
    scores: dict[str, list[float]] = {m: [] for m in models}
    for rid in ids:
        real = read_record(record_path(args.data, rid))
        if disconnected(real):
            continue
        for name, rc in models.items():
            scores[name].append(mean_chest_r(real, reconstruct(real, avail, model=rc), chest))
    lin = np.array(scores["linear"])
    for name, v in scores.items():
        v = np.array(v)
        print(f"{args.split} {args.available} {name:40s} n={len(v)} mean r {v.mean():.4f}  "
              f"better than linear on {int((v > lin).sum())}/{len(v)}")


if __name__ == "__main__":
    main()
