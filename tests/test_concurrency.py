"""Five browser sessions at once on one ``streamlit run app.py`` (Playwright with Debian's Chromium).

Each context uploads its own record (distinct name, age, diagnosis and amplitude) and must see
only that record: its name, age and diagnosis in the page, none of the others', and its own
lead-I values in the chart. The model is loaded once for all of them (one ``l2g: loaded the
... reconstructor`` line in the server log); each closed context's record is released (``l2g: a
session ended`` lines); the server's memory is read from /proc and printed;
no patient name or diagnosis reaches the server log; nothing is left in the server's TMPDIR; the
server answers on localhost only. The sessions are those of ``bench/concurrency.py``.

Every wait is for an element or a state of the page, never for a fixed time.
Skipped, with the reason, when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Streamlit server and Chromium per test

SESSIONS = 5
PEAK_LIMIT_MB = 2048  # the server's peak resident memory with five 10-s records (measured ~0.5-0.6 GiB)

if not Path("/usr/bin/chromium").exists():
    pytest.skip("/usr/bin/chromium not found: the browser tests need Debian's chromium (`apt-get install chromium`)",
                allow_module_level=True)
pytest.importorskip("playwright.async_api", reason="playwright is not installed")

from bench.concurrency import run_sessions, start_server, write_patients  # noqa: E402 - after the skips


def _non_loopback_address() -> str | None:
    """An address of this machine other than loopback (None when it has none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_five_sessions_at_once_each_see_only_their_own_record(tmp_path: Path) -> None:
    patients = write_patients(tmp_path / "records", SESSIONS)
    server = start_server(tmp_path / "server")
    try:
        rss0, _ = server.memory_mb()
        results = run_sessions(server.url, patients)  # each context is closed at its end
        released_s = server.wait_released(SESSIONS)
        rss, peak = server.memory_mb()
        log = server.log_text()
        loads = server.model_loads()
        leftovers = sorted(p.name for p in server.tmpdir.iterdir())
        outside = _non_loopback_address()
        if outside is not None:
            with socket.socket() as s:
                s.settimeout(5)
                refused = s.connect_ex((outside, server.port)) != 0
    finally:
        server.stop()
    print(f"\n{SESSIONS} sessions: server RSS {rss0:.0f} MiB at start, {rss:.0f} MiB after (peak {peak:.0f}); "
          f"seconds from upload to own chart: {', '.join(f'{r.chart_s:.1f}' for r in results)}; "
          f"records released {released_s:.1f} s after the last context closed")
    for res, me in zip(results, patients, strict=True):
        assert not res.error, f"{me.name}: {res.error}"
        assert res.own_record, f"{me.name}: its name, age or diagnosis is missing from its page"
        assert res.others_seen == [], f"{me.name} saw {res.others_seen}"
        assert res.max_abs_diff_mv < 1e-4, f"{me.name}: the chart does not show its lead I"
    # the records differ, so matching values mean each chart shows its own record
    assert min(np.abs(a.lead_i[:200] - b.lead_i[:200]).max() for a in patients for b in patients if a is not b) > 0.01
    assert loads == ["model"], f"model loaded {len(loads)} times: {loads}"
    assert np.isfinite(released_s), "the closed sessions did not release their records within 60 s"
    for me in patients:
        assert me.name not in log and me.finding not in log, f"{me.name} appears in the server log"
    assert leftovers == [], f"left in the server's TMPDIR: {leftovers}"
    assert peak < PEAK_LIMIT_MB
    if outside is None:
        pytest.skip("no non-loopback address here: the localhost binding was not checked")
    assert refused, f"the server answers on {outside}: it should bind to localhost only"
