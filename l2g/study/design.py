"""Designing a reader study: choose records and leads, render every trial once, store it.

:func:`create_study` reads the chosen records, reconstructs them from each
available-lead subset with one loaded model, and stores what every trial shows.
All traces of a trial pass through the same steps: the first
:data:`WINDOW_S` seconds, the same display filter (0.5 Hz high-pass), the
same rounding to whole microvolts (:func:`l2g.study.store.pack_signal`). A
generated trace differs from a recorded one only in its sample values.

Trial kinds (:data:`KINDS`)
---------------------------
Only :func:`judged_leads` are judged: a limb lead computed exactly from two
given limb leads is not the model's output.

``pick``
    One lead twice, recorded and generated from a subset, as panels ``A`` and
    ``B`` in random order; the reader picks the generated one (truth: the panel).
``real_or_generated``
    A 12-lead page on which some of the judged leads are generated
    (each with probability 1/2), or, in :data:`NONE_SHARE` of the pages, none;
    the reader marks the leads they believe generated (truth: the list).
``diagnosis``
    A record shown twice (two trials): recorded, and with the leads outside the
    subset generated; the reader gives a diagnosis from :data:`DIAGNOSES` for
    each page, and the two answers of a reader are compared (Cohen's kappa).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..leads import LEADS, LIMB_LEADS, limb_basis, parse_lead_list
from ..record import RECORDED, Record
from .store import Study, StudyError, Trial, pack_signal

__all__ = ["KINDS", "DIAGNOSES", "WINDOW_S", "NONE_SHARE", "DISPLAY_FILTER", "StudyConfig", "parse_subsets",
           "select_records", "judged_leads", "create_study", "KIND_NAMES", "settings_table"]

KINDS: tuple[str, ...] = ("pick", "real_or_generated", "diagnosis")
#: The short diagnosis list offered on a diagnosis trial (with free text beside it).
DIAGNOSES: tuple[str, ...] = ("Normal ECG", "Atrial fibrillation / flutter", "Bundle branch block",
                              "Myocardial infarction / ischaemia", "Hypertrophy", "Other abnormality")
#: A trial type in words (the set-up form, the settings table).
KIND_NAMES: dict[str, str] = {"pick": "pick the generated one", "real_or_generated": "real or generated",
                              "diagnosis": "same diagnosis"}
#: Seconds of each record shown.
WINDOW_S: float = 10.0
#: Share of real-or-generated pages with no generated lead at all.
NONE_SHARE: float = 0.2
#: The display filter applied alike to every trace (a key of l2g.plots.DISPLAY_FILTERS).
DISPLAY_FILTER = "0.5 Hz high-pass (baseline wander)"


@dataclass
class StudyConfig:
    """What a study is made of (stored as JSON with the study).

    Attributes
    ----------
    name : str
        Unique within the database.
    data : str
        The data folder the records come from.
    trials : int
        Trials per kind (diagnosis trials come in pairs: rounded up to even).
    kinds : list of str
        From :data:`KINDS`.
    subsets : list of list of str
        The available-lead subsets, used in turn.
    filters : dict of str to str
        Catalogue filters: ``source``, ``dataset`` (exact), ``diagnosis`` (substring, any case).
    records : list of str
        Record ids to use (empty: every record that passes the filters).
    seed : str
        Seeds the choice of records, leads, sides and every reader's order.
    method : str
        ``"model"`` or ``"linear"`` (see :func:`l2g.reconstruction.load_reconstructor`).
    weights : str or None
        The generator checkpoint to study (its digest becomes the study's model version);
        None: ``l2g.pt`` of the weights folder (``L2G_WEIGHTS_DIR``, else ``weights/``).
    require_token : bool
        Every reader needs a token.
    diagnoses : list of str
        The diagnosis list.
    """

    name: str
    data: str
    trials: int = 20
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    subsets: list[list[str]] = field(default_factory=lambda: [["I"], ["I", "II"], ["I", "II", "V2"]])
    filters: dict[str, str] = field(default_factory=dict)
    records: list[str] = field(default_factory=list)
    seed: str = "l2g-study"
    method: str = "model"
    weights: str | None = None
    require_token: bool = False
    diagnoses: list[str] = field(default_factory=lambda: list(DIAGNOSES))

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            raise StudyError(f"study {self.name!r}: unknown trial type(s) {bad}; valid: {', '.join(KINDS)}")
        if self.trials < 1:
            raise StudyError(f"study {self.name!r}: --trials must be at least 1, got {self.trials}")
        self.subsets = [list(parse_lead_list(s)) for s in self.subsets]
        if not self.subsets or any(not s or not judged_leads(s) for s in self.subsets):
            raise StudyError(f"study {self.name!r}: each subset needs 1 or more leads and must leave a lead that "
                             f"the model generates (not only limb leads exact from two others), got {self.subsets}")
        unknown = set(self.filters) - {"source", "dataset", "diagnosis"}
        if unknown:
            raise StudyError(f"study {self.name!r}: unknown filter(s) {sorted(unknown)}; "
                             "valid: source, dataset, diagnosis")


def settings_table(config: dict) -> pd.DataFrame:
    """A stored study's settings (``Study.config``) as a two-column table (``setting``, ``value``) in words.

    Examples
    --------
    >>> settings_table({"data": "ecgs", "trials": 4, "kinds": ["pick"], "subsets": [["I"], ["I", "II"]],
    ...                 "filters": {}, "records": [], "seed": "s", "method": "linear", "require_token": False,
    ...                 "diagnoses": ["Normal ECG"]}).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Data folder', 'ecgs'], ['Trials per type', '4'], ['Trial types', 'pick the generated one'],
     ['Available-lead subsets', 'I · I, II'], ['Records', 'every record that passes the filters'],
     ['Filters', 'none'], ['Generator', 'linear (the least-squares baseline)'], ['Weights', 'the shipped weights'],
     ['Seed', 's'], ['Token per reader', 'not required'], ['Diagnosis list', 'Normal ECG']]
    """
    c = config
    records = c.get("records") or []
    method = c.get("method", "model")
    rows = [
        ("Data folder", c.get("data", "–")),
        ("Trials per type", str(c.get("trials", "–"))),
        ("Trial types", ", ".join(KIND_NAMES.get(k, k) for k in c.get("kinds", []))),
        ("Available-lead subsets", " · ".join(", ".join(s) for s in c.get("subsets", []))),
        ("Records", f"{len(records)} chosen: " + ", ".join(records) if records
         else "every record that passes the filters"),
        ("Filters", "; ".join(f"{k} {v!r}" for k, v in (c.get("filters") or {}).items()) or "none"),
        ("Generator", {"model": "model (the L2G generator)", "linear": "linear (the least-squares baseline)"}
         .get(method, method)),
        ("Weights", c.get("weights") or "the shipped weights"),
        ("Seed", str(c.get("seed", "–"))),
        ("Token per reader", "required" if c.get("require_token") else "not required"),
        ("Diagnosis list", ", ".join(c.get("diagnoses") or [])),
    ]
    return pd.DataFrame(rows, columns=["setting", "value"])


def parse_subsets(text: str) -> list[list[str]]:
    """``"I;I,II;I,II,V2"`` -> ``[["I"], ["I", "II"], ["I", "II", "V2"]]``.

    Examples
    --------
    >>> parse_subsets("I; I,II ;II,v2")
    [['I'], ['I', 'II'], ['II', 'V2']]
    """
    return [list(parse_lead_list(part)) for part in text.split(";") if part.strip()]


def select_records(table: pd.DataFrame, filters: dict[str, str], records: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of a :func:`l2g.catalog.scan` table usable in a study: readable, all 12 leads, passing the filters."""
    ok = table[(table["error"] == "") & (table["leads"] == ",".join(LEADS))]
    if records:
        ok = ok[ok["record_id"].isin(list(records))]
    for key in ("source", "dataset"):
        if filters.get(key):
            ok = ok[ok[key] == filters[key]]
    if filters.get("diagnosis"):
        ok = ok[ok["diagnoses"].fillna("").str.contains(filters["diagnosis"], case=False, regex=False)]
    return ok.sort_values("record_id").reset_index(drop=True)


