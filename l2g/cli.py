"""The ``l2g`` command line.

Usage::

    l2g catalog DIR [--out catalog.csv] [--split-out splits/split.csv] [--seed l2g-v1]
    l2g report REC --available I,II,V2 --out report.pdf [--paper Letter] [--speed 50] [--gain 20]
    python -m l2g catalog ../shared/data

Each subcommand is one function that adds its parser, registered with
:func:`command`. The parser's ``func`` default is the function that runs it
and returns the exit code. To add a command::

    @command("train")
    def _train_parser(sub):
        p = sub.add_parser("train", help="...", description="...")
        p.add_argument(...)
        p.set_defaults(func=_run_train)

Import heavy modules (torch) inside the run function, not at the top, so that
``l2g catalog`` and ``l2g --help`` stay fast.

Errors: a ValueError or OSError raised by a command is reported as one line,
``l2g: error: <file>: <problem>``, on stderr, with exit code 2 and no traceback.
Usage errors exit with status 2 as argparse reports them. Ctrl-C exits with
status 130. The notes of an odd but readable file (``Record.meta.notes``) are
printed as ``l2g: note: <file>: <finding>`` lines and warnings (the fallback to
the linear baseline) as ``l2g: warning: ...`` lines once a record has been
reconstructed; a failed record prints only its error line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .stream import CHUNK_S, STREAM_OVER_S

__all__ = ["main", "command", "build_parser", "COMMANDS"]

PROG = "l2g"

#: Registered subcommands: name -> function adding its parser to the subparsers action.
COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {}


def command(name: str) -> Callable[[Callable[[argparse._SubParsersAction], None]], Callable]:
    """Register a function that adds the parser of subcommand ``name``.

    The function receives the subparsers action, calls ``add_parser(name,
    ...)``, and sets ``func`` (``Namespace -> int`` exit code) with
    ``set_defaults``.
    """

    def register(add: Callable[[argparse._SubParsersAction], None]) -> Callable:
        if name in COMMANDS:
            raise ValueError(f"l2g command {name!r} is registered twice")
        COMMANDS[name] = add
        return add

    return register


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="L2G-ECG: reconstruct the missing leads of a 12-lead ECG.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    return parser


def _suffixes_help() -> str:
    """The suffixes a record may have, for the help: every reader's (:func:`l2g.io.readers`), in its order."""
    from .io._registry import upload_suffixes

    return ", ".join(upload_suffixes())


def _name_once(path: Path, message: str) -> str:
    """``<file>: <problem>``, without naming the file twice when the message already starts with it."""
    head = message.split(": ", 1)[0]
    return message if Path(head).with_suffix("") == path.with_suffix("") else f"{path}: {message}"


