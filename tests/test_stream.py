"""Long (Holter) records streamed in chunks (l2g.stream) against the whole-record path of l2g.scale.

A synthetic 12-lead 500 Hz WFDB record of 12 minutes (a 10-s synthetic ECG tiled, with noise) goes through
:func:`l2g.scale.process_record` twice: streamed (``stream_over`` 600 s, 2-min chunks) and whole
(``stream_over=None``, the same chunks inside :func:`l2g.reconstruct`). The exports are the same bytes; the
peak memory of streaming does not grow with the record's length (the whole path's does).
"""

from __future__ import annotations

import filecmp
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from l2g.io import ranged_source, read_record, read_span
from l2g.leads import LEADS
from l2g.reconstruction import chunk_spans
from l2g.scale import ReconstructJob, load_worker, process_record
from l2g.stream import STREAM_OVER_S, merge_chunk_fields, stream_source

from .ecg_factory import synthetic_record
from .weights import shipped

FS = 500.0


def _write_long(folder: Path, minutes: float, name: str = "holter", seed: int = 0) -> Path:
    """A 12-lead WFDB record of ``minutes`` at 500 Hz (format 16), written with wfdb.wrsamp; its ``.hea``."""
    import wfdb

    beat = synthetic_record(duration_s=10.0, fs=FS, seed=seed).signal
    x = np.tile(beat, (1, int(round(minutes * 6))))
    x = x + np.random.default_rng(seed).normal(0.0, 0.01, x.shape)
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=FS, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x.T, fmt=["16"] * 12,
                write_dir=str(folder))
    return folder / f"{name}.hea"


def _task(hea: Path) -> dict:
    return {"record_id": hea.stem, "path": str(hea), "dest": ".", "previous_digest": "", "previous_outputs": []}


def _run(hea: Path, out: Path, method: str = "linear", **options) -> dict:
    shipped("linear.pt" if method == "linear" else "l2g.pt")
    job = ReconstructJob(hea.parent, out, ("I", "II", "V2"), method=method, **options)
    model, calibration = load_worker(job)
    return process_record(_task(hea), job, model, calibration)


@pytest.fixture(scope="module")
def holter(tmp_path_factory) -> Path:
    """A 12-minute 12-lead 500 Hz WFDB record (360,000 samples per lead)."""
    return _write_long(tmp_path_factory.mktemp("holter"), 12.0)


def test_chunk_spans_cover_the_record_with_margins():
    spans = chunk_spans(360_000, FS, 120.0)
    assert [(a, b) for a, b, _, _ in spans] == [(k * 60_000, (k + 1) * 60_000) for k in range(6)]
    assert all(lo == max(0, a - 5000) and hi == min(360_000, b + 5000) for a, b, lo, hi in spans)
    assert chunk_spans(1000, FS, 120.0) == [(0, 1000, 0, 1000)]
    with pytest.raises(ValueError, match="positive chunk length"):
        chunk_spans(1000, FS, 0.0)


def test_ranged_read_equals_the_whole_read(tmp_path):
    hea = _write_long(tmp_path, 1.0)
    assert ranged_source(hea)[::2] == ("wfdb", 30_000)
    whole = read_record(hea)
    part = read_span(hea, 12_345, 19_001)
    assert part.n_samples == 19_001 - 12_345 and part.fs == whole.fs and part.name == whole.name
    assert np.array_equal(part.signal, whole.signal[:, 12_345:19_001], equal_nan=True)
    with pytest.raises(ValueError, match=r"holter\.hea: samples 0:30001 requested; expected 0 <= start < stop"):
        read_span(hea, 0, 30_001)


def test_edf_ranged_read_equals_the_whole_read(tmp_path):
    """EDF: only the data records holding the range are read; the values are the whole read's."""
    fs, n = 250, 250 * 70 + 100  # a last data record padded with zeros
    x = np.random.default_rng(1).normal(0.0, 1.0, (3, n))
    path = tmp_path / "long.edf"
    _write_edf(path, x, ["I", "II", "V2"], spr=fs)
    whole = read_record(path)
    assert ranged_source(path)[::2] == ("edf", whole.n_samples)
    part = read_span(path, 1234, 9876)
    assert np.array_equal(part.signal, whole.signal[:, 1234:9876], equal_nan=True)
    assert part.present_leads == ("I", "II", "V2")


