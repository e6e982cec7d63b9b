"""L2G-ECG: generate the missing leads of a 12-lead ECG from the leads that could be placed.

The public API is flat::

    import l2g
    rec = l2g.read_record("path/to/record.hea")
    full = l2g.reconstruct(rec, available=["I", "II", "V2"])
    scores = l2g.compare(rec, full, available=["I", "II", "V2"])   # one row per generated lead

Errors are typed and exported here (``l2g.MissingSamples``, ``l2g.CalibrationMismatch``, ...): catch them by
class, never by the text of their message. Heavy modules (torch) are imported only when their functions are
first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from .leads import LEADS, PRESETS, complete_limb_leads, limb_consistency, normalize_lead_name, parse_lead_list
from .record import ABSENT, GENERATED, RECORDED, Diagnosis, Metadata, Provenance, Record

__version__ = "0.1.0"

# name -> module providing it, imported on first access
_LAZY = {
    "read_record": "io",
    "write_wfdb": "io",
    "write_csv": "io",
    "write_dicom": "io",
    "write_export": "export",
    "export_record": "export",
    "resample": "preprocess",
    "reconstruct": "reconstruction",
    "load_reconstructor": "reconstruction",
    "compare": "metrics",
    "check_leads": "leadcheck",
    "trust_table": "trust",
    "write_report_pdf": "report",
    "ecg_measurements": "measurements",
    # typed errors and warnings (every one a ValueError, RuntimeError or UserWarning subclass): catch by type
    "FormatError": "io",
    "UnknownFormat": "io",
    "SeveralRecords": "io",
    "RecordTooLong": "io",
    "MissingSampleRate": "io",
    "InvalidSampleRate": "io",
    "MissingSamples": "io",
    "RecordTooShort": "reconstruction",
    "PriorError": "personal",
    "WeightsNotFoundError": "paths",
    "NotEnoughLeadsError": "leadcheck",
    "CalibrationError": "uncertainty",
    "CalibrationMismatch": "uncertainty",
    "PersonalBandUnavailable": "personal_band",
    "ModelMismatchWarning": "uncertainty",
    "GradeError": "grades",
    "ImageExportUnavailable": "export",
    "StudyError": "study.store",
    "CheckpointError": "checkpoint",
}

__all__ = [
    "__version__",
    "LEADS",
    "PRESETS",
    "complete_limb_leads",
    "limb_consistency",
    "normalize_lead_name",
    "parse_lead_list",
    "ABSENT",
    "GENERATED",
    "RECORDED",
    "Diagnosis",
    "Metadata",
    "Provenance",
    "Record",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'l2g' has no attribute {name!r}")