def _describe(exc: BaseException) -> str:
    """One line ``<file>: <problem>`` for an error."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name. The default is ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit code: 0 for success, 2 for bad usage or a ValueError/OSError,
        130 on Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except (ValueError, OSError) as exc:
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


# ------------------------------------------------------------------- catalog
@command("catalog")
def _catalog_parser(sub: argparse._SubParsersAction) -> None:
    from .catalog import DEFAULT_FRACTIONS, DEFAULT_SEED

    p = sub.add_parser(
        "catalog",
        help="scan a folder of ECG records into a table and a train/val/test split",
        description=(
            "Read every record under DIR (WFDB .hea, EDF, SPH .h5, lead-column CSV). Print the number of "
            "records per dataset and source, and list each record that could not be read, with the reason. "
            "Broken records do not change the exit code."
        ),
    )
    p.add_argument("dir", metavar="DIR", nargs="?", help="folder to scan, e.g. ../shared/data")
    p.add_argument(
        "--data", action="append", default=[], metavar="[NAME=]DIR",
        help="a further data folder (repeatable). The first folder (DIR or the first --data) keeps its record ids; "
        "the others are scanned header-only (cached under ~/.cache/l2g) and their ids get the prefix NAME/ "
        "(default: the folder's name). With --split-out, the first folder is split as usual and the others go "
        "to train, except copies of shared val/test records (see l2g.catalog.split_extra)",
    )
    p.add_argument("--out", metavar="CSV", help="write the catalogue (one row per record) to this CSV")
    p.add_argument(
        "--split-out", metavar="CSV",
        help="write the train/val/test split (record_id,split; ids only) to this CSV, e.g. splits/split.csv",
    )
    p.add_argument("--seed", default=DEFAULT_SEED, help=f"split seed (default: {DEFAULT_SEED})")
    p.add_argument(
        "--fractions", nargs=3, type=float, metavar=("TRAIN", "VAL", "TEST"), default=DEFAULT_FRACTIONS,
        help="split shares (default: %(default)s)",
    )
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    p.set_defaults(func=_run_catalog)


def _run_catalog(args: argparse.Namespace) -> int:
    import pandas as pd

    from .catalog import save_split, scan, split

    dirs = ([args.dir] if args.dir else []) + list(args.data)
    if not dirs:
        raise ValueError("catalog: give a folder to scan (DIR or --data DIR)")
    progress = False if args.no_progress else None
    if len(dirs) == 1:
        table = scan(dirs[0], progress=progress)
        parts = split(table, fractions=args.fractions, seed=args.seed) if args.split_out else None
    else:
        table, parts = _scan_several(dirs, args, progress)
    args.dir = ", ".join(str(d) for d in dirs)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False, lineterminator="\n")
    if parts is not None:
        save_split(parts, args.split_out)

    ok = table["error"] == ""
    print(f"{args.dir}: {len(table)} records, {int(ok.sum())} read, {int((~ok).sum())} failed")
    if len(table):
        summary = (
            table.assign(ok=ok, failed=~ok)
            .groupby(["dataset", "source"], sort=True)
            .agg(
                records=("record_id", "size"),
                ok=("ok", "sum"),
                failed=("failed", "sum"),
                fs_hz=("fs", lambda s: ",".join(f"{v:g}" for v in sorted(s.dropna().unique())) or "-"),
                duration_s=("duration_s", _range_text),
            )
        )
        if parts is not None:
            counts = parts.groupby(["dataset", "source", "split"]).size().unstack(fill_value=0)
            counts = counts.reindex(columns=["train", "val", "test"], fill_value=0)
            summary = summary.join(counts).fillna(0)
            for col in ("train", "val", "test"):
                summary[col] = summary[col].astype(int)
        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(summary.reset_index().to_string(index=False))
    if parts is not None:
        n = parts["split"].value_counts().reindex(["train", "val", "test"], fill_value=0)
        print(
            f"split (seed {args.seed!r}): train {n['train']}, val {n['val']}, test {n['test']} "
            f"-> {args.split_out}"
        )
    if args.out:
        print(f"catalogue -> {args.out}")
    warned = table[table["warnings"] != ""]
    if len(warned):
        print(f"\n{len(warned)} record(s) read with warnings:")
        for rid, text in zip(warned["record_id"], warned["warnings"], strict=True):
            print(f"  {rid}: {text}")
    failed = table[~ok]
    if len(failed):
        print(f"\n{len(failed)} record(s) could not be read:")
        for rid, err in zip(failed["record_id"], failed["error"], strict=True):
            print(f"  {rid}: {err}")
    return 0


def _scan_several(dirs: list, args: argparse.Namespace, progress: bool | None):
    """Catalogue and split of several folders: the first split by the usual rule, the others by split_extra."""
    import pandas as pd

    from .catalog import data_roots, scan_roots, split, split_extra

    roots = data_roots(dirs)
    table = scan_roots(roots, progress=progress)
    parts = None
    if args.split_out:
        primary = table[table["root"] == ""]
        parts = split(primary, fractions=args.fractions, seed=args.seed)
        extra = table[(table["root"] != "") & (table["error"] == "")]
        placed = split_extra(parts, extra["record_id"].tolist()).merge(
            extra[["record_id", "dataset", "source"]], on="record_id")
        for reason, n in placed["reason"].str.split(":").str[0].value_counts().items():
            if reason:
                print(f"extra folders: {n} record(s) left out as {reason} of shared records")
        parts = pd.concat([parts, placed.loc[placed["split"] == "train", ["record_id", "dataset", "source", "split"]]],
                          ignore_index=True)
    return table.drop(columns="root"), parts


def _range_text(values) -> str:
    v = values.dropna()
    if v.empty:
        return "-"
    lo, hi = float(v.min()), float(v.max())
    return f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"


# ------------------------------------------------------------------ train
@command("train")
def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the generator (and its VTT discriminator) on a data folder",
        description="Train the L2G generator on the train split of DIR, validate every epoch on the val split. "
        "Resumes from OUT's .ckpt when present. Runs under torchrun for DistributedDataParallel.",
    )
    p.add_argument(
        "--data", required=True, action="append", metavar="[NAME=]DIR",
        help="root folder of the ECG archives; repeat for more folders (e.g. PTB-XL records100): the first one is "
        "the one the split CSV describes, the others add training records (ids NAME/..., NAME defaults to the "
        "folder's name), never copies of shared val/test records",
    )
    p.add_argument("--out", required=True, type=Path, help="where to write the best checkpoint, e.g. weights/l2g.pt")
    p.add_argument("--config", type=Path, help="JSON or TOML file with TrainConfig fields")
    p.add_argument("--split", type=Path, default=None, help="split CSV (record_id,split); default splits/split.csv")
    p.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if a .ckpt exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    import logging

    from .train import load_config, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    from .catalog import data_roots

    roots = data_roots(args.data)  # checks every folder exists
    cfg = load_config(args.config, data_dir=str(roots[0].path), data_dirs=list(args.data), epochs=args.epochs,
                      split_csv=str(args.split) if args.split else None)
    summary = train(cfg, args.out, resume=not args.no_resume, progress=not args.no_progress)
    print(f"best epoch {summary['best_epoch']}: val MSE {summary['val_mse']:.5f} mV², r {summary['val_r']:.4f} "
          f"(linear {summary['linear_val_mse']:.5f} / {summary['linear_val_r']:.4f}); wrote {args.out}")
    return 0


@command("calibrate")
def _calibrate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit a trained generator's residual factors per k on the validation split",
        description="Fit, for k = 1..7 available leads, the factor on the generator's learned residual over the "
        "linear solution that minimises validation MSE, and store it in the checkpoint (model_args.residual_scale). "
        "Uses only the validation split of DIR. `l2g train` does this itself when its config has \"calibrate\": true.",
    )
    p.add_argument("weights", type=Path, help="a checkpoint written by l2g train, e.g. weights/l2g.pt")
    p.add_argument("--data", type=Path, default=None, help="root folder of the ECG archives; default: the training one")
    p.add_argument("--out", type=Path, default=None, help="write here instead of overwriting WEIGHTS")
    p.set_defaults(func=_run_calibrate)


def _run_calibrate(args: argparse.Namespace) -> int:
    from .train import calibrate

    if not args.weights.is_file():
        raise ValueError(f"{args.weights}: no such checkpoint file")
    if args.data is not None and not args.data.is_dir():
        raise ValueError(f"{args.data}: no such directory")
    cal = calibrate(args.weights, args.out, data_dir=args.data)["calibration"]
    print(f"residual scale k=1..7: {', '.join(f'{v:.3f}' for v in cal['residual_scale'])}; validation "
          f"MSE/linear over k {cal['val_rel_before']:.4f} -> {cal['val_rel_after']:.4f}; "
          f"wrote {args.out or args.weights}")
    return 0


# ------------------------------------------------------------ reconstruct
@command("reconstruct")
def _reconstruct_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="generate the missing leads of a record (or of every record in a folder)",
        description="Reconstruct the full 12-lead ECG from the available leads and write it as WFDB, CSV or "
        "DICOM (canonical lead order I ... V6; recorded leads unchanged; generated leads marked: WFDB header "
        "comments, CSV '# L2G:' lines and '_generated' columns, DICOM '(GENERATED)' channel labels and annotations).",
    )
    p.add_argument("record", type=_path_or_uri,
                   help=f"a record ({_suffixes_help()}), a folder of records, or a folder on object storage "
                        "(s3://bucket/folder, gs://...; docs/SCALE.md)")
    p.add_argument("--available", required=True, help="comma-separated available leads, e.g. I,II,V2")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--method", choices=("model", "linear"), default="model")
    p.add_argument("--weights", type=Path, default=None, help="generator checkpoint (default weights/l2g.pt)")
    p.add_argument("--fs", type=float, default=None, help="sampling rate for CSV files without a time column")
    p.add_argument("--workers", type=int, default=0, help="parallel worker processes for a folder (0 = auto)")
    p.add_argument("--format", choices=("wfdb", "csv", "dicom"), default="wfdb",
                   help="output format: WFDB .hea/.dat (default), CSV, or a DICOM 12-lead ECG .dcm")
    p.add_argument("--deidentify", action="store_true",
                   help="write no patient name, ID or birth date (age and sex kept)")
    p.add_argument("--interval", type=float, default=None, metavar="LEVEL",
                   help="also write the calibrated confidence band of coverage LEVEL (e.g. 0.9) beside the "
                        "signal: WFDB and DICOM: a companion WFDB record NAME_band (LEAD_low, LEAD_high per "
                        "generated lead); CSV: two extra columns LEAD_low, LEAD_high per generated lead. Refused when "
                        "the calibration (weights/interval.json) was fitted for another generator than --weights. "
                        "With --prior: the personalised mode's band (weights/personal_interval.json) where that "
                        "mode was calibrated (the lead sets of reports/personal.md), else none and a note says why")
    p.add_argument("--prior", type=Path, default=None, metavar="EARLIER",
                   help="an earlier 12-lead ECG of the same patient (any readable format, >= 8 s): the generated "
                        "leads are personalised on it; refused (generic result, with a note) when its recorded "
                        "leads do not match this record's. Personalised results carry no band")
    p.add_argument("--prior-map", type=Path, default=None, metavar="CSV",
                   help="for a folder: a CSV with columns record,earlier (paths relative to the CSV); each listed "
                        "record is personalised on its earlier ECG, the others are generic")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("archives", "a folder: every record, a results table OUT/l2g_results (Parquet), "
                             "records done earlier for the same input, model and options skipped")
    _engine_arguments(g)
    g.add_argument("--limit", type=int, default=None, help="only the first N records (of the shard)")
    g.add_argument("--shard", default=None, metavar="I/N",
                   help="only shard I of N (by a hash of the record id), e.g. 0/4 on the first of four machines")
    g.add_argument("--flush-every", type=int, default=256, help="rows per Parquet part of the results table")
    g.add_argument("--stream-over", type=_stream_over, default=STREAM_OVER_S, metavar="SECONDS",
                   help=f"stream a record longer than this (default {STREAM_OVER_S:g} s) whose format reads ranges "
                        "(WFDB .dat, EDF, ISHNE): read, reconstructed and written in chunks, never whole in memory; "
                        "'never': read every record whole (docs/SCALE.md, 'Long (Holter) records')")
    g.add_argument("--chunk", type=float, default=CHUNK_S, metavar="SECONDS",
                   help=f"seconds per chunk of a long record (default {CHUNK_S:g}; 10 s of context on each side)")
    p.set_defaults(func=_run_reconstruct)


def _stream_over(text: str) -> float | None:
    """``--stream-over``: seconds, or ``never`` (None)."""
    if text.strip().lower() == "never":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds (e.g. 600) or 'never'") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds >= 0 (e.g. 600) or 'never'")
    return value


def _engine_arguments(g) -> None:
    """``--engine`` and the Ray actor pool's options, the same for every command that has an engine."""
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this machine (default); ray: a Ray actor pool (l2g.scale; docs/SCALE.md)")
    g.add_argument("--address", default=None,
                   help="ray: 'auto' or 'ray://HOST:10001' of a running cluster (default: a Ray instance started here)")
    g.add_argument("--actors", type=int, default=2, help="ray: actors (each loads the model once); default 2")
    g.add_argument("--cpus-per-actor", type=float, default=0.5,
                   help="ray: CPUs Ray reserves per actor (default 0.5: leaves CPUs to Ray Data's own tasks)")
    g.add_argument("--num-gpus", type=float, default=0.0, help="ray: GPUs per actor (default 0: CPU)")
    g.add_argument("--threads-per-actor", type=int, default=1, help="ray: torch threads per actor (default 1)")