def judged_leads(subset: Sequence[str]) -> list[str]:
    """Leads a reader judges for ``subset``: the model's output, not the limb leads exact by Einthoven/Goldberger.

    Examples
    --------
    >>> judged_leads(["I"])[:3], judged_leads(["I", "II", "V2"])
    (['II', 'III', 'aVR'], ['V1', 'V3', 'V4', 'V5', 'V6'])
    """
    exact = set(LIMB_LEADS) if limb_basis(subset) is not None else set()
    return [lead for lead in LEADS if lead not in subset and lead not in exact]


def _rng(seed: str, *parts: object) -> np.random.Generator:
    key = hashlib.sha256("\x00".join([seed, *map(str, parts)]).encode()).digest()[:8]
    return np.random.default_rng(int.from_bytes(key, "big"))


def _window(record: Record) -> Record:
    from ..plots import display_filter

    rec = record.standardize()
    rec = rec.crop(0.0, min(WINDOW_S, rec.duration))
    return display_filter(rec, DISPLAY_FILTER)[0]


def _model_version(rc) -> str:
    """The reconstructor's version and, for a generator, the SHA-256 of its weights file."""
    from .. import paths
    from ..reconstruction import file_sha256

    if rc.generator is None:
        return str(rc.version)
    try:
        weights = paths.weights_dir() / "l2g.pt"
    except paths.WeightsNotFoundError:
        return str(rc.version)
    return f"{rc.version} sha256:{file_sha256(weights)[:16]}" if weights.is_file() else str(rc.version)


