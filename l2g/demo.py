"""The built-in demo record: a synthetic 10-s, 500 Hz 12-lead ECG shipped with the package.

Made offline by ``scripts/make_demo.py`` from the deepfake-ecg GAN (MIT
licence); it is not a patient recording. The app opens it when no data folder
is given, and the benchmarks use it.
"""

from __future__ import annotations

from pathlib import Path

from .record import Record

__all__ = ["DEMO_PATH", "demo_record"]

DEMO_PATH = Path(__file__).resolve().parent / "data" / "demo" / "demo.hea"


def demo_record() -> Record:
    """The demo record (12 recorded leads, 500 Hz, 10 s, mV)."""
    from .io import read_record

    return read_record(DEMO_PATH)