def _ray_options(args: argparse.Namespace):
    """The :class:`l2g.scale.RayOptions` of :func:`_engine_arguments`' options."""
    from .scale import RayOptions

    return RayOptions(address=args.address, actors=args.actors, cpus_per_actor=args.cpus_per_actor,
                      gpus_per_actor=args.num_gpus, threads_per_actor=args.threads_per_actor)


def _prior_map(csv_path: Path) -> dict[str, Path]:
    """``--prior-map``: :func:`l2g.scale.prior_key` of a record -> its earlier ECG's path."""
    import csv

    if not csv_path.is_file():
        raise ValueError(f"--prior-map {csv_path}: no such file")
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"record", "earlier"} <= set(rows[0]):
        raise ValueError(f"--prior-map {csv_path}: expected a CSV with columns record,earlier")
    from .scale import prior_key

    base = csv_path.parent
    return {prior_key(base / r["record"]): (base / r["earlier"]) for r in rows}


def _personal_note(full) -> str | None:
    """The one line that says whether the earlier ECG was used (None without one)."""
    prov = full.meta.provenance
    if prov is None or (prov.prior is None and prov.note is None):
        return None
    return f"personalised on the {prov.prior}" if prov.prior else prov.note


def _write_output(record, out: Path, fmt: str, deidentify: bool) -> Path:
    """Write a reconstructed record into folder ``out`` as ``fmt``: :func:`l2g.export.write_export`, the
    export of the library and the dashboard too (provenance lines, the band beside the signal)."""
    from .export import write_export

    return write_export(record, fmt, out, deidentify=deidentify)[0]



