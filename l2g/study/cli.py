"""``l2g study``: create a reader study, add readers, report and export the answers.

Usage::

    l2g study create --data DIR [--db URL] --trials N [--types pick,real_or_generated,diagnosis]
                     [--subsets "I;I,II;I,II,V2"] [--filter source=georgia] [--seed S]
                     [--records list.txt] [--require-token] [--name NAME] [--method model|linear] [--weights FILE]
    l2g study add-reader DB CODE [--token] [--study NAME]
    l2g study report DB [--study NAME] [--out DIR]
    l2g study export DB --out answers.csv [--study NAME]

``DB`` is a SQLite file or a URL (``postgresql://user@host/db``); ``--db`` defaults to
the environment variable ``L2G_STUDY_DB``, else ``study.db``. Registered in
:mod:`l2g.cli` as the ``study`` command; heavy modules are imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``study`` and its sub-commands to the ``l2g`` subparsers."""
    p = sub.add_parser("study", help="a blinded reader study: can readers tell generated leads from recorded ones?",
                       description="Create a reader study, add readers, report and export the answers "
                                   "(readers answer in the dashboard's 'Reader study' page). See docs/STUDY.md.")
    ss = p.add_subparsers(dest="study_command", metavar="SUBCOMMAND", required=True)

    c = ss.add_parser("create", help="choose the trials from a data folder and store them")
    c.add_argument("--data", required=True, metavar="DIR", help="folder of records (scanned like `l2g catalog`)")
    c.add_argument("--db", default=None, metavar="URL", help="database URL or SQLite file (default: $L2G_STUDY_DB, "
                                                             "else study.db)")
    c.add_argument("--trials", type=int, default=20, metavar="N", help="trials per type (default: %(default)s)")
    c.add_argument("--types", default="pick,real_or_generated,diagnosis",
                   help="comma-separated trial types (default: %(default)s)")
    c.add_argument("--subsets", default="I;I,II;I,II,V2", help="available-lead subsets, ';'-separated "
                                                              "(default: %(default)s)")
    c.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="source=..., dataset=... or diagnosis=... (substring); repeatable")
    c.add_argument("--records", type=Path, metavar="TXT", help="file with one record id per line")
    c.add_argument("--seed", default="l2g-study", help="seed of the design and of every reader's order")
    c.add_argument("--name", default="study", help="study name (unique in the database; default: %(default)s)")
    c.add_argument("--method", default="model", choices=["model", "linear"], help="generator (default: model)")
    c.add_argument("--weights", default=None, metavar="FILE",
                   help="generator checkpoint to study (default: l2g.pt of the weights folder)")
    c.add_argument("--require-token", action="store_true", help="every reader needs a token")
    c.set_defaults(func=_run_create)

    a = ss.add_parser("add-reader", help="add a reader (prints the token once when --token)")
    a.add_argument("db", metavar="DB")
    a.add_argument("code", metavar="CODE", help="reader code (pseudonymous)")
    a.add_argument("--token", action="store_true", help="make a random token for this reader")
    a.add_argument("--study", default=None, help="study name (default: the only study)")
    a.set_defaults(func=_run_add_reader)

    r = ss.add_parser("report", help="accuracy, kappas and times as Markdown (and CSVs with --out)")
    r.add_argument("db", metavar="DB")
    r.add_argument("--study", default=None)
    r.add_argument("--out", type=Path, metavar="DIR", help="write report.md and one CSV per table here")
    r.set_defaults(func=_run_report)

    e = ss.add_parser("export", help="one CSV row per answered trial")
    e.add_argument("db", metavar="DB")
    e.add_argument("--study", default=None)
    e.add_argument("--out", type=Path, required=True, metavar="CSV")
    e.set_defaults(func=_run_export)


def _filters(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise ValueError(f"--filter {item!r}: expected KEY=VALUE with KEY source, dataset or diagnosis")
        out[key.strip()] = value.strip()
    return out


def _run_create(args: argparse.Namespace) -> int:
    from .design import StudyConfig, create_study, parse_subsets
    from .store import open_db

    records = []
    if args.records:
        records = [line.strip() for line in args.records.read_text().splitlines() if line.strip()]
    config = StudyConfig(name=args.name, data=str(args.data), trials=args.trials,
                         kinds=[k.strip() for k in args.types.split(",") if k.strip()],
                         subsets=parse_subsets(args.subsets), filters=_filters(args.filter), records=records,
                         seed=args.seed, method=args.method, weights=args.weights,
                         require_token=args.require_token)
    engine = open_db(args.db)
    study = create_study(engine, config)
    n = _count_trials(engine, study.id)
    print(f"study {study.name!r}: {n} trials, model {study.model_version}, in "
          f"{engine.url.render_as_string(hide_password=True)}")
    return 0


def _count_trials(engine, study_id: int) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from .store import Trial

    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Trial).where(Trial.study_id == study_id)))


def _run_add_reader(args: argparse.Namespace) -> int:
    from .store import add_reader, get_study, open_db

    engine = open_db(args.db)
    study = get_study(engine, args.study)
    token = add_reader(engine, study, args.code, token=bool(args.token))
    print(f"reader {args.code!r} added to study {study.name!r}")
    if token:
        print(f"token (shown once, only its hash is stored): {token}")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from .report import study_report
    from .store import get_study, open_db

    engine = open_db(args.db)
    report = study_report(engine, get_study(engine, args.study))
    sys.stdout.write(report.to_markdown() + "\n")
    if args.out:
        for path in report.write(args.out):
            print(f"wrote {path}", file=sys.stderr)
    return 0


#: Columns of ``l2g study export``, in order.
EXPORT_COLUMNS = ["study", "reader", "trial", "kind", "record", "panels", "lead", "subset", "k", "variant", "truth",
                  "answer", "confidence", "free_text", "seconds", "shown_at", "answered_at"]


def _run_export(args: argparse.Namespace) -> int:
    from .store import answers_frame, get_study, open_db

    engine = open_db(args.db)
    df = answers_frame(engine, get_study(engine, args.study))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df[EXPORT_COLUMNS].to_csv(args.out, index=False)
    print(f"wrote {len(df)} answers to {args.out}", file=sys.stderr)
    return 0
