"""SPH-style HDF5 files (dataset ``ecg``, shape (12, N), mV)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..leads import LEADS
from ..record import Diagnosis
from ._common import (
    _HDF5_MAGIC,
    _check_length,
    _Info,
    _is_number,
    _parse_age,
    _parse_sex,
    _snomed_diagnoses,
    _split_codes,
    raw_from_channels,
)
from ._raw import RawECG, Reader

#: Sampling rate (Hz) assumed for SPH HDF5 files when neither ``fs`` nor metadata.csv gives one.
SPH_FS: float = 500.0


# ================================================================== HDF5
def read(path: Path) -> RawECG:
    """SPH-style HDF5: dataset ``ecg`` of shape (12, N) in mV, rows I, II, III, aVR, aVL, aVF, V1-V6."""
    import h5py

    file = str(path)
    try:
        with h5py.File(path, "r") as h5:
            if "ecg" not in h5 or not isinstance(h5["ecg"], h5py.Dataset):
                raise ValueError(f"{file}: no dataset 'ecg' (found {sorted(h5.keys())}); "
                                 "expected an SPH-style HDF5 file")
            ds = h5["ecg"]
            if len(ds.shape) == 2:
                _check_length(file, int(ds.shape[1]))
            signal = np.asarray(ds[()], dtype=np.float64)
            attr_fs = ds.attrs.get("fs", h5.attrs.get("fs"))
    except OSError as exc:
        raise ValueError(f"{file}: h5py cannot read it ({exc}); expected an HDF5 file") from exc
    if signal.ndim != 2 or signal.shape[0] != len(LEADS):
        raise ValueError(f"{file}: dataset 'ecg' has shape {signal.shape}; expected (12, samples)")
    info, meta_fs = _sph_metadata(path)
    file_fs = float(attr_fs) if attr_fs is not None else meta_fs
    return raw_from_channels(file, LEADS, signal, file_fs, fmt="HDF5 (SPH)", info=info, default_fs=SPH_FS)


def _sph_metadata(path: Path) -> tuple[_Info, float | None]:
    """Age, sex, diagnoses and fs for ``path`` from the SPH ``metadata.csv`` beside it, if any."""
    info = _Info()
    table = path.with_name("metadata.csv")
    if not table.is_file():
        return info, None
    with open(table, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            ident = (row.get("ECG_ID") or "").strip()
            if ident not in (path.name, path.stem):
                continue
            info.age = _parse_age(row.get("Age") or "", str(table))
            info.sex = _parse_sex(row.get("Sex") or "")
            aha = _split_codes(row.get("AHA_Code") or "")
            info.diagnoses += [Diagnosis(code=c, name="", system="AHA") for c in aha]
            info.diagnoses += _snomed_diagnoses(row.get("SNOMEDCTCode") or "")
            used = {"ECG_ID", "Age", "Sex", "AHA_Code", "SNOMEDCTCode", "fs"}
            info.fields.update({k: v.strip() for k, v in row.items() if k and k not in used and v and v.strip()})
            rate = (row.get("fs") or "").strip()
            return info, float(rate) if _is_number(rate) and float(rate) > 0 else None
    return info, None


def sniff(head: bytes, path: Path) -> bool:
    """Whether ``head`` starts an HDF5 file (its 8-byte signature)."""
    return head[:8] == _HDF5_MAGIC


READER = Reader(name="hdf5", kind="HDF5 (SPH)", suffixes=(".h5", ".hdf5"), sniff=sniff, read=read,
                companions=(".hdf",))
