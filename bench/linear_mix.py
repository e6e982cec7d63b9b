"""Which linear prior for shared + PTB-XL training: every record alike, or the folders mixed by weight?

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.linear_mix --data ../shared/data \\
        --ptbxl ../scratch/ptbxl/Data/records100 [--out reports/linear_mix.md]

Fits (or reads from the ``~/.cache/l2g`` cache of ``l2g.train.fit_linear``) the linear baseline on the
shared training records alone, on shared + PTB-XL with every record alike, and on each folder alone, then
mixes the two folders' covariances with several weights (``LinearBaseline.mix``). Each prior is scored on
one fixed draw of validation windows of the records *not* derived from PTB-XL (4 crops × 28 subsets per
record, as ``bench/compare_val.py``): MSE (mV²) and r on the generated leads, and the mean over k of
MSE / the shared-only prior's MSE. The test split is never read.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from l2g.baseline import LinearBaseline
from l2g.markdown import md_table
from l2g.train import evaluate_windows, fit_linear, load_config, load_splits, validation_set


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--ptbxl", required=True)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    dirs = [args.data, args.ptbxl]
    cfg = load_config(None, data_dirs=dirs, val_exclude_ptbxl=True, folder_weights=[1, 1])
    train_mixed, val_arrays = load_splits(cfg, progress=False)
    cfg = replace(cfg, val_windows_per_record=4, val_masks_per_k=8)
    val = validation_set(val_arrays, cfg)
    shared_only = fit_linear([r for r in train_mixed if not r[0].startswith("records100/")],
                             load_config(None, data_dirs=[args.data]))
    every_record = fit_linear(train_mixed, load_config(None, data_dirs=dirs))
    parts = {w: fit_linear(train_mixed, load_config(None, data_dirs=dirs, folder_weights=[1 - w, w]))
             for w in (0.0, 1.0)}  # each folder alone (from the per-folder fits of the mix)
    cands = {"shared only (306 records)": shared_only, "every record alike (22,072)": every_record,
             "PTB-XL only": parts[1.0]}
    for w in (0.5, 0.25, 0.1):
        cands[f"folders mixed {1 - w:.2f} : {w:.2f}"] = LinearBaseline.mix([(parts[0.0], 1 - w), (parts[1.0], w)])
    rows, base = [], None
    for name, lb in cands.items():
        res = evaluate_windows(None, lb, val)
        base = base or res
        rel = float(np.mean([res["mse_k"][k] / base["mse_k"][k] for k in range(1, 8)]))
        rows.append({"prior": name, "rel. MSE": rel,
                     "MSE": res["mse"], "r": res["r"], **{f"k{k} r": res["r_k"][k] for k in (1, 2, 5, 7)}})
    text = (f"{len(val_arrays)} validation records not derived from PTB-XL, {len(val['x8'])} (window, subset) pairs; "
            f"{time.time() - t0:.0f} s.\n\n"
            + md_table(pd.DataFrame(rows), {"rel. MSE": ".4f", "MSE": ".5f", "r": ".4f",
                                             **{f"k{k} r": ".4f" for k in (1, 2, 5, 7)}}) + "\n")
    print(text)
    if args.out is not None:
        args.out.write_text(f"$ python {' '.join(sys.argv)}\n\n{text}")


if __name__ == "__main__":
    main()
