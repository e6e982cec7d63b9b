"""Compare generator checkpoints on the same validation windows (the recipe choice of issue #12).

    OMP_NUM_THREADS=2 .venv/bin/python -m bench.compare_val weights/l2g.pt runs/a.pt runs/b.pt \\
        [--data ../shared/data] [--all-val] [--out reports/recipe_val.md]

Every checkpoint (as shipped: calibrated residual factors applied) and its own linear prior is scored on one
fixed set of windows of the validation split — by default only the validation records *not* derived from
PTB-XL (:func:`l2g.catalog.ptbxl_ecg_id`), which is what a recipe is chosen on — with
:func:`l2g.train.evaluate_windows`: MSE (mV²) and Pearson r on the generated leads, per k = 1…7 available
leads (``--windows`` crops per record × ``--masks`` subsets per k). The relative score is the mean over k
of MSE / the MSE of the *first* checkpoint's linear prior, so that runs with different priors compare on
one scale. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from l2g.baseline import LinearBaseline
from l2g.catalog import ptbxl_ecg_id
from l2g.checkpoint import load_generator, load_generator_checkpoint
from l2g.dataset import load_split_arrays
from l2g.markdown import md_table
from l2g.model import Generator
from l2g.train import config_from_dict, evaluate_windows, validation_set

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> tuple[Generator, LinearBaseline, dict]:
    return load_generator(path, verify=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", nargs="+", type=Path, help="checkpoints; the first one's linear prior is the scale")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--all-val", action="store_true", help="keep the PTB-XL-derived validation records too")
    ap.add_argument("--windows", type=int, default=4, help="crops per validation record")
    ap.add_argument("--masks", type=int, default=8, help="subsets per k per crop (x 1/2, as in training)")
    ap.add_argument("--out", type=Path, default=None, help="also write a markdown table here")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    t0 = time.time()
    first = load_generator_checkpoint(args.weights[0], verify=False)
    cfg = config_from_dict({**first["train_config"], "init": "", "data_dirs": [], "folder_weights": []})
    cfg = replace(cfg, data_dir=str(args.data), val_windows_per_record=args.windows, val_masks_per_k=args.masks)
    arrays = load_split_arrays(cfg.data_dir, ROOT / "splits" / "split.csv", "val", fs=cfg.data.fs,
                               highpass_hz=cfg.data.highpass_hz, progress=False)
    if not args.all_val:
        arrays = [(rid, x) for rid, x in arrays if ptbxl_ecg_id(rid) is None]
    val = validation_set(arrays, cfg)
    rows = []
    for path in args.weights:  # every checkpoint, then its own linear prior
        g, linear, ckpt = _load(path)
        n_train = ckpt.get("summary", {}).get("n_train_records")
        for name, gen in ((f"{path}", g), (f"{path} linear", None)):
            rows.append({"name": name, "res": evaluate_windows(gen, linear, val), "train_records": n_train})
    base = rows[1]["res"]  # the first checkpoint's prior
    table = []
    for r in rows:
        res = r["res"]
        row = {"checkpoint": r["name"], "train records": r["train_records"],
               "rel. MSE": float(np.mean([res["mse_k"][k] / base["mse_k"][k] for k in range(1, 8)]))}
        row.update({f"k{k} MSE": res["mse_k"][k] for k in range(1, 8)})
        row.update({f"k{k} r": res["r_k"][k] for k in range(1, 8)})
        table.append(row)
    df = pd.DataFrame(table)
    fmt = {"rel. MSE": ".4f", **{f"k{k} MSE": ".5f" for k in range(1, 8)}, **{f"k{k} r": ".4f" for k in range(1, 8)}}
    text = (f"Validation windows: {len(arrays)} records ({'all' if args.all_val else 'not PTB-XL-derived'}), "
            f"{len(val['x8'])} (window, subset) pairs; {time.time() - t0:.0f} s.\n\n"
            + md_table(df, fmt) + "\n")
    print(text)
    if args.out is not None:
        args.out.write_text(f"$ python {' '.join(sys.argv)}\n\n{text}")
    print(json.dumps({r["checkpoint"]: r["rel. MSE"] for r in table}))


if __name__ == "__main__":
    main()