def _load_model(weights: Path | None, method: str):
    """The reconstructor and the warnings its loading gave (e.g. the fallback to the linear baseline)."""
    import warnings

    from .reconstruction import load_reconstructor

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_reconstructor(weights, method=method)
    return model, [str(w.message) for w in caught]


def _check_band(model, interval: float | None) -> None:
    """Refuse ``--interval`` when the calibration was not fitted for ``model`` (a CalibrationMismatch: one line)."""
    if interval is not None:
        from .uncertainty import calibration_for

        calibration_for(model.version, model.method)


def _read_noted(path: Path, fs: float | None):
    """``read_record(path)`` and its notes (``meta.notes``), each on one line."""
    from .io import read_record

    rec = read_record(path, fs=fs)
    return rec, [" ".join(note.split()) for note in rec.meta.notes]


def _path_or_uri(text: str) -> Path | str:
    """A local path, or the URI of a folder on object storage kept as text (``Path`` would fold its ``//``)."""
    from .remote import is_remote

    return text if is_remote(text) else Path(text)


def _run_reconstruct(args: argparse.Namespace) -> int:
    from .leads import parse_lead_list
    from .remote import is_remote

    available = parse_lead_list(args.available)
    if not available:
        raise ValueError(f"--available {args.available!r}: give at least one lead, e.g. I,II,V2")
    if is_remote(args.record):  # an archive on object storage (l2g.remote): the archive path
        if args.prior is not None or args.prior_map is not None:
            raise ValueError(f"{args.record}: --prior and --prior-map take local records; for an archive on "
                             "object storage they are not supported (mount the bucket and pass the folder)")
        return _reconstruct_archive(args, available)
    if not args.record.exists():
        raise ValueError(f"{args.record}: no such file or directory")
    if args.record.is_file():  # read before the model loads: a bad file fails at once, with one line on stderr
        from .reconstruction import reconstruct

        rec, read_notes = _read_noted(args.record, args.fs)
        prior = args.prior
        if prior is None and args.prior_map is not None:
            from .scale import prior_key

            prior = _prior_map(args.prior_map).get(prior_key(args.record))
        earlier = _read_noted(prior, None)[0] if prior is not None else None
        model, notes = _load_model(args.weights, args.method)
        _check_band(model, args.interval)
        full = reconstruct(rec, available, model=model, interval=args.interval, prior=earlier)
        hea = _write_output(full, args.out, args.format, args.deidentify)
        personal = _personal_note(full)
        for note in notes:
            print(f"{PROG}: warning: {note}", file=sys.stderr)
        for note in read_notes + ([personal] if personal else []):
            print(f"{PROG}: note: {note}", file=sys.stderr)
        mode = "; personalised" if full.meta.provenance.prior else ""
        print(f"{args.record} -> {hea} ({model.method}: {model.version}{mode})")
        return 0
    if args.prior is not None:
        raise ValueError(f"--prior {args.prior}: one earlier ECG for a folder of records; give --prior-map CSV "
                         "(columns record,earlier) instead")
    # a folder: only now the engine (l2g.scale: the folder walk, the pool or Ray, the results table)
    return _reconstruct_archive(args, available)