def test_ishne_ranged_read_equals_the_whole_read(tmp_path):
    """ISHNE Holter: the trailing pad rows are cropped from the extent; a range reads the whole read's values."""
    from .test_io_binary import ISHNE_FILE, ishne_bytes

    x = np.random.default_rng(4).integers(-2000, 2000, (3000, 3))
    x[1500, 1] = -32768  # an invalid sample: NaN in both reads
    x[-40:] = -32768  # the writer's padding
    path = tmp_path / "h.ecg"
    path.write_bytes(ishne_bytes(x, [5, 6, 11]))  # I, II, V1
    assert ranged_source(path)[::2] == ("ishne", 2960)
    whole = read_record(path, nan_policy="interpolate")
    part = read_span(path, 1000, 2960, nan_policy="interpolate")
    assert np.array_equal(part.signal, whole.signal[:, 1000:2960], equal_nan=True)
    assert any("1 samples of invalid value" in n for n in part.meta.notes)
    if ISHNE_FILE.is_file():  # the real ISHNE file of ../shared/clinical (95.6 s, 12 leads, 1000 Hz)
        whole = read_record(ISHNE_FILE)
        assert ranged_source(ISHNE_FILE)[2:] == (95_573, 1000.0)
        assert np.array_equal(read_span(ISHNE_FILE, 40_000, 70_000).signal, whole.signal[:, 40_000:70_000])


@pytest.mark.slow
def test_streamed_wfdb_is_the_bytes_of_the_whole_path(holter, tmp_path):
    streamed = _run(holter, tmp_path / "s", chunk_s=120.0)
    whole = _run(holter, tmp_path / "w", chunk_s=120.0, stream_over=None)
    assert streamed["status"] == whole["status"] == "ok", (streamed["error"], whole["error"])
    assert streamed["outputs"] == whole["outputs"] == ["holter.hea", "holter.dat"]
    for f in streamed["outputs"]:
        assert filecmp.cmp(tmp_path / "s" / f, tmp_path / "w" / f, shallow=False), f
    assert any(n.startswith("streamed: 720 s read by the wfdb reader in chunks of 120 s") for n in streamed["notes"])
    assert not any("stream" in n for n in whole["notes"])
    for key in ("fs", "duration_s", "statuses", "generated_leads"):
        assert streamed[key] == whole[key], key
    assert len(streamed["grades"]) == len(streamed["generated_leads"]) == 9
    assert streamed["worst_grade"] == max(streamed["grades"])
    assert streamed["leadcheck_flags"] is not None  # three recorded leads: checked in every chunk

    import wfdb

    back = wfdb.rdrecord(str(tmp_path / "s" / "holter"))
    assert back.sig_len == 360_000 and back.fmt == ["16"] * 12
    assert np.array_equal(back.p_signal, wfdb.rdrecord(str(tmp_path / "w" / "holter")).p_signal)
    assert read_record(tmp_path / "s" / "holter.hea").generated_leads == tuple(streamed["generated_leads"])


@pytest.mark.slow
def test_streamed_generator_output_is_the_bytes_of_the_whole_path(tmp_path):
    """The generator (weights/l2g.pt), not only the linear baseline: the same windows, the same bytes."""
    hea = _write_long(tmp_path / "in", 2.5)
    streamed = _run(hea, tmp_path / "s", method="model", stream_over=60.0, chunk_s=50.0)
    whole = _run(hea, tmp_path / "w", method="model", stream_over=None, chunk_s=50.0)
    assert streamed["status"] == whole["status"] == "ok", (streamed["error"], whole["error"])
    assert streamed["method"] == "model"
    for f in ("holter.hea", "holter.dat"):
        assert filecmp.cmp(tmp_path / "s" / f, tmp_path / "w" / f, shallow=False), f


