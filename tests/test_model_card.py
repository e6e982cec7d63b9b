"""The shipped model card agrees with the shipped weights and the committed evaluation report.

The card's k = 1..7 table is copied from ``reports/evaluation.json`` (``scripts/model_card_tables.py``),
which ``make evaluate`` writes. These tests fail when the weights are replaced without re-running the
evaluation, or the report without updating the card.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "weights" / "MODEL_CARD.md"
REPORT = ROOT / "reports" / "evaluation.json"


def _card_k_rows() -> dict[int, list[str]]:
    text = CARD.read_text(encoding="utf-8")
    head = text.index("| k | subsets | model MSE (mV²) | linear MSE | model r | linear r |")
    rows = {}
    for line in text[head:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[int(cells[0])] = cells
    return rows


def _by_k(method: str) -> dict[int, dict]:
    return {r["k"]: r for r in json.loads(REPORT.read_text())["by_k"] if r["method"] == method}


def test_report_was_made_with_the_shipped_weights():
    sums = dict(line.split()[::-1] for line in (ROOT / "weights" / "SHA256SUMS").read_text().splitlines() if line)
    versions = json.loads(REPORT.read_text())["meta"]["versions"]
    assert versions["model"] == f"l2g.pt@{sums['l2g.pt'][:12]}"
    assert versions["linear"] == f"linear.pt@{sums['linear.pt'][:12]}"
    assert f"l2g.pt@{sums['l2g.pt'][:12]}" in CARD.read_text(encoding="utf-8")  # the speed lines name it


@pytest.mark.parametrize("k", range(1, 8))
def test_card_k_table_matches_the_report(k):
    row = _card_k_rows()[k]
    model, linear = _by_k("model")[k], _by_k("linear")[k]
    assert int(row[1]) == model["n_subsets"]
    assert row[2:6] == [f"{model['mse']:.4f}", f"{linear['mse']:.4f}", f"{model['r']:.3f}", f"{linear['r']:.3f}"]
    assert row[6:8] == [f"{model['ssim']:.3f}", f"{linear['ssim']:.3f}"]


@pytest.mark.parametrize("k", range(1, 8))
def test_card_bar_lines_match_the_report(k):
    model, linear = _by_k("model")[k], _by_k("linear")[k]
    line = re.search(rf"^- k={k}: .*$", CARD.read_text(encoding="utf-8"), re.M).group(0)
    mse_word = "lower" if model["mse"] < linear["mse"] else "NOT lower"
    r_word = "higher" if model["r"] > linear["r"] else "NOT higher"
    assert line == (f"- k={k}: MSE {mse_word} ({model['mse']:.5f} vs {linear['mse']:.5f}), "
                    f"r {r_word} ({model['r']:.4f} vs {linear['r']:.4f})")