def _reconstruct_archive(args: argparse.Namespace, available: tuple[str, ...]) -> int:
    import logging

    from tqdm import tqdm

    from .scale import ReconstructJob, parse_shard, run_reconstruct

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    shard = parse_shard(args.shard)
    priors = _prior_map(args.prior_map) if args.prior_map else {}
    model, notes = _load_model(args.weights, args.method)
    _check_band(model, args.interval)
    for note in notes:
        print(f"{PROG}: warning: {note}", file=sys.stderr)
    job = ReconstructJob(args.record, args.out, tuple(available), fmt=args.format, method=args.method,
                         weights=args.weights, fs=args.fs, deidentify=args.deidentify, interval=args.interval,
                         priors={key: str(e.resolve()) for key, e in priors.items()},
                         stream_over=args.stream_over, chunk_s=args.chunk)
    ray_options = _ray_options(args)

    def report(row: dict) -> None:  # errors and reader notes, one line each, above the bar
        if row["error"]:
            tqdm.write(f"{PROG}: error: {_name_once(Path(row['source_file']), row['error'])}", file=sys.stderr)
        for note in row["notes"] or []:
            tqdm.write(f"{PROG}: note: {note}", file=sys.stderr)

    summary = run_reconstruct(job, engine=args.engine, workers=args.workers, ray_options=ray_options,
                              limit=args.limit, shard=shard, progress=not args.no_progress,
                              flush_every=args.flush_every, on_row=report)
    print(f"{summary.done + summary.skipped} of {summary.listed} records reconstructed into {args.out} "
          f"({summary.method}: {summary.model_digest}); {summary.failed} failed, {summary.skipped} done earlier "
          f"(skipped); results table {args.out / 'l2g_results'}")
    return 1 if summary.failed else 0