@pytest.mark.slow
def test_streamed_csv_is_the_bytes_of_the_whole_path(tmp_path):
    hea = _write_long(tmp_path / "in", 3.0)
    streamed = _run(hea, tmp_path / "s", fmt="csv", stream_over=60.0, chunk_s=50.0)
    whole = _run(hea, tmp_path / "w", fmt="csv", stream_over=None, chunk_s=50.0)
    assert streamed["status"] == whole["status"] == "ok", (streamed["error"], whole["error"])
    assert filecmp.cmp(tmp_path / "s" / "holter.csv", tmp_path / "w" / "holter.csv", shallow=False)


@pytest.mark.slow
def test_streamed_band_is_written_beside_the_record(tmp_path):
    hea = _write_long(tmp_path / "in", 2.0)
    row = _run(hea, tmp_path / "s", interval=0.9, stream_over=60.0, chunk_s=40.0)
    assert row["status"] == "ok", row["error"]
    assert row["outputs"] == ["holter.hea", "holter.dat", "holter_band.hea", "holter_band.dat"]
    import wfdb

    band = wfdb.rdrecord(str(tmp_path / "s" / "holter_band"))
    assert band.sig_len == 60_000 and band.sig_name[:2] == ["III_low", "III_high"]
    assert (band.p_signal[:, 1] >= band.p_signal[:, 0]).all()


@pytest.mark.slow
def test_a_long_edf_record_streams_to_the_bytes_of_the_whole_path(tmp_path):
    x = np.tile(synthetic_record(duration_s=10.0, fs=250.0, seed=2).signal[[0, 1, 7]], (1, 15))  # I, II, V2
    path = tmp_path / "in" / "long.edf"
    path.parent.mkdir()
    _write_edf(path, x, ["I", "II", "V2"], spr=250)
    streamed = _run(path, tmp_path / "s", stream_over=60.0, chunk_s=40.0)
    whole = _run(path, tmp_path / "w", stream_over=None, chunk_s=40.0)
    assert streamed["status"] == whole["status"] == "ok", (streamed["error"], whole["error"])
    assert any(n.startswith("streamed: 150 s read by the edf reader") for n in streamed["notes"])
    for f in ("long.hea", "long.dat"):
        assert filecmp.cmp(tmp_path / "s" / f, tmp_path / "w" / f, shallow=False), f


def test_dicom_of_a_streamed_record_is_a_row_error(tmp_path):
    hea = _write_long(tmp_path / "in", 1.5)
    row = _run(hea, tmp_path / "out", fmt="dicom", stream_over=60.0)
    assert row["status"] == "failed"
    assert "streamed in chunks" in row["error"] and "expected --format wfdb or csv" in row["error"]
    assert not list((tmp_path / "out").glob("*"))  # nothing half written


@pytest.mark.slow
def test_a_long_record_without_ranged_reads_is_read_whole_and_says_so(tmp_path):
    from l2g.io import write_csv

    rec = synthetic_record(duration_s=12.0, fs=FS, seed=3, name="long")
    write_csv(rec, tmp_path / "in" / "long.csv")
    row = _run(tmp_path / "in" / "long.csv", tmp_path / "out", stream_over=10.0)
    assert row["status"] == "ok", row["error"]
    assert any(n.startswith("not streamed: read whole (12 s; the csv reader reads this file whole only")
               for n in row["notes"])


def test_stream_source_threshold(tmp_path):
    hea = _write_long(tmp_path, 1.0)
    assert stream_source(hea, 30.0).n_samples == 30_000
    assert stream_source(hea, 60.0) is None  # not longer than the threshold
    assert stream_source(hea, None) is None
    assert STREAM_OVER_S == 600.0


