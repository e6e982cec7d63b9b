"""Training throughput (windows per second) and weight-file sizes.

    .venv/bin/python -m bench.train_throughput [--steps 20] [--threads 2]

Times full generator + VTT discriminator steps (batch 32 x 1024 samples, the
shipped configuration) and reconstruction-only steps, on random windows, and
prints the sizes of the files in weights/.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from l2g.model import Discriminator, Generator, expand12

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--window", type=int, default=1024)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g, d = Generator(), Discriminator()
    torch.nn.init.normal_(g.head.weight, std=0.01)
    og, od = torch.optim.AdamW(g.parameters()), torch.optim.AdamW(d.parameters())
    b, t = args.batch, args.window
    x8 = torch.randn(b, 8, t) * 0.3
    x12 = expand12(x8)
    mask = torch.rand(b, 12) < 0.3
    prior = torch.randn(b, 8, t) * 0.3
    print(f"generator {sum(p.numel() for p in g.parameters()) / 1e6:.2f} M params, "
          f"discriminator {sum(p.numel() for p in d.parameters()) / 1e6:.2f} M; threads {args.threads}")
    for adv in (False, True):
        times = []
        for i in range(args.steps + 3):
            t0 = time.perf_counter()
            pred = g(x12, mask, prior)
            loss = F.mse_loss(pred, x8)
            if adv:
                s = d(torch.cat([x8, pred.detach()]), torch.cat([x12, x12]), torch.cat([mask, mask]))
                ld = sum(F.relu(1 - z[:b]).mean() + F.relu(1 + z[b:]).mean() for z in s)
                od.zero_grad()
                ld.backward()
                od.step()
                loss = loss - 0.02 * sum(z.mean() for z in d(pred, x12, mask))
            og.zero_grad()
            loss.backward()
            og.step()
            if i >= 3:
                times.append(time.perf_counter() - t0)
        per = sorted(times)[len(times) // 2]
        print(f"{'adversarial' if adv else 'reconstruction-only'} step: median {per * 1000:.0f} ms "
              f"-> {b / per:.0f} windows/s")
    for f in sorted((ROOT / "weights").glob("*.pt")):
        print(f"{f.relative_to(ROOT)}: {f.stat().st_size / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
