"""Compare lead-check networks (and test-time averaging) on the cached checks of bench/leadcheck_eval.py.

``inputs`` caches the network input of every check of ``bench/leadcheck_eval.py stats`` (same records,
scenarios and order; the array :func:`l2g.leadcheck.lead_check_stats` hands the network), so that a candidate
network is scored in seconds instead of re-running the statistics. ``score`` puts each candidate's fault
probabilities in place of the shipped network's in the cached statistics and prints the validation table at
thresholds tuned as ``report --tune`` does (:func:`leadcheck_eval.tune`); on ``--split heldout`` it applies the
thresholds tuned on validation for the same candidate (run ``score --split val`` first). A candidate is
``FILE[+FILE...][@VIEWS]``: several files average their probabilities; ``@win3`` averages three 9-s windows
(offsets 0, 0.5, 1 s), ``@win2`` two (0, 1 s), ``@pad2`` the 10 s plus the 10 s shifted by 1 s either way
(zero-padded).

    OMP_NUM_THREADS=1 python -m bench.leadcheck_eval stats --split heldout --limit 300 --tag 300
    OMP_NUM_THREADS=1 python -m bench.leadcheck_compare inputs --split val
    OMP_NUM_THREADS=1 python -m bench.leadcheck_compare inputs --split heldout --limit 300 --tag 300
    OMP_NUM_THREADS=1 python -m bench.leadcheck_compare score --split val weights/leadcheck.pt other.pt@win3
    OMP_NUM_THREADS=1 python -m bench.leadcheck_compare score --split heldout --tag 300 weights/leadcheck.pt
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
from pathlib import Path

import numpy as np
import torch

from bench.leadcheck_eval import scenarios, split_records, table, tune
from l2g.leadnet import CLASSES, is_testable, load_leadnet, net_input
from l2g.leads import LEADS
from l2g.markdown import md_table

ROOT = Path(__file__).resolve().parents[1]


def _pad(x: np.ndarray, shift: int) -> np.ndarray:
    out = np.zeros_like(x)
    if shift > 0:
        out[..., : x.shape[-1] - shift] = x[..., shift:]
    else:
        out[..., -shift:] = x[..., : x.shape[-1] + shift]
    return out


#: Test-time views of the (batch, 12, 1000) input at 100 Hz, averaged.
VIEWS = {
    "": [lambda x: x],
    "win3": [lambda x: x[..., :900], lambda x: x[..., 50:950], lambda x: x[..., 100:]],
    "win2": [lambda x: x[..., :900], lambda x: x[..., 100:]],
    "pad2": [lambda x: x, lambda x: _pad(x, 100), lambda x: _pad(x, -100)],
}


def cmd_inputs(args):
    from l2g.leadcheck import network_view
    from l2g.leadnet import LeadNetConfig
    from l2g.reconstruction import load_reconstructor

    fs = load_reconstructor(device="cpu").linear.config.fs
    records = split_records(args)
    subset = tuple(args.subset.split(","))
    out = []
    for n, (_rid, _source, rec) in enumerate(records):
        rec = rec.crop(0.0, min(rec.duration, 10.0))
        for _fault, _lead, bad in scenarios(rec, np.random.default_rng(n), args.noise_mv):
            for r in (bad, bad.mask(subset)):  # as l2g.leadcheck.check_leads
                x, present = network_view(r, fs, LeadNetConfig(), max_seconds=10.0)
                out.append((x.astype(np.float32), present))
    path = Path(args.cache) / f"leadnet_inputs_{args.split}{args.tag}.pkl"
    path.write_bytes(pickle.dumps(out))
    print(f"{len(out)} inputs -> {path}")


def probabilities(nets, inputs, views) -> np.ndarray:
    """Fault probabilities (n, len(CLASSES)) averaged over networks and views; untestable faults 0."""
    xs = np.stack([x for x, _ in inputs])
    masks = np.stack([[lead in p for lead in LEADS] for _, p in inputs])
    ok = torch.tensor([[is_testable(c, p) for c in CLASSES] for _, p in inputs])
    acc = 0.0
    with torch.no_grad():
        for net in nets:
            for view in views:
                inp = torch.from_numpy(net_input(view(xs), masks))
                logits = torch.cat([net(inp[i: i + 512]) for i in range(0, len(inp), 512)]).double()
                acc = acc + torch.softmax(logits.masked_fill(~ok, float("-inf")), dim=1)
    return (acc / (len(nets) * len(views))).numpy()


def cmd_score(args):
    rows = pickle.loads((Path(args.cache) / f"leadcheck_{args.split}{args.tag}.pkl").read_bytes())
    inputs = pickle.loads((Path(args.cache) / f"leadnet_inputs_{args.split}{args.tag}.pkl").read_bytes())
    if len(rows) != len(inputs):
        raise SystemExit(f"{len(rows)} cached checks but {len(inputs)} inputs: re-run both for the same records")
    store = Path(args.cache) / "leadnet_thresholds.pkl"
    tuned = pickle.loads(store.read_bytes()) if store.exists() else {}
    for cand in args.candidates:
        files, _, views = cand.partition("@")
        p = probabilities([load_leadnet(f) for f in files.split("+")], inputs, VIEWS[views])
        rr = [{**r, "stats": dataclasses.replace(r["stats"], net=dict(zip(CLASSES, map(float, q), strict=True)))}
              for r, q in zip(rows, p, strict=True)]
        if args.split == "val":
            tuned[cand] = tune(rr)
        th = tuned[cand]
        t = table(rr, th)
        t["value"] = t["specificity"].fillna(t["sensitivity"])
        print(f"\n### {cand} ({args.split}{args.tag}; net_p {th.net_p:.3f})\n")
        print(md_table(t.pivot_table(index="fault", columns="leads", values="value", sort=False).reset_index()))
    store.write_bytes(pickle.dumps(tuned))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["inputs", "score"])
    p.add_argument("candidates", nargs="*", help="score: FILE[+FILE...][@VIEWS]")
    p.add_argument("--split", default="val", help="val or heldout (as bench/leadcheck_eval.py)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--ptbxl", default=str(ROOT.parent / "scratch" / "ptbxl" / "Data" / "records100"))
    p.add_argument("--cache", default="/tmp/l2g_trust")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--tag", default="")
    p.add_argument("--subset", default="I,II,V1,V2,V3,V4")
    p.add_argument("--noise-mv", type=float, default=0.2)
    args = p.parse_intermixed_args()
    torch.set_num_threads(1)
    {"inputs": cmd_inputs, "score": cmd_score}[args.step](args)


if __name__ == "__main__":
    main()
