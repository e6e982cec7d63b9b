"""The flat public API keeps working however often it is called (issue: second call raised TypeError)."""

import importlib
import pkgutil

import numpy as np

import l2g
from tests.ecg_factory import synthetic_record


def test_reconstruct_works_in_a_loop():
    for seed in range(3):
        rec = synthetic_record(seed=seed)
        full = l2g.reconstruct(rec, available=["I", "II"], method="linear")
        assert callable(l2g.reconstruct)
        assert {"V1", "V2", "V3", "V4", "V5", "V6"} <= set(full.generated_leads)
        assert full.recorded_leads[:2] == ("I", "II")
        assert np.isfinite(full.signal).all()


def test_no_public_name_is_also_a_submodule():
    submodules = {m.name for m in pkgutil.iter_modules(l2g.__path__)}
    for name in l2g.__all__:
        assert name not in submodules, f"l2g.{name} is both a public name and a submodule"
    for name in submodules:
        importlib.import_module(f"l2g.{name}")
    for name in l2g.__all__:
        value = getattr(l2g, name)
        assert not hasattr(value, "__path__") and type(value).__name__ != "module", name
