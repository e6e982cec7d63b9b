"""Time and memory of the whole multi-folder data path on all of PTB-XL: conversion + linear refit.

Run from the repository root, one core, nothing else running:

    OMP_NUM_THREADS=1 python -m bench.ptbxl_full_data --data ../shared/data \\
        --ptbxl ../scratch/ptbxl/Data/records100

Reads the train split of ``--data`` and every usable record of ``--ptbxl`` (by the exclusion rule of
``l2g.catalog.split_extra``), converts them to the model rate (``l2g.dataset.load_mixed_arrays``,
cached under ~/.cache/l2g: delete it to time the conversion again), then refits the linear baseline on
all of them (``l2g.train.fit_linear``, cached likewise). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data", help="the shared archive (the split's folder)")
    ap.add_argument("--ptbxl", required=True, help="PTB-XL records100 folder")
    ap.add_argument("--split", default="splits/split.csv")
    ap.add_argument("--fs", type=float, default=250.0)
    args = ap.parse_args()

    import torch

    from l2g.dataset import load_mixed_arrays
    from l2g.preprocess import HIGHPASS_HZ
    from l2g.train import fit_linear, load_config

    torch.set_num_threads(1)
    t0 = time.time()
    mixed = load_mixed_arrays([args.data, args.ptbxl], args.split, "train", fs=args.fs, progress=False,
                              highpass_hz=HIGHPASS_HZ)
    t1 = time.time()
    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rates: dict[str, int] = {}
    for _, _, rate in mixed:
        rates[f"{rate:g}"] = rates.get(f"{rate:g}", 0) + 1
    cfg = load_config(None, data_dirs=(args.data, args.ptbxl), split_csv=args.split)
    fit_linear(mixed, cfg)
    t2 = time.time()
    print(json.dumps({"train_records": len(mixed), "by_rate_hz": rates, "load_convert_s": round(t1 - t0, 1),
                      "peak_rss_mb_after_load": round(rss_load), "linear_fit_s": round(t2 - t1, 1),
                      "peak_rss_mb_after_fit": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
