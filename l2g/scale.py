"""Archive-scale reconstruction: one per-record function, a local process pool or a Ray cluster around it.

Every record of an archive goes through :func:`process_record`: read it, reconstruct its 12 leads
(:func:`l2g.reconstruct`, with the band when asked), grade the generated leads
(:func:`l2g.trust.trust_table`), check the recorded leads (:func:`l2g.leadcheck.check_leads`), write
the export (:func:`l2g.export.write_export`) and return one row of the results table
(:data:`RESULT_SCHEMA`). A record that fails is a row with its error, never a stopped job. A record
longer than ``ReconstructJob.stream_over`` whose format reads ranges goes through the same steps in
chunks (:mod:`l2g.stream`), never whole in memory.

Two engines call it (:func:`run_reconstruct`):

``"local"``
    A process pool on this machine (``l2g reconstruct FOLDER --workers N``), as before.
``"ray"``
    A Ray Data pipeline: the task list (:func:`list_tasks`) -> an actor pool (model loaded once per
    actor, torch threads and GPUs per actor set) running :func:`process_record` -> rows streamed back
    to the driver, which writes them to the results table. Ray restarts a killed actor and retries its
    batch (``max_restarts`` / ``max_task_retries`` default to -1 for Ray Data's actor pools), so a
    worker killed mid-job loses nothing. ``ray`` is imported only here, when the engine runs.

Nothing lost, nothing twice: the driver appends rows to Parquet parts under ``OUT/l2g_results/``,
each written to a temporary name and renamed (a part is whole or absent); at the end of a run the
parts are compacted into one (:func:`compact_results`, the last row per record id). A re-run skips a
record whose earlier row is ``ok`` for the same input digest (:func:`input_digest`), model digest and
settings and whose output files still exist, so a driver killed mid-job is resumed by running the
same command again. ``pandas.read_parquet(OUT / "l2g_results")`` or DuckDB's
``read_parquet('OUT/l2g_results/*.parquet')`` query the table.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from l2g.demo import demo_record
>>> from l2g.io import write_wfdb
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = write_wfdb(demo_record(), Path(tmp) / "in", "demo")
...     job = ReconstructJob(Path(tmp) / "in", Path(tmp) / "out", ("I",), method="linear")
...     summary = run_reconstruct(job, progress=False)
...     table = read_results(job.out)
>>> summary.done, summary.failed, table.loc[0, "status"], len(table.loc[0, "generated_leads"])
(1, 0, 'ok', 11)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .stream import CHUNK_S, STREAM_OVER_S

__all__ = [
    "RESULT_SCHEMA", "RESULTS_DIR", "ReconstructJob", "RayOptions", "RunSummary", "ENGINES",
    "input_digest", "list_tasks", "parse_shard", "process_record", "run_reconstruct", "read_results",
    "compact_results", "ray_session", "ray_map", "summarise_results",
]

log = logging.getLogger(__name__)

#: Folder of the results table's Parquet parts, inside the output folder.
RESULTS_DIR = "l2g_results"
#: The engines :func:`run_reconstruct` knows.
ENGINES = ("local", "ray")
#: Files of a WFDB record beside its header that hold its samples (hashed into the input digest).
_SIGNAL_SUFFIXES = (".dat", ".mat")

#: One row per record and run. ``status``: ``ok``, ``failed`` (``error`` says why) or ``skipped``
#: (done earlier; never written). Per-lead lists follow ``generated_leads``.
RESULT_SCHEMA = pa.schema([
    ("record_id", pa.string()),            # path under the archive without suffix (l2g.catalog's rule)
    ("source_file", pa.string()),          # the file read
    ("input_digest", pa.string()),         # SHA-256 of the file and its WFDB signal files
    ("status", pa.string()),
    ("error", pa.string()),                # one line; null when ok
    ("fs", pa.float64()),                  # Hz
    ("duration_s", pa.float64()),
    ("available", pa.list_(pa.string())),  # the leads given to the model
    ("statuses", pa.list_(pa.string())),   # per canonical lead I..V6: recorded / generated / absent
    ("generated_leads", pa.list_(pa.string())),
    ("grades", pa.list_(pa.string())),     # per generated lead: A / B / C (l2g.trust.trust_table)
    ("predicted_rmse_uv", pa.list_(pa.float64())),
    ("worst_grade", pa.string()),
    ("grade_note", pa.string()),           # why there are no grades (e.g. a calibration for another model)
    ("leadcheck_flags", pa.list_(pa.string())),   # recorded leads the lead check flags
    ("leadcheck_faults", pa.list_(pa.string())),  # suspected faults, e.g. LA/RA
    ("leadcheck_note", pa.string()),       # why the leads were not checked (fewer than three)
    ("notes", pa.list_(pa.string())),      # the reader's notes on odd but readable files
    ("outputs", pa.list_(pa.string())),    # files written, relative to the output folder
    ("method", pa.string()),
    ("model_digest", pa.string()),         # Reconstructor.version, e.g. l2g.pt@66d7d7843eb2
    ("settings", pa.string()),             # ReconstructJob.settings(): what else shapes the outputs
    ("worker_pid", pa.int64()),
    ("seconds", pa.float64()),
    ("finished_at", pa.float64()),         # Unix time
])


@dataclass(frozen=True)
class ReconstructJob:
    """What to do with every record of an archive (the ``l2g reconstruct`` options).

    Attributes
    ----------
    root : Path or str
        The archive folder, listed by :func:`l2g.catalog.find_records`; or the URI of a folder on
        object storage (``s3://bucket/archive``, listed and fetched by :mod:`l2g.remote`).
    out : Path
        Output folder: the exports mirror the archive's sub-folders; the table is ``out/l2g_results``.
    available : tuple of str
        The leads given to the model, canonical names.
    fmt : {"wfdb", "csv", "dicom"}
    method : {"model", "linear"}
    weights : Path, optional
        Generator checkpoint (default :func:`l2g.paths.weights_dir`'s); on a cluster a path every node reads.
    fs : float, optional
        Rate of CSV files without a time column.
    deidentify : bool
    interval : float, optional
        Coverage level of the band written beside each record.
    priors : mapping of str to str
        ``--prior-map``: :func:`prior_key` of a record -> the same patient's earlier ECG (a path); a
        listed record is personalised on its earlier ECG (:func:`l2g.reconstruct`'s ``prior``).
    stream_over : float, optional
        ``--stream-over``: a record longer than this (seconds) whose format reads ranges is streamed
        in chunks (:mod:`l2g.stream`); None: every record is read whole.
    chunk_s : float
        ``--chunk``: seconds per chunk, of a streamed record and of :func:`l2g.reconstruct`'s own chunks.
    """

    root: Path | str
    out: Path
    available: tuple[str, ...]
    fmt: str = "wfdb"
    method: str = "model"
    weights: Path | None = None
    fs: float | None = None
    deidentify: bool = False
    interval: float | None = None
    priors: Mapping[str, str] = field(default_factory=dict)
    stream_over: float | None = STREAM_OVER_S
    chunk_s: float = CHUNK_S

    def settings(self) -> str:
        """The options besides the model that shape the outputs; a re-run with others redoes every record."""
        priors = (hashlib.sha256(repr(sorted(self.priors.items())).encode()).hexdigest()[:12] if self.priors
                  else "none")
        return (f"available={','.join(self.available)};format={self.fmt};interval={self.interval};"
                f"fs={self.fs};deidentify={int(self.deidentify)};priors={priors};"
                f"stream_over={self.stream_over};chunk_s={self.chunk_s:g}")

    def prior_for(self, path: Path) -> Path | None:
        """The earlier ECG ``--prior-map`` names for the record at ``path``, or None."""
        earlier = self.priors.get(prior_key(path))
        return Path(earlier) if earlier is not None else None


@dataclass(frozen=True)
class RayOptions:
    """How the Ray engine sizes its actor pool.

    Attributes
    ----------
    address : str, optional
        ``"auto"`` or ``"ray://host:10001"`` of a running cluster; None: a Ray instance on this
        machine (started here with ``num_cpus`` and ``object_store_gib``, shut down at the end),
        or the one this process already joined.
    actors : int
        Size of the actor pool (each loads the model once).
    cpus_per_actor : float
        Ray's CPU reservation per actor. Below 1 on a small machine: actors that claim every CPU
        leave none to Ray Data's own tasks and nothing is scheduled.
    gpus_per_actor : float
        GPUs per actor (0: CPU inference).
    threads_per_actor : int
        ``torch.set_num_threads`` in each actor.
    batch_size : int
        Records per actor call.
    num_cpus : int, optional
        CPUs of a Ray instance started here (default all of this machine's).
    object_store_gib : float
        Object store of a Ray instance started here.
    """

    address: str | None = None
    actors: int = 2
    cpus_per_actor: float = 0.5
    gpus_per_actor: float = 0.0
    threads_per_actor: int = 1
    batch_size: int = 4
    num_cpus: int | None = None
    object_store_gib: float = 2.0


@dataclass
class RunSummary:
    """What a run did: records listed, done now, skipped (done earlier), failed; seconds; model digest."""

    listed: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    model_digest: str = ""
    method: str = ""

    @property
    def rate(self) -> float:
        """Records processed (done or failed) per second of the run."""
        return (self.done + self.failed) / self.seconds if self.seconds > 0 else 0.0


# ---------------------------------------------------------------- listing
def input_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a record's file and, for a WFDB header, its signal files (``.dat``, ``.mat``) beside it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "a.csv"
    ...     _ = p.write_text("I\\n0.1\\n")
    ...     len(input_digest(p))
    64
    """
    p = Path(path)
    files = [p]
    if p.suffix.lower() == ".hea":
        files += [q for s in _SIGNAL_SUFFIXES if (q := p.with_suffix(s)).is_file()]
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def prior_key(path: str | os.PathLike[str]) -> str:
    """The key of a record in a ``--prior-map``: its resolved path without the suffix (``x.hea`` and ``x.dat``
    are one record)."""
    return str(Path(path).resolve().with_suffix(""))


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; None for None.

    Examples
    --------
    >>> parse_shard("1/4"), parse_shard(None)
    ((1, 4), None)
    """
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected i/n, e.g. 0/4 (shard 0 of 4)") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text!r}: expected 0 <= i < n, e.g. 0/4 .. 3/4")
    return i, n


def _in_shard(record_id: str, shard: tuple[int, int]) -> bool:
    """Shards by a hash of the record id: stable when the archive grows or is listed in another order."""
    return int(hashlib.sha1(record_id.encode()).hexdigest()[:8], 16) % shard[1] == shard[0]


def list_tasks(job: ReconstructJob, *, limit: int | None = None, shard: tuple[int, int] | None = None,
               previous: dict[str, dict] | None = None) -> list[dict]:
    """The records of ``job.root`` to process: one dict per record (what :func:`process_record` takes).

    Parameters
    ----------
    job : ReconstructJob
    limit : int, optional
        The first ``limit`` records (of the shard).
    shard : (i, n), optional
        Only the records of shard ``i`` of ``n`` (by a hash of the record id).
    previous : dict, optional
        :func:`_previous_rows`: record id -> the earlier ``ok`` row for this model and settings.

    Returns
    -------
    list of dict
        ``record_id``, ``path``, ``dest`` (folder under ``job.out``), ``previous_digest`` and
        ``previous_outputs`` (empty when there is no earlier row).
    """
    from .catalog import _record_ids, find_records
    from .remote import is_remote, list_records

    if is_remote(job.root):  # object storage: each task carries the objects to fetch (l2g.remote)
        remote = list_records(str(job.root))
        base = str(job.root).split("?", 1)[0].rstrip("/")
        anchor = Path("/archive")
        paths = [anchor / r.rel for r in remote]
        extra = [{"path": f"{base}/{r.rel}", "remote": str(job.root), "files": list(r.files)} for r in remote]
    else:
        anchor = Path(job.root)
        paths = find_records(job.root)
        extra = [{"path": str(p)} for p in paths]
    ids = _record_ids(anchor, paths)
    tasks = []
    for rid, p, more in zip(ids, paths, extra, strict=True):
        if shard is not None and not _in_shard(rid, shard):
            continue
        prev = (previous or {}).get(rid, {})
        tasks.append({"record_id": rid, **more, "dest": p.parent.relative_to(anchor).as_posix(),
                      "previous_digest": prev.get("input_digest") or "",
                      "previous_outputs": [str(o) for o in prev.get("outputs", ())]})
    return tasks[:limit] if limit is not None else tasks


@contextlib.contextmanager
def _local_copy(task: dict) -> Iterator[Path]:
    """The record's main file on local disk: its path, or (a task of :mod:`l2g.remote`) its objects
    fetched into a temporary folder that is deleted afterwards."""
    if not task.get("files"):
        yield Path(task["path"])
        return
    from .remote import fetch

    with tempfile.TemporaryDirectory(prefix="l2g_fetch_") as tmp:
        yield fetch(task["remote"], task["files"], tmp)[0]


# ------------------------------------------------------------- one record
def load_worker(job: ReconstructJob, threads: int | None = None, device: str | None = None):
    """The model and the grade calibration of a worker, loaded once (``(Reconstructor, calibration or note)``)."""
    import warnings

    import torch

    from .reconstruction import load_reconstructor
    from .uncertainty import CalibrationError, calibration_for

    if threads:
        torch.set_num_threads(threads)
    with warnings.catch_warnings():  # the driver has reported the loading warnings once
        warnings.simplefilter("ignore")
        model = load_reconstructor(job.weights, method=job.method, device=device)
    try:
        calibration = calibration_for(model.version, model.method)
    except CalibrationError as exc:  # no grade for another model's errors: the rows say why
        calibration = " ".join(str(exc).split())
    return model, calibration


def _empty_row(task: dict, job: ReconstructJob, model) -> dict:
    row = dict.fromkeys(RESULT_SCHEMA.names)
    row.update(record_id=task["record_id"], source_file=task["path"], available=list(job.available),
               method=model.method, model_digest=model.version, settings=job.settings(), worker_pid=os.getpid())
    return row


def process_record(task: dict, job: ReconstructJob, model, calibration=None) -> dict:
    """Read, reconstruct, grade, check and write one record: its row of :data:`RESULT_SCHEMA`.

    Both engines call this, once per record. It never raises for a bad record: the row's
    ``status`` is ``failed`` and ``error`` says why in one line.

    Parameters
    ----------
    task : dict
        One of :func:`list_tasks`.
    job : ReconstructJob
    model : l2g.reconstruction.Reconstructor
    calibration : IntervalCalibration or str, optional
        For the grades (:func:`load_worker`); a str: why there are none.

    Returns
    -------
    dict
        The row; ``status`` ``skipped`` (not to be written) when the earlier row in ``task``
        has the same input digest and its outputs exist.
    """
    from .catalog import _error_text

    t0 = time.perf_counter()
    row = _empty_row(task, job, model)
    try:
        with _local_copy(task) as path:
            _process(path, task, job, model, calibration, row)
    except Exception as exc:  # a record that fails is a row with its error, never a stopped job
        row.update(status="failed", error=_error_text(exc) if not isinstance(exc, OSError) or exc.filename is None
                   else f"{exc.filename}: {exc.strerror or exc}")
    row["seconds"] = time.perf_counter() - t0
    row["finished_at"] = time.time()
    return row


def _process(path: Path, task: dict, job: ReconstructJob, model, calibration, row: dict) -> None:
    """:func:`process_record`'s work on the record's local file ``path``; fills ``row`` (raises on a bad record).

    A record longer than ``job.stream_over`` whose format reads ranges goes through :mod:`l2g.stream`
    (read, reconstructed, graded, checked and written in chunks); the others are read whole.
    """
    from .export import write_export
    from .io import read_record
    from .reconstruction import reconstruct
    from .stream import grade_fields, leadcheck_fields, stream_record, stream_source

    calibration = calibration if calibration is not None else "no calibration given"
    row["input_digest"] = input_digest(path)
    outputs = task.get("previous_outputs") or []
    if (row["input_digest"] == task.get("previous_digest") and outputs
            and all((job.out / o).is_file() for o in outputs)):
        row["status"] = "skipped"
        return
    prior_path = job.prior_for(path)
    source = stream_source(path, job.stream_over, job.fs) if prior_path is None else None
    if source is not None:  # a long record: read, reconstructed and written in chunks (l2g.stream)
        found = stream_record(source, job.available, model=model, calibration=calibration,
                              out_dir=job.out / task["dest"], export_fmt=job.fmt, fs=job.fs,
                              deidentify=job.deidentify, interval=job.interval, chunk_s=job.chunk_s)
        found["notes"] = found["notes"] + [
            f"streamed: {source.duration:.0f} s read by the {source.reader} reader in chunks of {job.chunk_s:g} s "
            "(grades: worst per lead over the chunks; lead check: flags of any chunk)"]
        found["outputs"] = [p.relative_to(job.out).as_posix() for p in found["outputs"]]
        row.update(found, status="ok")
        return
    rec = read_record(path, fs=job.fs)
    row.update(fs=float(rec.fs), duration_s=float(rec.duration),
               notes=[" ".join(n.split()) for n in rec.meta.notes])
    if job.stream_over is not None and rec.duration > job.stream_over:  # long, but read whole: say why
        row["notes"] = row["notes"] + [
            f"not streamed: read whole ({rec.duration:.0f} s; " + (
                "personalised mode needs the whole record)" if prior_path is not None
                else f"the {rec.source_format} reader reads this file whole only)")]
    earlier = read_record(prior_path) if prior_path is not None else None
    full = reconstruct(rec, job.available, model=model, interval=job.interval, prior=earlier, chunk_s=job.chunk_s)
    prov = full.meta.provenance
    if prior_path is not None:  # whether the earlier ECG was used, or why not (l2g.personal's guard)
        row["notes"] = row["notes"] + [f"personalised on the {prov.prior}" if prov.prior else str(prov.note)]
    row.update(statuses=list(full.status), generated_leads=list(full.generated_leads))
    row.update(grade_fields(full, model, calibration))
    row.update(leadcheck_fields(rec, model))
    written = write_export(full, job.fmt, job.out / task["dest"], deidentify=job.deidentify)
    row["outputs"] = [p.relative_to(job.out).as_posix() for p in written]
    row["status"] = "ok"


# ---------------------------------------------------------- results table
def _part_files(out: Path) -> list[Path]:
    return sorted((Path(out) / RESULTS_DIR).glob("*.parquet"))


def read_results(out: str | os.PathLike[str]):
    """The results table of output folder ``out``: the last row per record id (a DataFrame, by record id).

    Parts that cannot be read (none should: each is renamed into place whole) are skipped with a warning.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    tables = []
    for f in _part_files(Path(out)):
        try:
            tables.append(pq.read_table(f, schema=RESULT_SCHEMA))
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("%s: unreadable results part skipped (%s)", f, exc)
    if not tables:
        return pd.DataFrame(columns=RESULT_SCHEMA.names)
    df = pa.concat_tables(tables).to_pandas()
    df = df.sort_values(["record_id", "finished_at"], kind="stable").drop_duplicates("record_id", keep="last")
    return df.reset_index(drop=True)


def _previous_rows(job: ReconstructJob, model_digest: str) -> dict[str, dict]:
    """Record id -> its earlier ``ok`` row for this model and these settings."""
    df = read_results(job.out)
    df = df[(df["status"] == "ok") & (df["model_digest"] == model_digest) & (df["settings"] == job.settings())]
    return {r["record_id"]: r for r in df[["record_id", "input_digest", "outputs"]].to_dict("records")}


class _ResultsWriter:
    """Rows to Parquet parts in ``out/l2g_results``: each part written to a temporary name, then renamed."""

    def __init__(self, out: Path, flush_every: int = 256, flush_seconds: float = 30.0):
        self.dir = Path(out) / RESULTS_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.rows: list[dict] = []
        self.seq = 0
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self.last = time.monotonic()

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.flush_every or time.monotonic() - self.last > self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        import pyarrow.parquet as pq

        self.last = time.monotonic()
        if not self.rows:
            return
        path = self.dir / f"part-{self.run}-{self.seq:05d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.Table.from_pylist(self.rows, schema=RESULT_SCHEMA), tmp)
        os.replace(tmp, path)
        self.seq += 1
        self.rows = []


def compact_results(out: str | os.PathLike[str]) -> Path | None:
    """Rewrite the parts of ``out``'s results table as one part (the last row per record id); its path."""
    import pyarrow.parquet as pq

    parts = _part_files(Path(out))
    if len(parts) <= 1:
        return parts[0] if parts else None
    df = read_results(out)
    path = Path(out) / RESULTS_DIR / f"part-compact-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pandas(df, schema=RESULT_SCHEMA, preserve_index=False), tmp)
    os.replace(tmp, path)  # the new part first: a crash before the deletions leaves duplicates, never a loss
    for p in parts:
        p.unlink()
    return path


# ---------------------------------------------------------------- engines
_WORKER: tuple | None = None  # (job, model, calibration) of a local worker process


def _local_init(job: ReconstructJob) -> None:
    global _WORKER
    import torch

    torch.set_num_threads(1)
    if _WORKER is None or _WORKER[0] != job:  # forked workers inherit the parent's model
        _WORKER = (job, *load_worker(job))


def _local_one(task: dict) -> dict:
    _, model, calibration = _WORKER
    return process_record(task, _WORKER[0], model, calibration)


def _local_rows(job: ReconstructJob, tasks: Sequence[dict], workers: int, loaded: tuple) -> Iterator[dict]:
    """:func:`process_record` of every task in a process pool (``workers`` processes; 1: in this process)."""
    global _WORKER
    _WORKER = (job, *loaded)  # forked workers inherit it
    if workers == 1:
        for task in tasks:
            yield _local_one(task)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers, initializer=_local_init, initargs=(job,)) as pool:
        futures = [pool.submit(_local_one, t) for t in tasks]
        for f in as_completed(futures):
            yield f.result()


class _RecordActor:
    """A Ray Data actor: the model loaded once, then :func:`process_record` over batches of tasks."""

    def __init__(self, job: ReconstructJob, threads: int, gpus: float):
        self.job = job
        self.model, self.calibration = load_worker(job, threads, "cuda" if gpus > 0 else "cpu")

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = [process_record(t, self.job, self.model, self.calibration) for t in batch.to_pylist()]
        return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)


#: Tries at starting a local Ray instance: on a loaded machine its raylet can miss Ray's fixed 30 s.
_START_TRIES = 3


def _children() -> set[int]:
    """Process ids whose parent is this process (from /proc; empty where there is none)."""
    found = set()
    for d in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if d.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError), open(f"/proc/{d}/stat") as fh:
                if int(fh.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    found.add(int(d))
    return found


def ray_session(options: RayOptions):
    """Join the cluster at ``options.address``, or start a local Ray instance sized explicitly.

    Returns
    -------
    bool
        True when this call started (and the caller should shut down) the Ray instance.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("the Ray engine needs Ray: pip install 'ray[data]==2.60.0' (or 'l2g-ecg[scale]')") from None
    if ray.is_initialized():
        return False
    if options.address:
        ray.init(address=options.address, log_to_driver=True)
        return True
    for attempt in range(1, _START_TRIES + 1):
        before = _children()
        try:
            ray.init(num_cpus=options.num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     object_store_memory=int(options.object_store_gib * 2**30))
            return True
        except Exception as exc:  # Ray raises a bare Exception when its raylet misses its fixed 30 s to register
            ray.shutdown()
            for pid in _children() - before:  # what the failed try started and left running (GCS, log monitor)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if attempt == _START_TRIES:
                raise OSError(f"Ray did not start on this machine in {_START_TRIES} tries: {exc}") from exc
            log.warning("Ray did not start (%s); trying again (%d of %d)", exc, attempt + 1, _START_TRIES)
    return True


def _ray_rows(job: ReconstructJob, tasks: Sequence[dict], options: RayOptions) -> Iterator[dict]:
    """:func:`process_record` of every task in a Ray Data actor pool, rows as they finish."""
    started = ray_session(options)
    import ray
    import ray.data

    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver's own bar counts records
        blocks = max(1, min(len(tasks), -(-len(tasks) // options.batch_size)))
        ds = ray.data.from_items(list(tasks), override_num_blocks=blocks)
        ds = ds.map_batches(_RecordActor, fn_constructor_kwargs={"job": job, "threads": options.threads_per_actor,
                                                                 "gpus": options.gpus_per_actor},
                            batch_size=options.batch_size, batch_format="pyarrow",
                            compute=ray.data.ActorPoolStrategy(size=options.actors),
                            num_cpus=options.cpus_per_actor, num_gpus=options.gpus_per_actor or None)
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            yield from batch.to_pylist()
    finally:
        if started:
            ray.shutdown()


class _MapActor:
    """A Ray actor holding ``state`` (e.g. loaded models), sent once; runs ``func(state, item)``."""

    def __init__(self, state, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.state = state

    def run(self, func: Callable, item):
        return func(self.state, item)


def ray_map(func: Callable, items: Sequence, state, options: RayOptions) -> Iterator:
    """``func(state, item)`` of every item in a pool of Ray actors, results in the items' order.

    ``state`` goes to the object store once and to each actor once (:func:`l2g.evaluate.run_study`
    sends its methods so). A killed actor is restarted and its call retried (``max_restarts`` and
    ``max_task_retries`` -1, as Ray Data's actor pools).
    """
    started = ray_session(options)
    import ray
    from ray.util import ActorPool

    try:
        actor = ray.remote(num_cpus=options.cpus_per_actor, num_gpus=options.gpus_per_actor or None,
                           max_restarts=-1, max_task_retries=-1)(_MapActor)
        state_ref = ray.put(state)
        pool = ActorPool([actor.remote(state_ref, options.threads_per_actor) for _ in range(options.actors)])
        yield from pool.map(lambda a, item: a.run.remote(func, item), items)
    finally:
        if started:
            ray.shutdown()


def run_reconstruct(job: ReconstructJob, *, engine: str = "local", workers: int = 0,
                    ray_options: RayOptions | None = None, limit: int | None = None,
                    shard: tuple[int, int] | None = None, progress: bool = True, flush_every: int = 256,
                    on_row: Callable[[dict], None] | None = None) -> RunSummary:
    """Reconstruct every record of ``job.root`` not done before; write the exports and the results table.

    Parameters
    ----------
    job : ReconstructJob
    engine : {"local", "ray"}
    workers : int
        Local engine: processes (0: one per CPU, at most one per record).
    ray_options : RayOptions, optional
        Ray engine: the actor pool (default :class:`RayOptions`).
    limit, shard
        See :func:`list_tasks`.
    progress : bool
        A progress bar with rate and ETA on stderr (and a log line every 30 s).
    flush_every : int
        Rows per Parquet part (also flushed every 30 s).
    on_row : callable, optional
        Called with every row written (done or failed), e.g. to print errors.

    Returns
    -------
    RunSummary

    Raises
    ------
    ValueError
        For an unknown engine, an archive that is no folder or holds no record.
    """
    from tqdm import tqdm

    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is not known; expected one of {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    loaded = load_worker(job)  # the model digest keys the resume; a bad weights file fails here, once
    model = loaded[0]
    previous = _previous_rows(job, model.version)
    tasks = list_tasks(job, limit=limit, shard=shard, previous=previous)
    if not tasks and limit != 0:
        raise ValueError(f"{job.root}: no records found (looked for .hea, .edf, .h5, .csv, ...)")
    compact_results(job.out)
    summary = RunSummary(listed=len(tasks), model_digest=model.version, method=model.method)
    log.info("%d records listed under %s (%d done earlier for %s); engine %s", len(tasks), job.root,
             sum(bool(t["previous_digest"]) for t in tasks), model.version, engine)
    if engine == "local":
        rows = _local_rows(job, tasks, workers or min(len(tasks), os.cpu_count() or 1) or 1, loaded)
    else:
        rows = _ray_rows(job, tasks, ray_options or RayOptions())
    writer = _ResultsWriter(job.out, flush_every=flush_every)
    seen: set[str] = set()
    bar = tqdm(total=len(tasks), desc=f"reconstruct ({engine})", unit="rec", disable=not progress, smoothing=0.1)
    last_log = time.monotonic()
    for row in rows:
        bar.update(1)
        if row["record_id"] in seen:  # a retried batch that had already come back: never twice
            continue
        seen.add(row["record_id"])
        if row["status"] == "skipped":
            summary.skipped += 1
            continue
        summary.done += row["status"] == "ok"
        summary.failed += row["status"] == "failed"
        writer.add(row)
        if on_row is not None:
            on_row(row)
        if time.monotonic() - last_log > 30.0:
            last_log = time.monotonic()
            _log_progress(len(seen), len(tasks), time.perf_counter() - t0)
    bar.close()
    writer.flush()
    compact_results(job.out)
    summary.seconds = time.perf_counter() - t0
    log.info("%d done, %d skipped, %d failed of %d in %.1f s", summary.done, summary.skipped, summary.failed,
             summary.listed, summary.seconds)
    return summary


def _log_progress(n: int, total: int, seconds: float) -> None:
    rate = n / seconds if seconds > 0 else 0.0
    eta = (total - n) / rate if rate > 0 else float("nan")
    log.info("%d/%d records, %.2f records/s, ETA %.0f s", n, total, rate, eta)


def summarise_results(table) -> dict[str, object]:
    """Counts of a results table (:func:`read_results`): records, statuses, grades, flagged records."""
    ok = table[table["status"] == "ok"]
    grades: dict[str, int] = {}
    for gs in ok["grades"]:
        for g in gs if gs is not None else []:
            grades[g] = grades.get(g, 0) + 1
    return {"records": len(table), "ok": len(ok), "failed": int((table["status"] == "failed").sum()),
            "grades": dict(sorted(grades.items())),
            "worst_grade": ok["worst_grade"].value_counts(dropna=False).to_dict(),
            "leadcheck_flagged": int(sum(len(f) > 0 for f in ok["leadcheck_flags"] if f is not None))}
