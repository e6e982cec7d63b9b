"""The dashboard's limits: upload size, the longest stretch shown at once, the longest record kept open.

A record longer than :data:`dashboard.state.MAX_INTERACTIVE_S` is reconstructed, scored, drawn and
exported one segment at a time; one longer than :data:`dashboard.state.MAX_RECORD_SAMPLES` is refused.
Memory for a 24-h record is measured by ``bench/concurrency.py`` (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import io
import json
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb
from streamlit.testing.v1 import AppTest

from dashboard import state
from l2g import reconstruction as reconstruct_module
from l2g.io import MAX_UPLOAD_BYTES
from l2g.record import Record
from tests.ecg_factory import synthetic_record

from .app_helpers import upload, wfdb_files

REPO = Path(__file__).resolve().parents[1]


def two_lead_record(minutes: float, fs: float = 250.0, name: str = "long") -> Record:
    """Leads I and II, ``minutes`` long: a 60-s synthetic ECG repeated (cheap to build at any length)."""
    base = synthetic_record(duration_s=60.0, fs=fs, seed=7).signal[:2]
    reps = int(np.ceil(minutes))
    x = np.tile(base, (1, reps))[:, : int(round(minutes * 60 * fs))]
    x = x + np.linspace(0.0, 0.2, x.shape[1], dtype=np.float32)  # a slow drift: each segment differs
    return Record(x, fs, ("I", "II"), name=name)


def upload_wfdb(app: AppTest, rec: Record, directory: Path) -> AppTest:
    return upload(app, wfdb_files(rec, directory, rec.name))


def test_segments_cover_the_record_and_each_is_max_interactive_long() -> None:
    limit = state.MAX_INTERACTIVE_S
    short = two_lead_record(limit / 60)
    assert short.segment_bounds(limit) == ((0.0, short.duration),)
    part, key = state.segment(short, "d", 0)
    assert part is short and key == "d"
    rec = two_lead_record(12.0)  # 720 s: 0-300, 300-600, 420-720
    assert rec.segment_bounds(limit) == ((0.0, 300.0), (300.0, 600.0), (420.0, 720.0))
    with pytest.raises(ValueError, match="segment 3 does not exist"):
        rec.segment(3, limit)
    part, key = state.segment(rec, "d", 2)
    assert part.duration == pytest.approx(limit) and key == "d@420"
    np.testing.assert_array_equal(part.lead("I"), rec.lead("I")[int(420 * rec.fs):])
    assert part.meta.fields["Segment"] == "420-720 s of long (720 s)"


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
def test_a_long_record_is_computed_and_shown_one_segment_at_a_time(at: AppTest, tmp_path: Path, downloads,
                                                                    monkeypatch) -> None:
    lengths: list[float] = []
    real = reconstruct_module.reconstruct

    def spy(record, *args, **kwargs):
        lengths.append(record.duration)
        return real(record, *args, **kwargs)

    monkeypatch.setattr(reconstruct_module, "reconstruct", spy)
    rec = two_lead_record(12.0)
    upload_wfdb(at, rec, tmp_path)
    box = at.selectbox(key="segment")
    assert box.options == ["0:00:00 – 0:05:00", "0:05:00 – 0:10:00", "0:07:00 – 0:12:00"]
    assert any("shown in 3 segments of 5 min" in c.value for c in at.caption)
    assert lengths and max(lengths) <= state.MAX_INTERACTIVE_S + 1e-9  # never the whole record
    assert any("720.0 s" in m.value for m in at.markdown if m.value.startswith("#### "))  # summary: whole record
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    xs = [t["x0"] for t in spec["data"] if "x0" in t]
    assert xs and 0.0 <= min(xs) and max(xs) < 10.0  # a 10-s window of the segment
    assert {t["name"] for t in spec["data"] if t.get("name")} >= {"recorded (input)"}

    box.set_value(2).run()
    assert not at.exception, at.exception
    assert max(lengths) <= state.MAX_INTERACTIVE_S + 1e-9
    at.slider(key="t0").set_value(290.0).run()  # the window slider spans the segment
    assert not at.exception, at.exception
    with zipfile.ZipFile(io.BytesIO(downloads["long_420-720s_l2g.zip"])) as zf:
        zf.extractall(tmp_path / "out")
    back = wfdb.rdrecord(str(tmp_path / "out" / "long"))
    assert back.sig_len == int(state.MAX_INTERACTIVE_S * rec.fs)
    assert "Segment: 420-720 s of long (720 s)" in back.comments
    k = back.sig_name.index("I")
    np.testing.assert_allclose(back.p_signal[:, k], rec.lead("I")[int(420 * rec.fs):], atol=2e-3)
    assert "long_420-720s_l2g.csv" in downloads


def test_a_record_beyond_the_dashboard_limit_is_refused(at: AppTest, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(state, "MAX_RECORD_SAMPLES", 4000)
    upload_wfdb(at, synthetic_record(duration_s=10.0, name="toolong"), tmp_path)  # 5000 samples
    assert len(at.error) == 1
    message = at.error[0].value
    assert "toolong" in message and "is longer than the 4,000 samples" in message and "l2g reconstruct" in message
    assert "not decoded" in message  # refused from the header, before the signal was read
    assert "demo" in next(m.value for m in at.markdown if m.value.startswith("#### "))


def test_upload_limit_and_binding_are_set_in_the_streamlit_config() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_UPLOAD_BYTES
    assert state.MAX_RECORD_SAMPLES == 24 * 3600 * 500
