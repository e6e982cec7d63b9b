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
