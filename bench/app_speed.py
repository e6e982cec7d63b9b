"""Dashboard speed: lead-selection changes and time to the first chart.

    .venv/bin/python -m bench.app_speed [--runs 20] [--weights weights/l2g.pt] [--no-browser]

Prints, on this machine:

1. server time of one lead-selection change on the 10-s, 500 Hz demo record with the generator
   loaded (target <= 1 s): the l2g calls and figure build of that rerun, timed one by one
   (reconstruct, display filters, agreement, morphology, exports, figure + JSON), and the whole
   AppTest rerun (the page script end to end, widgets included) after unticking / ticking a lead;
   each selection is new, so no cache hit hides the work. Without ``weights/l2g.pt`` an
   untrained generator of the shipped architecture is written to a temporary folder and timed
   (same compute as the trained one), and the linear baseline is timed too;
2. time to the first chart (target <= 5 s): ``streamlit run app.py`` is started and Chromium
   (Playwright, /usr/bin/chromium) opens the page; printed are the seconds from process start
   to the server answering its health check, to the first ECG trace drawn in the page (the
   recording, shown while the generator loads on a server's first visit) and to the chart
   with the generated leads.

The machine's load average is printed: on a busy machine every number grows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from bench.concurrency import CHROMIUM, CHROMIUM_ARGS, TRACE_DRAWN, free_port, wait_healthy

REPO = Path(__file__).resolve().parents[1]


def untrained_checkpoint(directory: Path) -> Path:
    """A generator checkpoint of the default architecture with random weights (timing only)."""
    from l2g.baseline import LinearBaseline
    from l2g.checkpoint import generator_checkpoint, save
    from l2g.dataset import DataConfig
    from l2g.model import Generator, GeneratorConfig
    from l2g.reconstruction import DEFAULT_LINEAR

    data = DataConfig()
    path = directory / "untrained.pt"
    save(generator_checkpoint(Generator(GeneratorConfig()), LinearBaseline.load(DEFAULT_LINEAR), fs=data.fs,
                              window=data.window, highpass_hz=data.highpass_hz), path)
    return path


def time_calls(weights: Path, runs: int) -> None:
    """The l2g calls one selection change makes, timed one by one."""
    import torch

    from dashboard.state import _torch_threads
    from l2g import export, morphology, plots
    from l2g.demo import demo_record
    from l2g.leads import PRESETS
    from l2g.metrics import compare
    from l2g.reconstruction import load_reconstructor, reconstruct

    torch.set_num_threads(_torch_threads())  # as the dashboard does (dashboard.state.reconstructor)
    rec = demo_record()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {"model": load_reconstructor(weights), "linear": load_reconstructor(method="linear")}
    selections = [p for p in PRESETS.values() if len(p) < 12]
    for name, rc in models.items():
        if name == "model" and rc.method != "model":
            print("model: could not be loaded; skipped")
            continue
        parts: dict[str, list[float]] = {}

        def tick(key: str, t: float, parts: dict[str, list[float]] = parts) -> float:
            now = time.perf_counter()
            parts.setdefault(key, []).append(now - t)
            return now

        reconstruct(rec, ("I", "II"), model=rc)  # warm-up
        morphology.morphology_table(rec, rec)
        for i in range(runs):
            avail = selections[i % len(selections)]
            t = start = time.perf_counter()
            out = reconstruct(rec, avail, model=rc)
            t = tick("reconstruct", t)
            shown, label = plots.display_filter(out, "0.5 Hz high-pass (baseline wander)")
            real, _ = plots.display_filter(rec, "0.5 Hz high-pass (baseline wander)")
            t = tick("display filters", t)
            compare(rec, out, avail)  # r, RMSE and SSIM, as the page
            t = tick("agreement", t)
            morphology.morphology_table(rec, out)  # the page computes it only when II is generated
            t = tick("morphology (Lead II)", t)
            export.wfdb_zip_bytes(out), export.csv_bytes(out)
            t = tick("exports (WFDB zip + CSV)", t)
            fig = plots.ecg_figure(shown, reference=real, filter_label=label)
            fig.to_json()
            t = tick("figure + JSON", t)
            parts.setdefault("total", []).append(t - start)
        print(f"selection change, {name} ({rc.version}), {runs} selections, median ms:")
        for key, values in parts.items():
            print(f"  {key:26s} {statistics.median(values) * 1000:7.1f}   (max {max(values) * 1000:.1f})")


def time_apptest(weights: Path, runs: int) -> None:
    """A whole rerun of the viewer page after a lead toggle (AppTest, same process)."""
    import shutil

    from streamlit.testing.v1 import AppTest

    from l2g.paths import weights_dir

    # the page loads l2g.pt from the weights folder; point L2G_WEIGHTS_DIR at the timing checkpoint
    # when the folder has none
    shipped = weights_dir()
    if not (shipped / "l2g.pt").exists():
        tmp = Path(tempfile.mkdtemp(prefix="l2g-bench-"))
        shutil.copy(weights, tmp / "l2g.pt")
        shutil.copy(shipped / "linear.pt", tmp / "linear.pt")
        os.environ["L2G_WEIGHTS_DIR"] = str(tmp)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    t = time.perf_counter()
    at.run()
    print(f"AppTest first run (imports, model load, demo): {time.perf_counter() - t:.2f} s"
          f"{' — generator in use' if not at.warning else ' — ' + at.warning[0].value[:60]}")
    leads = ["V1", "V3", "V5", "II", "I"]
    times = []
    for i in range(runs):
        box = at.checkbox(key=f"lead_{leads[i % len(leads)]}")
        (box.uncheck() if box.value else box.check())
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    print(f"AppTest rerun after a lead toggle: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {runs} toggles (target <= 1000 ms)")


def time_first_chart() -> None:
    """Process start -> health check -> first ECG trace in Chromium."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"first chart: skipped ({CHROMIUM} not found)")
        return
    port = free_port()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(REPO / ".venv/bin/streamlit"), "run", "app.py", "--server.headless", "true",
             "--server.port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            t_health = wait_healthy(proc, port, t0)
            page.goto(f"http://localhost:{port}/")
            page.wait_for_selector(TRACE_DRAWN, timeout=120_000)
            t_chart = time.perf_counter() - t0
            page.locator(".js-plotly-plot .annotation-text").filter(has_text="(gen").first.wait_for(timeout=120_000)
            t_full = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            browser.close()
    print(f"first chart: server healthy {t_health:.2f} s; first ECG chart drawn {t_chart:.2f} s "
          f"(target <= 5 s) and the chart with the generated leads {t_full:.2f} s after `streamlit run` started")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    import streamlit.logger
    import torch

    streamlit.logger.set_log_level("error")  # "no runtime" notes from importing dashboard.state outside a server

    from dashboard.state import _torch_threads

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"torch threads {torch.get_num_threads()} by default, {_torch_threads()} in the dashboard")
    with tempfile.TemporaryDirectory(prefix="l2g-bench-") as tmp:
        weights = args.weights or REPO / "weights" / "l2g.pt"
        if not weights.exists():
            weights = untrained_checkpoint(Path(tmp))
            print(f"weights/l2g.pt missing: timing an untrained generator of the same architecture ({weights.name})")
        time_calls(weights, args.runs)
        time_apptest(weights, args.runs)
    if not args.no_browser:
        time_first_chart()


if __name__ == "__main__":
    main()
