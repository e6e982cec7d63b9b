"""Several browser sessions at once on one dashboard server: isolation, one model load, memory, time.

    .venv/bin/python -m bench.concurrency [--sessions 5] [--rounds 3] [--long-hours 24 | --no-long]

Starts ``streamlit run app.py`` on a free port (its own private ``TMPDIR``), then, per round, opens
``--sessions`` Chromium contexts at once (Playwright, /usr/bin/chromium, one browser). Each context
uploads its own 10-s 12-lead WFDB record (synthetic; distinct name, age, diagnosis and amplitude)
and waits for the chart with the generated leads. Printed:

* per session: seconds from ``goto`` to the first chart, and from the upload to the chart with the
  generated leads of its own record; whether it saw only its own record (name, age and diagnosis
  in the page; the lead-I values drawn in the chart);
* the server process's resident memory (``VmRSS``) and its peak (``VmHWM``) from ``/proc``: after
  start-up, after each round (contexts closed), and after the long record;
* how often the model was loaded (``l2g: loaded the ... reconstructor`` lines in the server log)
  and how many closed sessions released their record (``l2g: a session ended`` lines);
* with ``--long-hours H`` (default 24): one more session uploads an H-hour two-lead record
  (500 Hz, WFDB format 16, written to a temporary folder); printed are the seconds to its first
  segment's chart and to the next segment's, the server's memory, and the memory once that
  session's browser is closed and the record released.

``tests/test_concurrency.py`` runs one round of the same sessions with assertions. The machine's
load average is printed: on a busy machine every time grows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: A drawn trace of the chart (the legend keys are empty, hidden traces: l2g.plots.LEGEND_ORDER).
TRACE_DRAWN = ".js-plotly-plot .scatterlayer .trace >> visible=true"
#: The record uploader of the viewer (the sidebar's first; the second is "Earlier ECG of this patient").
MAIN_UPLOAD = '[data-testid="stFileUploader"] >> nth=0 >> input[type=file]'

REPO = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TIMEOUT_MS = 300_000
LOAD_LINE = re.compile(r"l2g: loaded the (\w+) reconstructor")
RELEASE_LINE = "l2g: a session ended; its record was released"
# the lead-I samples drawn first in the 3x4 chart (the first "recorded (input)" trace), in mV
FIRST_LEAD_I_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const t = gd._fullData.find(t => t.name === 'recorded (input)' && t.customdata);  // not the legend key
  return Array.from(t.customdata.slice(0, 200));
}"""


# ------------------------------------------------------------------ the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc: subprocess.Popen, port: int, t0: float, timeout_s: float = 120.0) -> float:
    """Poll the Streamlit server's health check until it answers; seconds since ``t0`` (``perf_counter``).

    Raises RuntimeError when ``proc`` exits first or ``timeout_s`` passes. Shared by the
    benchmarks and the browser tests.
    """
    while True:
        try:
            urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=1).read()
            return time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited (status {proc.returncode}) before it was healthy") from None
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError(f"streamlit did not answer its health check within {timeout_s:g} s") from None
            time.sleep(0.05)  # polling a socket, not waiting for the page


@dataclass
class Server:
    """A running ``streamlit run app.py``: its process, URL, log file and private TMPDIR."""

    proc: subprocess.Popen
    url: str
    port: int
    log: Path
    tmpdir: Path
    started_s: float  # seconds from process start to a healthy server

    def memory_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the server process in MiB, from /proc."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return tuple(int(re.search(rf"{k}:\s+(\d+)", status).group(1)) / 1024 for k in ("VmRSS", "VmHWM"))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def model_loads(self) -> list[str]:
        """The methods loaded, one entry per ``l2g: loaded the ... reconstructor`` log line."""
        return LOAD_LINE.findall(self.log_text())

    def released(self) -> int:
        """How many sessions have ended and released their record (log lines)."""
        return self.log_text().count(RELEASE_LINE)

    def wait_released(self, n: int, timeout_s: float = 60.0) -> float:
        """Seconds until ``n`` sessions have released their records (polls the log; nan on timeout)."""
        t0 = time.perf_counter()
        while self.released() < n:
            if time.perf_counter() - t0 > timeout_s:
                return float("nan")
            time.sleep(0.2)
        return time.perf_counter() - t0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(workdir: Path, timeout_s: float = 120.0) -> Server:
    """``streamlit run app.py`` on a free port with TMPDIR=``workdir/tmp``; returns once it answers its health check."""
    port = free_port()
    tmpdir = workdir / "tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in ("L2G_DATA_DIR", "L2G_WEIGHTS_DIR")}
    env["TMPDIR"] = str(tmpdir)
    log = open(log_path, "wb")  # a file, not a pipe: a full pipe would block the server
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = Server(proc, f"http://localhost:{port}/", port, log_path, tmpdir, 0.0)
    try:
        server.started_s = wait_healthy(proc, port, t0, timeout_s)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}: {log_path.read_text(errors='replace')[-2000:]}") from None
    return server


