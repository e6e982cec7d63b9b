"""Windows/s and RAM of the multi-folder training data (shared + PTB-XL records100); run from the repo root:

    OMP_NUM_THREADS=1 python -m bench.ptbxl_loader
"""
import resource
import time

import torch

from l2g.dataset import DataConfig, WindowDataset, load_mixed_arrays

t = time.time()
mixed = load_mixed_arrays(["../shared/data", "../scratch/ptbxl/Data/records100"], "splits/split.csv", "train",
                          fs=250.0, progress=False, extra_limit=300)
print(f"load (cached): {time.time() - t:.1f} s, {len(mixed)} records, rates {sorted({r for *_, r in mixed})}")
ds = WindowDataset([x for _, x, _ in mixed], DataConfig(), rates=[r for *_, r in mixed], windows_per_epoch=4000)
t = time.time()
items = [ds[i] for i in range(4000)]
dt = time.time() - t
print(f"{4000 / dt:.0f} windows/s (1 process, augment on); band_hz counts",
      torch.stack([it['band_hz'] for it in items]).unique(return_counts=True))
print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
