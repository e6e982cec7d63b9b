"""Export bytes: WFDB zip and CSV round trips, and the image export's browser handling."""

from __future__ import annotations

import io
import zipfile

import pytest

from l2g import export
from l2g.io import read_record
from l2g.leads import LEADS
from l2g.record import GENERATED, Provenance
from tests.ecg_factory import synthetic_record


def generated_record():
    rec = synthetic_record(duration_s=4.0, seed=5, name="pt 1/a")
    status = tuple(GENERATED if lead.startswith("V") else "recorded" for lead in LEADS)
    meta = rec.meta.__class__(provenance=Provenance("model", "l2g.pt@abc", ("I", "II")))
    return rec.replace(status=status, meta=meta)


def test_wfdb_zip_round_trip_keeps_generated_status() -> None:
    rec = generated_record()
    data = export.wfdb_zip_bytes(rec)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["pt_1_a.dat", "pt_1_a.hea"]
    back = read_record([("export.zip", data)])
    assert back.status == rec.status
    assert back.meta.provenance is not None and back.meta.provenance.available == ("I", "II")
    assert abs(back.signal - rec.signal).max() < 1e-3


def test_csv_bytes_mark_generated_columns() -> None:
    rec = generated_record()
    lines = export.csv_bytes(rec).decode().splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    assert comments == [f"# {c}" for c in export.provenance_lines(rec)] and lines[: len(comments)] == comments
    assert any("generated from: I,II by model l2g.pt@abc" in c for c in comments)
    header = lines[len(comments)].split(",")
    assert header[:3] == ["time_s", "I", "II"] and "V1_generated" in header
    assert len(lines) == len(comments) + 1 + 2000
    back = read_record([("export.csv", "\n".join(lines).encode())])  # the comment lines are read back
    assert back.status == rec.status and back.meta.provenance == rec.meta.provenance
    assert export.provenance_lines(synthetic_record(duration_s=1.0)) == []  # nothing generated: a plain CSV


def test_safe_name() -> None:
    assert export.safe_name("pt 1/a") == "pt_1_a" and export.safe_name("///") == "record"


def test_no_browser_gives_a_clear_error(monkeypatch) -> None:
    import plotly.graph_objects as go

    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert export.browser_path() is None
    with pytest.raises(export.ImageExportUnavailable, match="Chromium"):
        export.figure_images(go.Figure())


def test_browser_found_on_path(monkeypatch, tmp_path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert export.browser_path() == str(fake)