# ------------------------------------------------------------------ the records
@dataclass
class Patient:
    """One session's record: its files and what the page must show (and no other session may)."""

    name: str
    age: int
    finding: str
    files: list[Path]
    lead_i: np.ndarray  # lead I after the page's default display filter, mV


def write_patients(directory: Path, n: int, tag: str = "") -> list[Patient]:
    """``n`` distinct 10-s 12-lead WFDB records (name, age, diagnosis, amplitude and rhythm differ)."""
    from l2g.io import read_record, write_wfdb
    from l2g.plots import DISPLAY_FILTERS, display_filter
    from l2g.record import Diagnosis
    from tests.ecg_factory import synthetic_record

    out = []
    for i in range(n):
        name = f"patient{tag}{i}_{chr(65 + i) * 3}"
        finding = f"finding-{tag}{i}-{chr(65 + i) * 4}"
        rec = synthetic_record(duration_s=10.0, seed=100 + i, name=name, age=30 + i, sex="F" if i % 2 else "M",
                               diagnoses=(Diagnosis("", finding, "text"),))
        rec = rec.replace(signal=rec.signal * (0.8 + 0.1 * i))
        hea = write_wfdb(rec, directory / name, name)
        shown, _ = display_filter(read_record(hea), next(iter(DISPLAY_FILTERS)))
        out.append(Patient(name, 30 + i, finding, [hea, hea.with_suffix(".dat")], shown.lead("I")))
    return out


def write_long_record(directory: Path, hours: float, fs: int = 500) -> list[Path]:
    """An ``hours``-long two-lead (I, II) WFDB record, format 16: a 60-s synthetic ECG repeated."""
    from tests.ecg_factory import synthetic_record

    name = f"holter{hours:g}h"
    base = synthetic_record(duration_s=60.0, fs=fs, seed=9).signal[:2]
    reps = int(np.ceil(hours * 60))
    digital = np.round(base.T * 1000).astype("<i2")  # (samples, 2) at 1000 adu/mV
    directory.mkdir(parents=True, exist_ok=True)
    dat = directory / f"{name}.dat"
    with open(dat, "wb") as fh:
        for _ in range(reps):
            fh.write(digital.tobytes())
    n = reps * digital.shape[0]
    (directory / f"{name}.hea").write_text(
        f"{name} 2 {fs} {n}\n" + "".join(f"{name}.dat 16 1000/mV 16 0 0 0 0 {lead}\n" for lead in ("I", "II")))
    return [directory / f"{name}.hea", dat]


# ------------------------------------------------------------------ the sessions
@dataclass
class SessionResult:
    name: str
    first_chart_s: float = float("nan")
    chart_s: float = float("nan")  # upload -> chart with the generated leads of its own record
    own_record: bool = False
    others_seen: list[str] = field(default_factory=list)
    max_abs_diff_mv: float = float("nan")  # lead I drawn vs the record's lead I
    error: str = ""


async def _wait_idle(page) -> None:
    await page.wait_for_selector(IDLE)


async def one_session(browser, url: str, me: Patient, everyone: list[Patient]) -> SessionResult:
    """Open the app, upload ``me``, wait for its chart; check that only ``me`` is on the page."""
    res = SessionResult(me.name)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        t0 = time.perf_counter()
        await page.goto(url)
        await page.locator(TRACE_DRAWN).first.wait_for()
        res.first_chart_s = time.perf_counter() - t0
        await _wait_idle(page)
        t0 = time.perf_counter()
        await page.locator(MAIN_UPLOAD).set_input_files(
            [str(p) for p in me.files])
        await page.get_by_text(f"upload “{me.name}.hea”").first.wait_for()
        await page.locator(".js-plotly-plot .annotation-text").filter(has_text="(gen").first.wait_for()
        await _wait_idle(page)
        res.chart_s = time.perf_counter() - t0
        text = await page.locator('[data-testid="stMain"]').inner_text()
        res.own_record = me.name in text and f"Age {me.age} y" in text and me.finding in text
        res.others_seen = [p.name for p in everyone if p is not me and (p.name in text or p.finding in text)]
        drawn = np.asarray(await page.evaluate(FIRST_LEAD_I_JS), dtype=float)
        res.max_abs_diff_mv = float(np.abs(drawn - me.lead_i[: drawn.size]).max())
    except Exception as exc:  # noqa: BLE001 - reported per session, the others go on
        res.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        await context.close()
    return res


