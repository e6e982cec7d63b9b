"""Print the model card's tables from the evaluation reports (numbers are copied, never typed).

    .venv/bin/python -m scripts.model_card_tables
reads reports/evaluation.json, reports/ablation_adversarial/evaluation.json and runs/eval/bench_reconstruct.txt.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load(p):
    return json.loads((ROOT / p).read_text())


def by(rows, method):
    return {r["k"]: r for r in rows if r["method"] == method}


main = load("reports/evaluation.json")
m, lin = by(main["by_k"], "model"), by(main["by_k"], "linear")
print("TABLE_K\n")
print("| k | subsets | model MSE (mV²) | linear MSE | model r | linear r | model SSIM | linear SSIM | model AUP_S "
      "| model AUP_M ×10⁻⁵ | paper AUP_S | paper AUP_M ×10⁻⁵ |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
paper = {int(k): v for k, v in main["paper"].items()}
for k in sorted(m):
    p = paper.get(k)
    print(f"| {k} | {m[k]['n_subsets']} | {m[k]['mse']:.4f} | {lin[k]['mse']:.4f} | {m[k]['r']:.3f} "
          f"| {lin[k]['r']:.3f} "
          f"| {m[k]['ssim']:.3f} | {lin[k]['ssim']:.3f} | {m[k]['aup_s']:.3f} | {m[k]['aup_m'] * 1e5:.1f} "
          f"| {p['aup_s'] if p else '–'} | {round(p['aup_m'] * 1e5, 2) if p else '–'} |")
print("\nTABLE_BAR\n")
for k in sorted(m):
    ok_mse = m[k]["mse"] < lin[k]["mse"]
    ok_r = m[k]["r"] > lin[k]["r"]
    print(f"k={k}: MSE {'lower' if ok_mse else 'NOT lower'} ({m[k]['mse']:.5f} vs {lin[k]['mse']:.5f}), "
          f"r {'higher' if ok_r else 'NOT higher'} ({m[k]['r']:.4f} vs {lin[k]['r']:.4f})")
abl = load("reports/ablation_adversarial/evaluation.json")
a = by(abl["by_k"], "model")
print("\nTABLE_ABL\n")
print("| k | recon-only MSE | adversarial MSE | linear MSE | recon-only r | adversarial r | linear r "
      "| recon-only SSIM | adversarial SSIM |")
print("|---|---|---|---|---|---|---|---|---|")
for k in sorted(m):
    print(f"| {k} | {m[k]['mse']:.4f} | {a[k]['mse']:.4f} | {lin[k]['mse']:.4f} | {m[k]['r']:.3f} | {a[k]['r']:.3f} "
          f"| {lin[k]['r']:.3f} | {m[k]['ssim']:.3f} | {a[k]['ssim']:.3f} |")
print("\nTABLE_AMP\n")
print("| k | subset | recon-only corr / spread | adversarial corr / spread | linear corr / spread |")
print("|---|---|---|---|---|")


def amp(payload, method):
    out = {}
    for r in payload["amplitude_tracking"]:
        if r["method"] == method:
            out.setdefault((r["k"], r["subset"]), []).append((r["pp_corr"], r["spread_ratio"]))
    return {key: tuple(sum(x) / len(x) for x in zip(*v, strict=True)) for key, v in out.items()}


am, aa, al = amp(main, "model"), amp(abl, "model"), amp(main, "linear")
for key in sorted(am):
    print(f"| {key[0]} | {key[1]} | {am[key][0]:.2f} / {am[key][1]:.2f} | {aa[key][0]:.2f} / {aa[key][1]:.2f} "
          f"| {al[key][0]:.2f} / {al[key][1]:.2f} |")
bench = ROOT / "runs" / "eval" / "bench_reconstruct.txt"
if bench.exists():
    print("\nTABLE_SPEED\n")
    for line in bench.read_text().splitlines():
        print(f"- {line}")