def create_study(engine: Engine, config: StudyConfig, *, catalog: pd.DataFrame | None = None,
                 reconstructor=None, progress: Callable[[int, int], None] | None = None) -> Study:
    """Create a study: choose its trials, render and store them.

    Parameters
    ----------
    engine : Engine
        An open study database (:func:`l2g.study.store.open_db`).
    config : StudyConfig
    catalog : DataFrame, optional
        :func:`l2g.catalog.scan` of ``config.data`` (scanned here when not given).
    reconstructor : Reconstructor, optional
        Default: :func:`l2g.reconstruction.load_reconstructor` with ``config.weights`` and ``config.method``.
    progress : callable, optional
        Called as ``progress(done, total)`` after each trial.

    Returns
    -------
    Study

    Raises
    ------
    StudyError
        No usable record (the message says what was required), or the name is taken.
    """
    from ..catalog import scan
    from ..io import read_record
    from ..reconstruction import load_reconstructor, reconstruct

    table = scan(config.data, progress=False) if catalog is None else catalog
    chosen = select_records(table, config.filters, config.records)
    if chosen.empty:
        raise StudyError(f"{config.data}: no readable record with all 12 leads recorded passes "
                         f"filters {config.filters or 'none'}{' and the record list' if config.records else ''}")
    rc = reconstructor if reconstructor is not None else load_reconstructor(config.weights, method=config.method)
    rng = _rng(config.seed, "design")
    order = list(rng.permutation(len(chosen)))

    # the plan: (kind, row index, subset) per trial; records and subsets in turn
    plan: list[tuple[str, int, list[str]]] = []
    for kind in config.kinds:
        n = config.trials if kind != "diagnosis" else (config.trials + 1) // 2
        plan += [(kind, int(order[i % len(order)]), config.subsets[i % len(config.subsets)]) for i in range(n)]
    total = sum(2 if k == "diagnosis" else 1 for k, _, _ in plan)

    cache: dict[tuple[int, tuple[str, ...]], tuple[Record, Record]] = {}

    def pages(i: int, subset: list[str]) -> tuple[Record, Record]:
        key = (i, tuple(subset))
        if key not in cache:
            path = chosen.loc[i, "path"]
            rec = read_record(path).standardize()
            missing = [lead for lead in LEADS if rec.status_of(lead) != RECORDED]
            if missing:
                raise StudyError(f"{path}: leads {missing} are not recorded; a study needs all 12")
            cache.clear()  # one record at a time in memory
            cache[key] = (_window(rec), _window(reconstruct(rec, subset, model=rc)))
        return cache[key]

    study = Study(name=config.name, config=asdict(config), seed=config.seed, model_version=_model_version(rc))
    with Session(engine, expire_on_commit=False) as s:
        s.add(study)
        try:
            s.flush()
        except IntegrityError:
            raise StudyError(f"a study called {config.name!r} exists in this database; choose another name") from None
        number = 0
        for kind, i, subset in plan:
            real, gen = pages(i, subset)
            row = chosen.loc[i]
            common = dict(study_id=study.id, kind=kind, record_id=str(row["record_id"]),
                          record_path=os.fspath(Path(row["path"]).resolve()), subset=",".join(subset), fs=real.fs)
            candidates = judged_leads(subset)
            if kind == "pick":
                lead = candidates[int(rng.integers(len(candidates)))]
                generated = "AB"[int(rng.integers(2))]
                a, b = (gen.lead(lead), real.lead(lead)) if generated == "A" else (real.lead(lead), gen.lead(lead))
                trials = [dict(lead=lead, truth={"generated": generated}, panels=["A", "B"],
                               signal=pack_signal(np.stack([a, b])))]
            elif kind == "real_or_generated":
                if rng.random() < NONE_SHARE:
                    marked: list[str] = []
                else:
                    marked = [lead for lead in candidates if rng.random() < 0.5] or \
                             [candidates[int(rng.integers(len(candidates)))]]
                sig = np.stack([gen.lead(lead) if lead in marked else real.lead(lead) for lead in LEADS])
                trials = [dict(lead=",".join(candidates), truth={"generated": marked}, panels=list(LEADS),
                               signal=pack_signal(sig))]
            else:
                pair = f"{row['record_id']}|{','.join(subset)}|{number}"
                diag = str(row["diagnoses"]) if isinstance(row["diagnoses"], str) else ""
                trials = [dict(lead="", variant=v, pair=pair, truth={"variant": v, "recorded_diagnoses": diag},
                               panels=list(LEADS), signal=pack_signal(np.stack([p.lead(lead) for lead in LEADS])))
                          for v, p in (("recorded", real), ("reconstructed", gen))]
            for t in trials:
                number += 1
                s.add(Trial(number=number, **common, **t))
                if progress is not None:
                    progress(number, total)
        s.commit()
    return study
