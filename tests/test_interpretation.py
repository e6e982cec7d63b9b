"""The cart's interpretation (l2g.interpretation): levels, worst first, the label beside generated leads.

The statements of the real cart files in ``../shared/clinical`` (see its PROVENANCE.md) are ranked
as a clinician would read them first; tests that need one skip when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import l2g
from l2g.interpretation import CART_READING, SEVERITIES, labelled, page_lines, ranked, severity, unlabelled
from l2g.io import read_record, write_dicom
from l2g.io.dicom import read as read_dicom
from l2g.record import Metadata
from tests.ecg_factory import synthetic_record

CLINICAL = Path(__file__).resolve().parents[1].parent / "shared" / "clinical"


@pytest.mark.parametrize("text, level", [
    (">>> Acute MI <<<", "critical"),
    ("Inferior infarct, acute (LCx); ST>0.10mV, II III aVF, STd V1-V3", "critical"),
    ("** ** ACUTE MI / STEMI ** **", "critical"),
    ("Anterior ST elevation, consider acute infarct", "critical"),
    ("Ventricular tachycardia", "critical"),
    ("Complete heart block", "critical"),
    ("Third degree AV block", "critical"),
    ("Old anteroseptal infarct, no acute changes", "abnormal"),  # "acute" negated
    ("No ST elevation", "other"),
    ("Sinus tachycardia with one ventricular premature beat", "abnormal"),  # not VT
    ("Complete right bundle branch block", "abnormal"),  # not complete heart block
    ("Atrial fibrillation with rapid ventricular response", "abnormal"),
    ("ABNORMAL ECG", "abnormal"),
    ("Left axis deviation", "abnormal"),
    ("Possible left atrial enlargement", "borderline"),  # the cart's hedge wins
    ("Nonspecific ST and T wave abnormality", "borderline"),
    ("Borderline ECG", "borderline"),
    ("Baseline artifact", "other"),
    ("QRS Complexes: 22", "other"),
    ("Normal sinus rhythm", "normal"),
    ("Otherwise normal ECG", "normal"),
    ("ECG NORMALE", "normal"),
])
def test_severity(text: str, level: str) -> None:
    assert severity(text) == level


def test_worst_first_file_order_within_a_level_and_unknown_above_normal() -> None:
    statements = ["Normal sinus rhythm", "QRS Complexes: 22", "Borderline ECG", "Left axis deviation",
                  "Acute MI", "Abnormal ECG"]
    got = [(s.severity, s.text) for s in ranked(statements)]
    assert got == [("critical", "Acute MI"), ("abnormal", "Left axis deviation"), ("abnormal", "Abnormal ECG"),
                   ("borderline", "Borderline ECG"), ("other", "QRS Complexes: 22"),
                   ("normal", "Normal sinus rhythm")]
    assert [s.severity for s in ranked(statements)] == sorted((s.severity for s in ranked(statements)),
                                                              key=SEVERITIES.index)


def test_a_statement_ending_in_a_comma_is_read_with_the_next_one() -> None:
    # GE MUSE: the comparison and its finding are two statements; ranked apart they would make no sense
    got = ranked(["WHEN COMPARED WITH ECG OF 1/21/99 16:22,", "SINUS TACHYCARDIA HAS APPEARED", " ", "BASELINE"])
    assert [s.text for s in got] == ["WHEN COMPARED WITH ECG OF 1/21/99 16:22, SINUS TACHYCARDIA HAS APPEARED",
                                     "BASELINE"]


def test_the_philips_acute_mi_comes_first() -> None:
    path = CLINICAL / "philips_xml" / "129DYPRG.XML"
    if not path.is_file():
        pytest.skip(f"{path} not found: real cart files are read from ../shared/clinical")
    rec = read_record(path)
    assert rec.meta.interpretation[-2:] == (">>> Acute MI <<<", "ABNORMAL ECG")  # file order: near the end
    top = ranked(rec.meta.interpretation)[:2]
    assert [s.severity for s in top] == ["critical", "critical"] and top[1].text == ">>> Acute MI <<<"


def test_statements_are_labelled_only_beside_generated_leads() -> None:
    rec = synthetic_record(duration_s=4.0, seed=2)
    rec = rec.replace(meta=Metadata(interpretation=("Sinus rhythm", ">>> Acute MI <<<")))
    assert labelled(rec) == ["Sinus rhythm", ">>> Acute MI <<<"]  # the cart's file, as it was
    assert page_lines(rec)[0] == "Cart interpretation (worst first):"
    full = l2g.reconstruct(rec, ["I", "II", "V2"], method="linear")
    assert labelled(full) == [f"{CART_READING}: Sinus rhythm", f"{CART_READING}: >>> Acute MI <<<"]
    assert [unlabelled(t) for t in labelled(full)] == list(rec.meta.interpretation)
    assert page_lines(full) == [f"{CART_READING} (worst first):", "CRITICAL: >>> Acute MI <<<",
                                "NORMAL: Sinus rhythm"]
    assert page_lines(synthetic_record(duration_s=1.0)) == []


def test_a_dicom_export_labels_the_statements_and_reads_them_back_unlabelled(tmp_path: Path) -> None:
    rec = synthetic_record(duration_s=4.0, seed=3)
    rec = rec.replace(meta=Metadata(interpretation=("Sinus rhythm", ">>> Acute MI <<<")))
    full = l2g.reconstruct(rec, ["I", "II", "V2"], method="linear")
    raw = read_dicom(write_dicom(full, tmp_path / "full.dcm"))
    assert raw.interpretation == ["Sinus rhythm", ">>> Acute MI <<<"]  # the cart's words again ...
    back = read_record(tmp_path / "full.dcm")
    assert back.generated_leads == full.generated_leads  # ... beside leads still marked generated
    np.testing.assert_allclose(back.signal[0], full.signal[0], atol=1e-3)
    again = read_dicom(write_dicom(back, tmp_path / "again.dcm"))  # labelled once, never twice
    assert again.interpretation == ["Sinus rhythm", ">>> Acute MI <<<"]
