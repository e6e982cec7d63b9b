"""Inference speed and memory.

    .venv/bin/python -m bench.reconstruct_speed [--weights weights/l2g.pt] [--runs 50] [--hours 24]

Prints, on this machine:
1. a 10-s, 12-lead, 500 Hz record (the demo) reconstructed from I, II, V2 (model and linear):
   median and 90th percentile of ``--runs`` warm runs, in ms (target <= 30 ms for the model);
2. a ``--hours``-long two-lead (I, II) record at 250 Hz (Holter rate) to 12 leads: wall time
   (target <= 2 min) and peak resident memory of the process, before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from l2g.demo import demo_record
from l2g.reconstruction import load_reconstructor, reconstruct
from l2g.record import Record


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--skip-long", action="store_true")
    args = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    rec = demo_record()
    for method in ("model", "linear"):
        model = load_reconstructor(args.weights, method=method)
        if model.method != method:
            print(f"{method}: not available ({model.version})")
            continue
        for _ in range(5):
            reconstruct(rec, ["I", "II", "V2"], model=model)
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            reconstruct(rec, ["I", "II", "V2"], model=model)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(f"10-s 12-lead 500 Hz, {method} ({model.version}): median {statistics.median(times):.1f} ms, "
              f"p90 {times[int(0.9 * len(times)) - 1]:.1f} ms over {args.runs} warm runs")
    if args.skip_long:
        return
    model = load_reconstructor(args.weights, method="model")
    fs = 250.0
    reps = int(round(args.hours * 3600 / rec.duration))
    from l2g.preprocess import resample

    base = resample(rec.select(["I", "II"]), fs).signal
    long = Record(np.tile(base, (1, reps)), fs, ("I", "II"), name="holter")
    del base
    before = peak_rss_mb()
    t = time.perf_counter()
    out = reconstruct(long, ["I", "II"], model=model)
    dt = time.perf_counter() - t
    assert out.n_samples == long.n_samples
    print(f"{args.hours:g}-h two-lead 250 Hz ({long.n_samples} samples) -> 12 leads, {model.method}: "
          f"{dt:.1f} s; peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after "
          f"(output alone {out.signal.nbytes / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
