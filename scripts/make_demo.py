"""Make the built-in demo record (l2g/data/demo/demo.hea + .dat) offline.

The demo is a *synthetic* 10-s, 500 Hz ECG from the deepfake-ecg GAN (MIT
licence): its 8 independent leads (I, II, V1-V6), the other four limb leads
derived by Einthoven/Goldberger. It is not a patient's ECG; it lets the app
and the benchmarks run without any data folder.

    .venv/bin/python -m scripts.make_demo
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from l2g.io import write_wfdb
from l2g.leads import LEADS, expand_independent
from l2g.record import Metadata, Record
from l2g.synthetic import load_deepfake_generator


def main() -> None:
    import torch

    g = load_deepfake_generator()
    gen = torch.Generator().manual_seed(20251125)
    with torch.no_grad():
        x8 = (g(torch.rand(8, 8, 5000, generator=gen) * 2 - 1) * 6.0).numpy()
    # pick the candidate with the clearest QRS in lead II (largest peak-to-peak)
    best = int(np.argmax(np.ptp(x8[:, 1], axis=-1)))
    x12 = expand_independent(x8[best])
    meta = Metadata(comments=("Synthetic ECG from the deepfake-ecg GAN (MIT licence); not a patient recording.",),
                    fields={"Source": "deepfake-ecg 1.1.2, seed 20251125"})
    rec = Record(x12, 500.0, LEADS, name="demo", meta=meta, source_format="generated")
    out = Path(__file__).resolve().parents[1] / "l2g" / "data" / "demo"
    print(write_wfdb(rec, out, name="demo"))


if __name__ == "__main__":
    main()