def test_merge_rule_takes_the_worst_chunk():
    merged = merge_chunk_fields([{"grades": ["A"], "predicted_rmse_uv": [10.0], "leadcheck_note": "too few"},
                                 {"grades": ["C"], "predicted_rmse_uv": [5.0], "leadcheck_note": "too few"}], ["V1"])
    assert merged == {"grades": ["C"], "predicted_rmse_uv": [10.0], "worst_grade": "C", "leadcheck_note": "too few"}


def _peak_bytes(hea: Path, out: Path, **options) -> int:
    """Peak of the memory traced (numpy's arrays included) while :func:`process_record` runs, bytes."""
    shipped("linear.pt")
    job = ReconstructJob(hea.parent, out, ("I", "II", "V2"), method="linear", chunk_s=15.0, **options)
    model, calibration = load_worker(job)
    tracemalloc.start()
    try:
        row = process_record(_task(hea), job, model, calibration)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert row["status"] == "ok", row["error"]
    return peak


@pytest.mark.slow
def test_streaming_memory_does_not_grow_with_the_record(tmp_path):
    """A record 4x longer (1 and 4 min in 15-s chunks): streaming's peak grows by less than 15 %; the whole
    path's grows by more than half, which shows that the measure sees the record."""
    short, long = _write_long(tmp_path / "a", 1.0), _write_long(tmp_path / "b", 4.0)
    _peak_bytes(short, tmp_path / "warm", stream_over=30.0)  # first-use caches (calibration, filters) not counted
    s_short = _peak_bytes(short, tmp_path / "s1", stream_over=30.0)
    s_long = _peak_bytes(long, tmp_path / "s2", stream_over=30.0)
    w_short = _peak_bytes(short, tmp_path / "w1", stream_over=None)
    w_long = _peak_bytes(long, tmp_path / "w2", stream_over=None)
    print(f"peak traced memory, MB: streamed {s_short / 1e6:.1f} -> {s_long / 1e6:.1f}, "
          f"whole {w_short / 1e6:.1f} -> {w_long / 1e6:.1f}")
    assert s_long < 1.15 * s_short, (s_short, s_long)
    assert w_long > 1.5 * w_short, (w_short, w_long)


def _write_edf(path: Path, x: np.ndarray, labels: list[str], spr: int) -> None:
    """A minimal 16-bit EDF of signals ``x`` (mV, (signals, samples)), 1-s data records of ``spr`` samples."""
    ns, n = x.shape
    blocks = -(-n // spr)

    def f(value: object, width: int) -> bytes:
        return str(value).encode("latin-1")[:width].ljust(width)

    head = (f("0", 8) + f("X X X X", 80) + f("Startdate X", 80) + f("01.01.20", 8) + f("10.00.00", 8)
            + f(256 * (ns + 1), 8) + f("", 44) + f(blocks, 8) + f(1, 8) + f(ns, 4))
    head += b"".join(f(x, 16) for x in labels) + f("", 80) * ns + f("mV", 8) * ns
    head += f(-10, 8) * ns + f(10, 8) * ns + f(-32768, 8) * ns + f(32767, 8) * ns + f("", 80) * ns
    head += f(spr, 8) * ns + f("", 32) * ns
    digital = np.clip(np.round((x + 10.0) / (20.0 / 65535) - 32768), -32768, 32767).astype("<i2")
    digital = np.concatenate([digital, np.zeros((ns, blocks * spr - n), "<i2")], axis=1)
    body = digital.reshape(ns, blocks, spr).transpose(1, 0, 2).tobytes()
    path.write_bytes(head + body)


def test_cli_stream_options():
    from l2g.cli import build_parser

    parser = build_parser()
    base = ["reconstruct", "x", "--available", "I", "--out", "o"]
    args = parser.parse_args(base)
    assert (args.stream_over, args.chunk) == (STREAM_OVER_S, 300.0)
    assert parser.parse_args(base + ["--stream-over", "never", "--chunk", "60"]).stream_over is None
    assert parser.parse_args(base + ["--stream-over", "1800"]).stream_over == 1800.0
    with pytest.raises(SystemExit):
        parser.parse_args(base + ["--stream-over", "-5"])
