"""Property-based round trips (hypothesis): any valid Record survives the writers and the reader.

A record drawn at random (any non-empty subset of the 12 leads recorded or generated, the others absent
as all-NaN rows; 2 to 3000 samples; a plausible sampling rate; amplitudes within ±10 mV; age and sex)
is written with ``write_wfdb`` or ``write_csv`` and read back with ``read_record``: same rate, length,
lead statuses and name, every sample within 1 µV, and for WFDB the same metadata. Uploads of the written
files read back the same record as the path.

Run: ``.venv/bin/python -m pytest tests/test_roundtrip_property.py``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from l2g.io import read_record, write_csv, write_wfdb
from l2g.leads import LEADS
from l2g.record import ABSENT, GENERATED, RECORDED, Metadata, Record

UV = 1e-3  # 1 µV in mV
#: Rates of real ECG files (Holter 128/256, MIT-BIH 360, PTB 1000, ...).
RATES = (100.0, 125.0, 128.0, 200.0, 250.0, 256.0, 257.0, 360.0, 400.0, 500.0, 1000.0)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def records(draw: st.DrawFn) -> Record:
    """A valid 12-lead Record: random statuses (at least one lead present), samples, rate and metadata."""
    status = draw(st.lists(st.sampled_from((RECORDED, GENERATED, ABSENT)), min_size=12, max_size=12)
                  .filter(lambda s: any(x != ABSENT for x in s)))
    n = draw(st.integers(2, 12) | st.integers(2, 3000))  # short records too: the rate must survive them
    values = st.floats(-10.0, 10.0, allow_nan=False, allow_subnormal=False, width=32)
    signal = draw(arrays(np.float32, (12, n), elements=values))
    signal[[k for k, s in enumerate(status) if s == ABSENT]] = np.nan
    meta = Metadata(age=draw(st.none() | st.integers(0, 130).map(float)), sex=draw(st.sampled_from((None, "M", "F"))))
    name = draw(st.from_regex(r"[A-Za-z0-9_]{1,12}", fullmatch=True))
    return Record(signal, draw(st.sampled_from(RATES)), LEADS, tuple(status), name=name, meta=meta)


def read_quietly(source) -> Record:
    """read_record without the plausibility notes that random samples earn (flat, saturated).

    The notes name the file read (a temporary path, or the upload's name), so they are not
    part of what must round-trip.
    """
    rec = read_record(source)
    return rec.replace(meta=dataclasses.replace(rec.meta, notes=()))


def assert_same_samples(back: Record, rec: Record) -> None:
    assert back.leads == LEADS and back.status == rec.status
    assert (back.fs, back.n_samples, back.name) == (rec.fs, rec.n_samples, rec.name)
    present = [k for k, s in enumerate(rec.status) if s != ABSENT]
    assert np.isnan(np.delete(back.signal, present, axis=0)).all()
    assert np.abs(back.signal[present] - rec.signal[present]).max() <= UV


@SETTINGS
@given(rec=records())
def test_wfdb_round_trip(rec: Record) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hea = write_wfdb(rec, tmp)
        back = read_quietly(hea)
        uploaded = read_quietly([(p.name, p.read_bytes()) for p in (hea, hea.with_suffix(".dat"))])
    assert_same_samples(back, rec)
    assert back.meta == rec.meta
    assert uploaded == back


def short(fs: float) -> Record:
    """Two samples of lead I: the rate must still come back from the CSV's time column."""
    signal = np.full((12, 2), np.nan, np.float32)
    signal[0] = [0.1, -0.2]
    return Record(signal, fs, LEADS, name="short")


@SETTINGS
@given(rec=records())
@example(rec=short(360.0))  # time written with 6 decimals gave back 359.97 Hz
@example(rec=short(128.0))
def test_csv_round_trip(rec: Record) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(rec, Path(tmp) / f"{rec.name}.csv")
        back = read_quietly(path)
        uploaded = read_quietly([(path.name, path.read_bytes())])
    assert_same_samples(back, rec)
    assert uploaded == back