async def _sessions(url: str, patients: list[Patient]) -> list[SessionResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            return list(await asyncio.gather(*(one_session(browser, url, me, patients) for me in patients)))
        finally:
            await browser.close()


def run_sessions(url: str, patients: list[Patient]) -> list[SessionResult]:
    """One browser, one context per patient, all at once; results in the order of ``patients``."""
    return asyncio.run(_sessions(url, patients))


async def _long_session(server: Server, files: list[Path]) -> tuple[float, float, float, tuple[float, float]]:
    """Upload a long record, wait for its first segment, open the next; (open s, shown s, next s, (RSS, peak) MiB)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(server.url)
            await page.locator(TRACE_DRAWN).first.wait_for()
            await _wait_idle(page)
            t0 = time.perf_counter()
            await page.locator(MAIN_UPLOAD).set_input_files(
                [str(f) for f in files])
            await page.get_by_text(f"upload “{files[0].name}”").first.wait_for()
            opened = time.perf_counter() - t0  # transferred, decoded and summarised
            await page.get_by_text("segments of").first.wait_for()
            await page.locator(".js-plotly-plot .annotation-text").filter(has_text="(gen").first.wait_for()
            await _wait_idle(page)
            shown = time.perf_counter() - t0
            t0 = time.perf_counter()  # the next segment
            await page.get_by_label(re.compile("^Segment")).first.click()
            await page.get_by_role("option").nth(1).click()
            await page.get_by_text("Chart times count from the segment start (0:05:00)").first.wait_for()
            await _wait_idle(page)
            next_s = time.perf_counter() - t0
            return opened, shown, next_s, server.memory_mb()  # measured with the session still open
        finally:
            await browser.close()


# ------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--long-hours", type=float, default=24.0)
    ap.add_argument("--no-long", action="store_true")
    ap.add_argument("--release-wait", type=float, default=120.0,
                    help="seconds to wait for the long session's record to be released")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"memory {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB")
    with tempfile.TemporaryDirectory(prefix="l2g-bench-") as tmp:
        work = Path(tmp)
        server = start_server(work)
        try:
            rss, hwm = server.memory_mb()
            print(f"server healthy after {server.started_s:.2f} s; RSS {rss:.0f} MiB (peak {hwm:.0f})")
            for r in range(args.rounds):
                patients = write_patients(work / f"round{r}", args.sessions, tag=f"r{r}")
                t0 = time.perf_counter()
                results = run_sessions(server.url, patients)
                wall = time.perf_counter() - t0
                rss, hwm = server.memory_mb()
                print(f"round {r + 1}: {args.sessions} sessions at once, {wall:.1f} s wall; "
                      f"server RSS {rss:.0f} MiB (peak {hwm:.0f}); model loads so far: {server.model_loads()}; "
                      f"sessions ended and released: {server.released()}")
                for res in results:
                    print(f"  {res.name:18s} first chart {res.first_chart_s:5.2f} s · own chart {res.chart_s:5.2f} s"
                          f" · own record only: {res.own_record and not res.others_seen}"
                          f" · |lead I drawn - own| max {res.max_abs_diff_mv:.2g} mV"
                          + (f" · others seen {res.others_seen}" if res.others_seen else "")
                          + (f" · ERROR {res.error}" if res.error else ""))
            leftovers = sorted(p.name for p in server.tmpdir.iterdir())
            print(f"server TMPDIR after the sessions: {leftovers or 'empty'}")
            if not args.no_long:
                files = write_long_record(work / "long", args.long_hours)
                size = sum(f.stat().st_size for f in files) / 2**20
                before, _ = server.memory_mb()
                opened, shown, next_s, (rss, hwm) = asyncio.run(_long_session(server, files))
                print(f"{args.long_hours:g}-h two-lead record ({size:.0f} MiB upload): open after {opened:.1f} s "
                      f"(upload + decode), first segment shown after {shown:.1f} s, the next segment {next_s:.1f} s; "
                      f"server RSS {rss:.0f} MiB (peak {hwm:.0f}) with that session open")
                # the browser is closed: the session's record is released on disconnect (dashboard.state)
                waited = server.wait_released(args.rounds * args.sessions + 1, args.release_wait)
                rss, _ = server.memory_mb()
                print(f"after that browser closed: record released after {waited:.1f} s; server RSS {rss:.0f} MiB "
                      f"({rss - before:+.0f} MiB against before the upload)")
            print(f"model loads in the server log: {server.model_loads()}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
