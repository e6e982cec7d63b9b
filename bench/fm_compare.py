"""Generators side by side from their ``bench.diagnostic score`` results (issue #22: choosing on fold 9).

    .venv/bin/python -m bench.fm_compare NAME=DIR [NAME=DIR ...] [--base NAME]

Each ``DIR`` holds a ``diagnostic.json`` (``python -m bench.diagnostic score --fold 9 --out DIR`` for the
validation fold; without ``--fold``, fold 10). Prints Markdown: per fidelity subset the reference classifier's
macro-AUC on each generator's reconstruction (and the input-only classifier's, the same for all), their mean,
MI from lead I, the mean single-lead r, and the chest-lead amplitude correlation and slope from lead I;
with ``--base``, each generator's mean AUC minus the base's (the rule of reports/feature_matching_protocol.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from l2g.markdown import md_table


def summary(res: dict) -> dict:
    """The numbers compared, from one ``diagnostic.json``."""
    subsets = res["subsets"]
    single = [v["model"]["r"] for k, v in res["reconstruction"].items() if "," not in k]
    shr = res.get("shrinkage", {}).get("I", {}).get("model", {})
    return {"model": res["model"], "fold": res.get("fold", 10),
            "auc": {s: v["model"] for s, v in subsets.items()},
            "input_only": {s: v.get("input_only") for s, v in subsets.items()},
            "real": next(iter(subsets.values()))["real"],
            "mean_auc": float(np.mean([v["model"] for v in subsets.values()])),
            "mi_from_I": res["per_class"]["I"]["model"]["MI"],
            "single_lead_r": float(np.mean(single)) if single else float("nan"),
            "amp_corr_I": float(np.nanmean([x[0] for x in shr.values()])) if shr else float("nan"),
            "amp_slope_I": float(np.nanmean([x[1] for x in shr.values()])) if shr else float("nan")}


def table(named: dict[str, dict], base: str | None = None) -> str:
    """The Markdown table of :func:`summary` rows, one column per generator."""
    names = list(named)
    first = named[names[0]]
    rows = []
    for s in first["auc"]:
        rows.append([f"macro-AUC from {s}"] + [f"{named[n]['auc'][s]:.4f}" for n in names]
                    + [f"{first['input_only'][s]:.4f}" if first["input_only"][s] is not None else "–"])
    rows.append(["mean over the subsets"] + [f"{named[n]['mean_auc']:.4f}" for n in names] + [""])
    if base is not None:
        rows.append([f"mean − {base}'s"] + [f"{named[n]['mean_auc'] - named[base]['mean_auc']:+.4f}" for n in names]
                    + [""])
    rows.append(["MI AUC from I"] + [f"{named[n]['mi_from_I']:.3f}" for n in names] + [""])
    rows.append(["mean single-lead r (11 generated leads)"] + [f"{named[n]['single_lead_r']:.3f}" for n in names]
                + [""])
    rows.append(["QRS amplitude correlation from I (chest)"] + [f"{named[n]['amp_corr_I']:.2f}" for n in names]
                + [""])
    rows.append(["amplitude slope from I (chest)"] + [f"{named[n]['amp_slope_I']:.2f}" for n in names] + [""])
    header = [f"fold {first['fold']} (real 12 leads {first['real']:.4f})"] + [
        f"{n} `{named[n]['model']}`" for n in names] + ["input only"]
    return md_table(pd.DataFrame(rows, columns=header))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="NAME=DIR, DIR holding a diagnostic.json")
    ap.add_argument("--base", default=None, help="the NAME the others are compared with")
    args = ap.parse_args(argv)
    named = {}
    for item in args.runs:
        name, _, folder = item.partition("=")
        if not folder:
            raise ValueError(f"{item!r}: give NAME=DIR")
        named[name] = summary(json.loads((Path(folder) / "diagnostic.json").read_text()))
    sys.stdout.write(table(named, args.base) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
