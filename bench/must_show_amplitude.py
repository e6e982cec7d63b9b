"""Must-show of issue #12: `l2g reconstruct FOLDER --available I` on the shared LUDB test records, then the
amplitude table from the written files.

    .venv/bin/python -m bench.must_show_amplitude [--data ../shared/data] [--weights FILE] [--out FILE]

Links the LUDB records of the test split (``splits/split.csv``) into a temporary folder, runs the real CLI
on that folder once per method (``--method model`` with ``--weights``, default the shipped file, and
``--method linear``), reads the written WFDB records back and measures, per generated lead, the QRS
peak-to-peak amplitude (median over beats, ±60 ms around the R peaks of the real Lead II, after a 0.5 Hz
high-pass of both: :func:`l2g.evaluate.qrs_peak_to_peak`, as ``make evaluate`` does) of the real and the
generated trace. Across records: the correlation of real vs generated amplitude and the spread ratio
SD(generated) / SD(real) per lead (1 = amplitudes vary as much as the real ones; ≪ 1 = regression to the
mean). Prints the commands and the table; ``--out`` also writes them to a file.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from l2g.catalog import load_split
from l2g.evaluate import amplitude_summary, qrs_peak_to_peak
from l2g.io import read_record
from l2g.leads import LEADS
from l2g.markdown import md_table
from l2g.morphology import detect_r_peaks
from l2g.preprocess import HIGHPASS_HZ, remove_baseline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--weights", type=Path, default=None, help="generator checkpoint (default: the shipped one)")
    ap.add_argument("--available", default="I")
    ap.add_argument("--out", type=Path, default=None, help="also write the output here")
    args = ap.parse_args()
    split = load_split(ROOT / "splits" / "split.csv")
    ids = [r for r in split.loc[split["split"] == "test", "record_id"] if r.startswith("ludb/")]
    lines: list[str] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ludb_test"
        folder.mkdir()
        for rid in ids:
            src = args.data / rid
            for f in src.parent.glob(src.name + ".*"):
                (folder / f.name).symlink_to(f.resolve())
        lines.append(f"{len(ids)} LUDB test records linked into {folder.name}/")
        for method in ("model", "linear"):
            out = Path(tmp) / f"out_{method}"
            cmd = ["l2g", "reconstruct", f"{folder.name}/", "--available", args.available, "--out", f"{out.name}/",
                   "--method", method, "--no-progress"]
            if method == "model" and args.weights is not None:
                cmd += ["--weights", str(args.weights.resolve())]
            p = subprocess.run([sys.executable, "-m", *cmd], capture_output=True, text=True, cwd=tmp)
            if p.returncode != 0:
                raise SystemExit(p.stderr)
            lines.append(f"$ {shlex.join(cmd)}  -> {len(list(out.glob('*.hea')))} .hea files")
            for rid in ids:
                name = rid.rsplit("/", 1)[1]
                real = remove_baseline(read_record(args.data / f"{rid}.hea"), HIGHPASS_HZ).standardize()
                gen = read_record(out / f"{name}.hea")
                if method == "model" and not gen.generated_leads:
                    raise SystemExit(f"{out / name}: no generated leads")
                gen = remove_baseline(gen, HIGHPASS_HZ).standardize()
                r_ref = detect_r_peaks(real.lead("II"), real.fs)
                gen_leads = [lead for lead in LEADS if lead in gen.generated_leads]
                idx = [LEADS.index(lead) for lead in gen_leads]
                pp_real = qrs_peak_to_peak(real.signal[idx], r_ref, real.fs)
                pp_gen = qrs_peak_to_peak(gen.signal[idx], r_ref, gen.fs)
                rows += [{"method": method, "k": 1, "subset": args.available, "record_id": rid, "lead": lead,
                          "qrs_pp_real": float(a), "qrs_pp_gen": float(b)}
                         for lead, a, b in zip(gen_leads, pp_real, pp_gen, strict=True)]
    amp = amplitude_summary(pd.DataFrame(rows))
    per_lead = amp.pivot_table(index="lead", columns="method", values=["pp_corr", "spread_ratio"])
    per_lead = per_lead.reindex([lead for lead in LEADS if lead in per_lead.index])
    per_lead = per_lead[[(v, m) for m in ("model", "linear") for v in ("pp_corr", "spread_ratio")]]
    per_lead.columns = [f"{m} {v}" for v, m in per_lead.columns]
    mean = amp.groupby("method")[["pp_corr", "spread_ratio"]].mean()
    lines += ["", f"QRS peak-to-peak amplitude of the generated leads from {args.available} alone, across "
              f"{amp['n'].max()} LUDB test records (correlation real vs generated; spread ratio SD gen / SD real):",
              "", md_table(per_lead.reset_index(), dict.fromkeys(per_lead.columns, ".3f")), "",
              "Mean over generated leads: " + "; ".join(
                  f"{m}: correlation {row['pp_corr']:.3f}, spread ratio {row['spread_ratio']:.3f}"
                  for m, row in mean.iterrows())]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(f"$ {shlex.join(['python', *sys.argv])}\n\n" + text)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
