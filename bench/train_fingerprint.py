"""Fingerprint of a tiny, deterministic CPU training run (for refactors of ``l2g.train``).

Trains the generator and critic of ``tests/test_train.py``'s tiny configuration on six
synthetic records, once per option set below (plain; adversarial + EMA + linear loss
normalisation + relative selection), and prints the SHA-256 of everything the run leaves:
the final generator, averaged generator, critic and both optimiser states (``NAME.ckpt``),
the shipped best weights (``NAME.pt``) and the per-epoch losses (timings left out)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m bench.train_fingerprint

Run it before and after a change that should not alter training: the hashes must be equal.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from l2g.checkpoint import load_generator_checkpoint, load_training_state
from l2g.io import write_wfdb
from l2g.train import config_from_dict, train
from tests.ecg_factory import synthetic_record

TINY = {
    "epochs": 3, "windows_per_epoch": 32, "batch_size": 8, "adv_start_epoch": 1,
    "val_windows_per_record": 1, "val_masks_per_k": 2, "patience": 5, "threads": 1,
    "data": {"window": 256},
    "generator": {"base_channels": 8, "depth": 2, "dilations": [1, 2]},
    "discriminator": {"channels": 8, "n_layers": 2},
}
VARIANTS = {
    "plain": {"adv_weight": 0.0},
    "adv_ema_linear": {"ema_decay": 0.9, "loss_norm": "linear", "select": "relative"},
}
# per-epoch values that depend on the clock, not on the computation
_TIMING = {"seconds"}


def _hash_obj(h: object, obj: object) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            if k in _TIMING:
                continue
            h.update(str(k).encode())
            _hash_obj(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _hash_obj(h, v)
    else:
        h.update(repr(obj).encode())


def fingerprint(obj: object) -> str:
    h = hashlib.sha256()
    _hash_obj(h, obj)
    return h.hexdigest()


def run(variant: str, root: Path) -> dict[str, str]:
    cfg = config_from_dict({**TINY, **VARIANTS[variant], "data_dir": str(root),
                            "split_csv": str(root / "split.csv")})
    out = root / variant / "m.pt"
    train(cfg, out, progress=False)
    state = load_training_state(out.with_suffix(".ckpt"))
    best = load_generator_checkpoint(out)
    return {
        "final_state": fingerprint({k: state[k] for k in ("g", "g_avg", "d", "opt_g", "opt_d")}),
        "best_weights": fingerprint(best["state_dict"]),
        "history": fingerprint(state["history"]),
        "last_train_mse": repr(state["history"][-1]["train_mse"]),
    }


def main() -> int:
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 for a reproducible run", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = ["record_id,split"]
        for i in range(6):
            write_wfdb(synthetic_record(duration_s=4.0, seed=i, name=f"r{i}"), root / "set", name=f"r{i}")
            rows.append(f"set/r{i},{'train' if i < 4 else 'val'}")
        (root / "split.csv").write_text("\n".join(rows) + "\n")
        result = {v: run(v, root) for v in VARIANTS}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
