"""l2g.io on every real record in ../shared/data (read in place; skipped when absent)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest
import wfdb

from l2g.io import read_record, write_wfdb
from l2g.leads import LEADS

pytestmark = pytest.mark.shared_data

# dataset -> (glob of the files read_record is given, exact number of records, expected fs values, format)
DATASETS = {
    "ludb": ("ludb/data/*.hea", 200, {500.0}, "wfdb"),
    "cinc2021": ("cinc2021/*/*.hea", 186, {500.0, 1000.0}, "wfdb-mat"),
    "cinc2020_extra": ("cinc2020_extra/*.hea", 21, {500.0}, "wfdb-mat"),
    "ptbxl_cinc2024": ("ptbxl_cinc2024/*.hea", 31, {500.0}, "wfdb"),
    "sph": ("sph/*.h5", 10, {500.0}, "hdf5"),
}
UV = 1e-3  # mV


def _files(shared_data: Path, dataset: str) -> list[Path]:
    pattern, count, _, _ = DATASETS[dataset]
    files = sorted(shared_data.glob(pattern))
    assert len(files) == count, f"{dataset}: expected {count} records, found {len(files)}"
    return files


def _reference(path: Path) -> np.ndarray:
    """The file's samples in mV, (12, N), read directly with wfdb / h5py."""
    if path.suffix == ".h5":
        with h5py.File(path, "r") as h5:
            return np.asarray(h5["ecg"][()], dtype=np.float64)
    raw = wfdb.rdrecord(str(path.with_suffix("")))
    assert [u.lower() for u in raw.units] == ["mv"] * 12
    return raw.p_signal.T


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_shared_record_reads(shared_data: Path, dataset: str) -> None:
    _, _, rates, fmt = DATASETS[dataset]
    for path in _files(shared_data, dataset):
        rec = read_record(path)  # PTB-XL codes age > 89 as 300: a note, not a warning
        assert rec.name == path.stem and rec.source_format == fmt
        assert rec.fs in rates, path
        assert rec.leads == LEADS and rec.recorded_leads == LEADS, path
        assert rec.signal.shape == (12, rec.n_samples) and 5 <= rec.duration <= 120, path
        assert np.isfinite(rec.signal).all() and np.abs(rec.signal).max() < 50, path
        assert np.allclose(rec.signal, _reference(path), atol=1e-5), path
        if dataset != "sph":
            assert rec.meta.sex in ("M", "F"), path
            assert rec.meta.diagnoses, path


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_shared_record_survives_write_wfdb(shared_data: Path, dataset: str, tmp_path: Path) -> None:
    for path in _files(shared_data, dataset):
        rec = read_record(path)
        hea = write_wfdb(rec, tmp_path)
        raw = wfdb.rdrecord(str(hea.with_suffix("")))
        assert raw.sig_name == list(LEADS), path
        assert np.abs(raw.p_signal.T - rec.signal).max() <= UV, path
        back = read_record(hea)
        # notes are about reading the source file (e.g. PTB-XL's age 300), not part of the record written
        same = dataclasses.replace(back.meta, notes=()) == dataclasses.replace(rec.meta, notes=())
        assert same and back.status == rec.status and back.fs == rec.fs, path
        hea.unlink()
        hea.with_suffix(".dat").unlink()


def test_known_metadata(shared_data: Path) -> None:
    ludb = read_record(shared_data / "ludb" / "data" / "1")
    assert (ludb.meta.age, ludb.meta.sex) == (51.0, "F")
    assert ludb.meta.diagnoses[0].name == "Rhythm: Sinus bradycardia."
    ptb = read_record(shared_data / "cinc2021" / "ptb" / "S0001.hea")
    assert ptb.fs == 1000 and ptb.n_samples == 38400 and ptb.meta.age == 81
    assert [d.label() for d in ptb.meta.diagnoses] == ["low qrs voltages (251146004)", "sinus rhythm (426783006)"]
    georgia = read_record(shared_data / "cinc2021" / "georgia" / "E00001.mat")
    assert georgia.meta.age is None and georgia.meta.sex == "F"  # "#Age: NaN"
    ptbxl = read_record(shared_data / "ptbxl_cinc2024" / "00841_hr.hea")
    assert [d.code for d in ptbxl.meta.diagnoses] == ["STTC", "HYP", "PVC"]
    sph = read_record(shared_data / "sph" / "SPH00007.h5")
    assert sph.meta.age == 75 and [d.code for d in sph.meta.diagnoses] == ["106", "59118001"]
    unlabelled = read_record(shared_data / "sph" / "SPH00005.h5")  # no row in metadata.csv
    assert unlabelled.fs == 500 and unlabelled.meta.diagnoses == ()


def test_shared_record_uploaded_as_bytes(shared_data: Path) -> None:
    hea = shared_data / "cinc2021" / "georgia" / "E07500.hea"
    uploads = [(p.name, p.read_bytes()) for p in (hea, hea.with_suffix(".mat"))]
    assert read_record(uploads) == read_record(hea)
