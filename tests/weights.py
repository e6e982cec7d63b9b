"""The shipped weights are part of the product: a test that needs them fails without them, it never skips."""

from __future__ import annotations

from pathlib import Path

import pytest

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
HOW = {"linear.pt": "bench/baseline_subsets.py --save", "l2g.pt": "l2g train (see docs/MODEL.md)",
       "leadcheck.pt": "python -m bench.leadcheck_train"}


def shipped(name: str = "linear.pt") -> Path:
    """``weights/NAME`` of the repository; fails the calling test when it is missing."""
    path = WEIGHTS / name
    if not path.is_file():
        pytest.fail(f"weights/{name} is missing: the shipped weights are part of the product "
                    f"(restore it from git, or rebuild it with {HOW.get(name, 'l2g train')})", pytrace=False)
    return path


def version_of(path: Path) -> str:
    """``NAME@<sha256[:12]>`` of a weights file (:func:`l2g.reconstruction.weights_version`), so that tests
    name the shipped and the previous generator by content and survive shipping new weights."""
    from l2g.reconstruction import weights_version

    return weights_version(path)


SHIPPED = version_of(WEIGHTS / "l2g.pt")  # e.g. l2g.pt@66d7d7843eb2
PREVIOUS = version_of(WEIGHTS / "previous" / "l2g.pt")  # the generator weights/l2g.pt replaced
