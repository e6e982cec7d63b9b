"""Ship a trained generator checkpoint as the product's weights, keeping the one it replaces.

    .venv/bin/python -m scripts.ship_weights runs/ft_ptbxl.pt [--linear runs/other.pt]

1. The current ``weights/l2g.pt`` moves to ``weights/previous/l2g.pt`` (with its own ``SHA256SUMS``), so that
   ``make evaluate`` scores it beside the new one (``--previous``).
2. The checkpoint is copied to ``weights/l2g.pt``, its training curve (``runs/NAME.metrics.{csv,json}``) to
   ``weights/l2g.metrics.*``.
3. ``weights/linear.pt`` becomes the checkpoint's own linear prior, the baseline refit on the same training
   records as the generator (issue #12: the baseline gets the same data) — or, with ``--linear OTHER``, the
   prior of another checkpoint: for a generator fine-tuned in stages on different data (e.g. a last stage on
   the shared records alone after one with PTB-XL), the prior of the stage that saw all its training records.
4. The ``weights/SHA256SUMS`` lines of ``linear.pt`` and ``l2g.pt`` are rewritten (others kept).

What it does not do (each needs the new weights, see weights/MODEL_CARD.md "Shipping"): refit the band
(``bench/trust_calibrate.py``), re-tune the lead check, ``make evaluate``, and the model card tables.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

from l2g.baseline import LinearBaseline
from l2g.checkpoint import CheckpointError, load_generator_checkpoint, save_linear

ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sums(folder: Path, names: list[str]) -> None:
    """Set the ``SHA256SUMS`` lines of ``names`` in ``folder``; other files' lines stay as they are."""
    path = folder / "SHA256SUMS"
    kept = [line for line in (path.read_text().splitlines() if path.is_file() else [])
            if line.strip() and line.split()[-1] not in names]
    lines = [f"{sha256(folder / n)}  {n}" for n in names if (folder / n).is_file()]
    path.write_text("\n".join(lines + kept) + "\n")


def _checkpoint(path: Path) -> dict:
    try:
        ckpt = load_generator_checkpoint(path, verify=False)
    except CheckpointError as exc:
        raise SystemExit(str(exc)) from exc
    if "linear" not in ckpt:
        raise SystemExit(f"{path}: not an l2g generator checkpoint (no linear prior)")
    return ckpt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="calibrated generator checkpoint written by l2g train")
    p.add_argument("--linear", type=Path, default=None,
                   help="take weights/linear.pt from this checkpoint's prior instead (default: the checkpoint's own)")
    args = p.parse_args()
    src = args.checkpoint
    ckpt = _checkpoint(src)
    linear_state = _checkpoint(args.linear)["linear"] if args.linear else ckpt["linear"]
    if not ckpt.get("model_args", {}).get("residual_scale"):
        raise SystemExit(f"{src}: not calibrated (run `l2g calibrate {src}` first)")
    weights = ROOT / "weights"
    prev = weights / "previous"
    prev.mkdir(exist_ok=True)
    shutil.copy2(weights / "l2g.pt", prev / "l2g.pt")
    write_sums(prev, ["l2g.pt"])
    shutil.copy2(src, weights / "l2g.pt")
    for ext in ("csv", "json"):
        metrics = src.with_suffix(f".metrics.{ext}")
        if metrics.is_file():
            shutil.copy2(metrics, weights / f"l2g.metrics.{ext}")
    save_linear(LinearBaseline.from_state_dict(linear_state), weights / "linear.pt")
    write_sums(weights, ["linear.pt", "l2g.pt"])
    print((weights / "SHA256SUMS").read_text() + (prev / "SHA256SUMS").read_text(), end="")


if __name__ == "__main__":
    main()