# ------------------------------------------------------------------ report
@command("report")
def _report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="print a reconstructed record as a one-page 12-lead PDF at true paper scale",
        description="Reconstruct the record from the available leads and write the printable report "
        "(l2g.report.write_report_pdf, the viewer's report download too): A4 or Letter landscape, 25 or 50 mm/s, "
        "5/10/20 mm/mV, 3x4 + Lead-II rhythm strip with calibration pulses, the cart's measurements and "
        "statements, our Lead-II measurements, generated leads dashed and labelled with their trust grade. "
        "Print it at 100 %% (actual size).",
    )
    p.add_argument("record", type=Path, help=f"one record ({_suffixes_help()})")
    p.add_argument("--available", required=True, help="comma-separated available leads, e.g. I,II,V2")
    p.add_argument("--out", required=True, type=Path, help="the PDF to write, e.g. report.pdf")
    p.add_argument("--paper", default="A4", help="A4 (default) or Letter, landscape")
    p.add_argument("--speed", type=float, default=25.0, help="paper speed in mm/s: 25 (default) or 50")
    p.add_argument("--gain", type=float, default=10.0, help="gain in mm/mV: 5, 10 (default) or 20")
    p.add_argument("--start", type=float, default=0.0, metavar="S",
                   help="first second shown (a page shows 10 s at 25 mm/s, 5 s at 50 mm/s); default 0")
    p.add_argument("--interval", type=float, default=None, metavar="LEVEL",
                   help="also draw the calibrated confidence band of coverage LEVEL (e.g. 0.9) around the generated "
                        "leads; refused when the calibration was fitted for another generator than --weights")
    p.add_argument("--deidentify", action="store_true",
                   help="no record name, patient name, identifiers or dates in the PDF (age and sex kept)")
    p.add_argument("--method", choices=("model", "linear"), default="model")
    p.add_argument("--weights", type=Path, default=None, help="generator checkpoint (default weights/l2g.pt)")
    p.add_argument("--fs", type=float, default=None, help="sampling rate for CSV files without a time column")
    p.add_argument("--prior", type=Path, default=None, metavar="EARLIER",
                   help="an earlier 12-lead ECG of the same patient (any readable format, >= 8 s): the generated "
                        "leads are personalised on it and the page says so; refused (generic, with a note) when its "
                        "recorded leads do not match this record's")
    p.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from .leads import parse_lead_list
    from .report import page_geometry

    available = parse_lead_list(args.available)
    if not available:
        raise ValueError(f"--available {args.available!r}: give at least one lead, e.g. I,II,V2")
    if args.out.suffix.lower() != ".pdf":
        raise ValueError(f"--out {args.out}: the report is a PDF; give a file name ending in .pdf")
    page_geometry(args.paper, args.speed, args.gain)  # a paper, speed or gain not offered fails before any work
    if args.record.is_dir():
        raise ValueError(f"{args.record}: a folder; l2g report prints one record (l2g reconstruct takes folders)")
    if not args.record.exists():
        raise ValueError(f"{args.record}: no such file")
    from .reconstruction import reconstruct
    from .report import write_report_pdf

    rec, read_notes = _read_noted(args.record, args.fs)
    earlier = _read_noted(args.prior, None)[0] if args.prior is not None else None
    model, notes = _load_model(args.weights, args.method)
    _check_band(model, args.interval)
    full = reconstruct(rec, available, model=model, interval=args.interval, prior=earlier)
    personal = _personal_note(full)
    if personal:
        read_notes = read_notes + [personal]
    write_report_pdf(full, args.out, paper=args.paper, speed=args.speed, gain=args.gain, start_s=args.start,
                     band=args.interval is not None, deidentify=args.deidentify, model=model)
    for note in notes:
        print(f"{PROG}: warning: {note}", file=sys.stderr)
    for note in read_notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    print(f"{args.record} -> {args.out} ({args.paper}, {args.speed:g} mm/s, {args.gain:g} mm/mV; "
          f"{model.method}: {model.version})")
    return 0


