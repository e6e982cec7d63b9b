"""Issue check: `l2g reconstruct` on held-out records, model vs linear, generated chest leads.

    .venv/bin/python -m bench.reconstruct_heldout [--data ../shared/data] [--available I,II,V2,V4] [--n 10]

For the first N test-split records it runs the real CLI (`l2g reconstruct ... --method model|linear`),
re-reads the written WFDB records, and prints the Pearson r (after a 0.5 Hz high-pass of both) of each
generated chest lead against the real one, per record and on average.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from l2g.catalog import load_split, record_path
from l2g.io import read_record
from l2g.leads import CHEST_LEADS, parse_lead_list
from l2g.metrics import compare

ROOT = Path(__file__).resolve().parents[1]


def disconnected(real) -> bool:
    """True when a chest electrode of ``real`` is off (a lead with peak-to-peak < 0.02 mV): no ground truth."""
    return any(np.ptp(real.lead(c)) < 0.02 for c in CHEST_LEADS)


def mean_chest_r(real, gen, chest: list[str]) -> float:
    """Mean over the ``chest`` leads of Pearson r between ``real`` and ``gen`` (:func:`l2g.metrics.compare`)."""
    table = compare(real, gen, [lead for lead in real.leads if lead not in chest]).set_index("lead")
    return float(np.mean([table.loc[c, "r"] for c in chest]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--available", default="I,II,V2,V4")
    ap.add_argument("--n", type=int, default=10)
    args = ap.parse_args()
    avail = parse_lead_list(args.available)
    chest = [c for c in CHEST_LEADS if c not in avail]
    split = load_split(ROOT / "splits" / "split.csv")
    ids = split.loc[split["split"] == "test", "record_id"].tolist()
    scores = {"model": [], "linear": []}
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rid in ids:
            if done >= args.n:
                break
            path = record_path(args.data, rid)
            real = read_record(path)
            if disconnected(real):
                continue
            row = []
            for method in ("model", "linear"):
                out = Path(tmp) / method
                p = subprocess.run([sys.executable, "-m", "l2g", "reconstruct", str(path), "--available",
                                    args.available, "--out", str(out), "--method", method],
                                   capture_output=True, text=True, cwd=ROOT)
                if p.returncode != 0:
                    raise SystemExit(p.stderr)
                gen = read_record(out / f"{real.name}.hea")
                assert gen.generated_leads and set(gen.recorded_leads) == set(avail)
                r = mean_chest_r(real, gen, chest)
                scores[method].append(r)
                row.append(f"{method} r={r:.3f}")
            print(f"{rid:36s} " + "  ".join(row))
            done += 1
    for m, v in scores.items():
        print(f"mean r of generated chest leads {','.join(chest)} over {len(v)} records, {m}: {np.mean(v):.4f}")
    diff = np.asarray(scores["model"]) - np.asarray(scores["linear"])
    print(f"model higher on {int((diff > 0).sum())} of {diff.size} records; "
          f"mean paired difference {diff.mean():+.4f} (SD {diff.std(ddof=1) if diff.size > 1 else 0.0:.4f})")


if __name__ == "__main__":
    main()