# --------------------------------------------------------------- evaluate
@command("evaluate")
def _evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="the 1..7-available-lead study on a split, model beside the linear baseline",
        description="Reconstruct every record of a split from every planned lead subset (k = 1..7) with the "
        "model and the linear baseline, score the generated leads, and write reports/evaluation.{md,json}.",
    )
    p.add_argument("--data", required=True, type=Path, help="root folder of the ECG archives")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--split-csv", type=Path, default=Path("splits/split.csv"))
    p.add_argument("--out", type=Path, default=Path("reports"))
    p.add_argument("--weights", type=Path, default=None, help="generator checkpoint (default weights/l2g.pt)")
    p.add_argument("--linear", type=Path, default=None, help="linear baseline (default weights/linear.pt)")
    p.add_argument("--previous", type=Path, default=None,
                   help="an earlier generator checkpoint scored beside the model as method 'previous' "
                   "(e.g. the model a retrained one replaces)")
    p.add_argument("--subsets-per-k", type=int, default=12, help="random subsets per k >= 2 (plus presets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N records (smoke runs)")
    p.add_argument("--no-progress", action="store_true")
    _engine_arguments(p.add_argument_group("engine", "where the per-record scoring runs (the same numbers)"))
    p.set_defaults(func=_run_evaluate)


def _lead_ii_features(signal_mv, fs, r_peaks=None):
    """Lead-II intervals and amplitudes with the project's default delineator (R peaks found earlier, or None)."""
    from .morphology import delineate, intervals

    return intervals(delineate(signal_mv, fs, r_peaks=r_peaks))


def _run_evaluate(args: argparse.Namespace) -> int:
    import logging
    import shlex
    import time

    from .evaluate import StudyConfig, load_split_records, run_study, summarise_by_k, write_report
    from .reconstruction import load_reconstructor

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    if not args.data.is_dir():
        raise ValueError(f"{args.data}: no such directory")
    t0 = time.time()
    model = load_reconstructor(args.weights, method="model", linear=args.linear)
    methods = {"linear": load_reconstructor(method="linear", linear=args.linear)}
    if args.previous is not None:
        if not args.previous.is_file():
            raise ValueError(f"--previous {args.previous}: no such file (an l2g generator checkpoint)")
        methods = {"previous": load_reconstructor(args.previous, method="model", linear=args.linear), **methods}
    if model.method == "model":
        methods = {"model": model, **methods}
    records = load_split_records(args.data, args.split_csv, args.split)[: args.limit]
    cfg = StudyConfig(subsets_per_k=args.subsets_per_k, seed=args.seed)
    result = run_study(records, methods, cfg, progress=not args.no_progress, morphology=_lead_ii_features,
                       engine=args.engine, ray_options=_ray_options(args))
    meta = {"split": args.split, "command": "l2g " + shlex.join(sys.argv[1:]) if sys.argv else "l2g evaluate",
            "versions": {name: m.version for name, m in methods.items()}, "seconds": time.time() - t0}
    delin = Path("reports/delineation_ludb.md")
    write_report(result, args.out, cfg, meta, delineation_md=delin.read_text() if delin.exists() else None)
    print(summarise_by_k(result.rows, result.profiles)[["method", "k", "mse", "r", "ssim", "aup_s", "aup_m"]]
          .to_string(index=False))
    print(f"wrote {args.out / 'evaluation.md'} in {time.time() - t0:.0f} s")
    return 0


# ------------------------------------------------------------------ study
@command("study")
def _study_parser(sub: argparse._SubParsersAction) -> None:
    from .study.cli import add_parser  # l2g/study/cli.py: create, add-reader, report, export

    add_parser(sub)
