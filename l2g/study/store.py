"""The study database: tables, opening (with migrations), and the reader's operations.

One database holds one or more studies. SQLite by default (a file, WAL mode, foreign
keys on); any PostgreSQL server through a URL. Opening a database runs the Alembic
migrations shipped in :mod:`l2g.study.migrations` up to the newest revision, so a
database made by an older version of this code is upgraded in place.

Tables
------
``study``       name, config (JSON), seed, model version, creation time
``trial``       one screen a reader judges: kind, record id, lead(s), subset, truth (JSON),
                and what to draw (``panels`` names, ``fs``, ``signal``: int16 microvolts,
                compressed) - rendered once at creation, so showing a trial costs the same
                whatever it holds (no timing cue) and needs no model
``reader``      code, optional token (salted scrypt hash, never the token)
``assignment``  the reader's order of the trials (a seeded shuffle), one row per trial
``answer``      reader, trial, answer (JSON), confidence, seconds, free text, timestamps;
                unique (reader, trial): a trial is answered once

Every :func:`submit_answer` commits before it returns; the page asks for the next
trial only after that, so a crash loses at most the trial on screen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = [
    "DEFAULT_DB",
    "ENV_DB",
    "StudyError",
    "Base",
    "Study",
    "Trial",
    "Reader",
    "Assignment",
    "Answer",
    "TrialView",
    "resolve_url",
    "open_db",
    "upgrade",
    "pack_signal",
    "unpack_signal",
    "hash_token",
    "check_token",
    "get_study",
    "list_studies",
    "add_reader",
    "login",
    "next_trial",
    "submit_answer",
    "progress",
    "answers_frame",
]

#: The database used when none is named: a SQLite file in the working folder.
DEFAULT_DB = "study.db"
#: Environment variable naming the study database (a URL or a SQLite file path).
ENV_DB = "L2G_STUDY_DB"


class StudyError(ValueError):
    """A study operation that cannot be done (unknown study or reader, wrong token, answered twice)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Study(Base):
    __tablename__ = "study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    config: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Trial(Base):
    __tablename__ = "trial"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1.. within the study (creation order)
    kind: Mapped[str] = mapped_column(String(40))  # pick | real_or_generated | diagnosis
    record_id: Mapped[str] = mapped_column(String(500))
    record_path: Mapped[str] = mapped_column(Text)
    lead: Mapped[str] = mapped_column(String(40))  # the judged lead(s), comma-separated ("" for a page)
    subset: Mapped[str] = mapped_column(String(100))  # the available leads the generator was given
    variant: Mapped[str] = mapped_column(String(40), default="")  # diagnosis: recorded | reconstructed
    pair: Mapped[str] = mapped_column(String(600), default="")  # diagnosis: record + subset, joins the two pages
    truth: Mapped[dict] = mapped_column(JSON)
    panels: Mapped[list] = mapped_column(JSON)  # panel labels, one per signal row
    fs: Mapped[float] = mapped_column(Float)
    signal: Mapped[bytes] = mapped_column(LargeBinary)  # pack_signal(): int16 microvolts, compressed
    __table_args__ = (UniqueConstraint("study_id", "number"),)


class Reader(Base):
    __tablename__ = "reader"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    __table_args__ = (UniqueConstraint("study_id", "code"),)


class Assignment(Base):
    __tablename__ = "assignment"
    reader_id: Mapped[int] = mapped_column(ForeignKey("reader.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0.. in the reader's order
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id", ondelete="CASCADE"))
    __table_args__ = (UniqueConstraint("reader_id", "trial_id"),)


class Answer(Base):
    __tablename__ = "answer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("reader.id", ondelete="CASCADE"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id", ondelete="CASCADE"), index=True)
    answer: Mapped[Any] = mapped_column(JSON)
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seconds: Mapped[float] = mapped_column(Float)
    shown_at: Mapped[dt.datetime] = mapped_column(DateTime)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    free_text: Mapped[str] = mapped_column(Text, default="")  # added in revision 0002
    __table_args__ = (UniqueConstraint("reader_id", "trial_id"),)


# ------------------------------------------------------------------ opening
def resolve_url(db: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL of a study database.

    Parameters
    ----------
    db : str or path, optional
        A URL (``sqlite:///study.db``, ``postgresql://user@host/db``) or a SQLite
        file path. Default: the environment variable ``L2G_STUDY_DB``, else
        :data:`DEFAULT_DB` in the working folder.

    Returns
    -------
    str
        ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://`` (psycopg 3).

    Examples
    --------
    >>> resolve_url("postgresql://u@localhost/l2g")
    'postgresql+psycopg://u@localhost/l2g'
    >>> resolve_url("/tmp/x.db")
    'sqlite:////tmp/x.db'
    """
    value = str(db) if db is not None else os.environ.get(ENV_DB) or DEFAULT_DB
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix):]
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=FULL")  # an answer is on disk when submit_answer returns
    cur.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the shipped Alembic migrations on ``engine`` up to ``revision`` (default: the newest)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def open_db(db: str | os.PathLike[str] | None = None, *, migrate: bool = True) -> Engine:
    """Open (and create or upgrade) a study database.

    Parameters
    ----------
    db : str or path, optional
        See :func:`resolve_url`.
    migrate : bool
        Run the migrations up to the newest revision (default).

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    StudyError
        When the database cannot be reached or upgraded (the message names the URL, password hidden).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_url(db)
    shown = make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        try:
            upgrade(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StudyError(f"{shown}: cannot open the study database: {' '.join(str(exc.orig or exc).split())}"
                             ) from None
    return engine


# ------------------------------------------------------------------ signals and tokens
def pack_signal(signal_mv: np.ndarray) -> bytes:
    """Traces (panels, samples) in mV as compressed int16 microvolts (values clipped to +-32.767 mV).

    Recorded and generated traces pass through the same rounding, so no trace
    carries more decimals than another.

    Examples
    --------
    >>> x = np.array([[0.0, 1.2346, -0.5]])
    >>> (unpack_signal(pack_signal(x)) * 1000).round().tolist()  # microvolts
    [[0.0, 1235.0, -500.0]]
    """
    uv = np.clip(np.round(np.asarray(signal_mv, dtype=np.float64) * 1000.0), -32767, 32767).astype(np.int16)
    buf = io.BytesIO()
    np.savez_compressed(buf, uv=uv)
    return buf.getvalue()


def unpack_signal(blob: bytes) -> np.ndarray:
    """The inverse of :func:`pack_signal`: float32 mV, shape (panels, samples)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return z["uv"].astype(np.float32) / np.float32(1000.0)


def hash_token(token: str, *, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` of a reader token (scrypt, n=2**14, r=8, p=1)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(token.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_token(token: str, stored: str) -> bool:
    """Whether ``token`` matches a :func:`hash_token` string (constant-time comparison).

    Examples
    --------
    >>> h = hash_token("4b-river")
    >>> check_token("4b-river", h), check_token("4b-rivet", h), "4b-river" in h
    (True, False, False)
    """
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(hash_token(token, salt=bytes.fromhex(salt)).split("$")[2], digest)


# ------------------------------------------------------------------ studies and readers
def list_studies(engine: Engine) -> list[Study]:
    """Every study in the database, oldest first."""
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(select(Study).order_by(Study.id)))


def get_study(engine: Engine, name: str | None = None) -> Study:
    """The study called ``name``; without a name, the only study in the database.

    Raises
    ------
    StudyError
        When there is no such study, or no name and not exactly one study.
    """
    studies = list_studies(engine)
    names = [s.name for s in studies]
    if name is None:
        if len(studies) == 1:
            return studies[0]
        raise StudyError(f"{engine.url.render_as_string(hide_password=True)}: name the study; "
                         f"the database holds {names or 'none'}")
    for s in studies:
        if s.name == name:
            return s
    raise StudyError(f"{engine.url.render_as_string(hide_password=True)}: no study {name!r}; valid: {names or 'none'}")


def _order(seed: str, code: str, trial_ids: Sequence[int]) -> list[int]:
    """The reader's order of the trials: a shuffle seeded by the study seed and the reader code."""
    key = int.from_bytes(hashlib.sha256(f"{seed}\x00{code}".encode()).digest()[:8], "big")
    ids = list(trial_ids)
    return [ids[i] for i in np.random.default_rng(key).permutation(len(ids))]


def add_reader(engine: Engine, study: Study, code: str, *, token: bool | str = False) -> str | None:
    """Add a reader with their own order of the study's trials.

    Parameters
    ----------
    engine : Engine
    study : Study
    code : str
        The reader code (pseudonymous: not a name), unique within the study.
    token : bool or str
        True: make a random token; a string: use it; False: no token (allowed
        only when the study does not require one).

    Returns
    -------
    str or None
        The token, to hand to the reader; only its salted hash is stored.

    Raises
    ------
    StudyError
        For an empty or taken code, or no token where the study requires one.
    """
    code = code.strip()
    if not code:
        raise StudyError(f"study {study.name!r}: a reader code must not be empty")
    if token is False and study.config.get("require_token"):
        raise StudyError(f"study {study.name!r} requires a token per reader: add the reader with a token")
    plain = secrets.token_urlsafe(9) if token is True else (token or None)
    with Session(engine) as s:
        reader = Reader(study_id=study.id, code=code, token_hash=hash_token(plain) if plain else None)
        s.add(reader)
        try:
            s.flush()
        except IntegrityError:
            raise StudyError(f"study {study.name!r}: reader code {code!r} is taken") from None
        ids = s.scalars(select(Trial.id).where(Trial.study_id == study.id).order_by(Trial.number)).all()
        s.add_all(Assignment(reader_id=reader.id, position=i, trial_id=t)
                  for i, t in enumerate(_order(study.seed, code, ids)))
        s.commit()
    return plain


def login(engine: Engine, study: Study, code: str, token: str = "") -> int:
    """The id of the reader ``code`` after checking their token.

    Raises
    ------
    StudyError
        Unknown code, or a wrong or missing token (one message for both, so a
        guess learns nothing about which codes exist).
    """
    with Session(engine) as s:
        reader = s.scalars(select(Reader).where(Reader.study_id == study.id, Reader.code == code.strip())).first()
        ok = reader is not None and (reader.token_hash is None or check_token(token or "", reader.token_hash))
        if not ok:
            raise StudyError(f"study {study.name!r}: unknown reader code or wrong token")
        return reader.id


@dataclass(frozen=True)
class TrialView:
    """What a reader's page may know about a trial: never its truth, status or record.

    Attributes
    ----------
    trial_id : int
    kind : str
        ``"pick"``, ``"real_or_generated"`` or ``"diagnosis"``.
    position : int
        1-based place in the reader's order.
    total : int
        Number of trials assigned to the reader.
    panels : tuple of str
        Panel labels, one per signal row (lead names, or ``"A"``/``"B"``).
    signal : ndarray of float32, shape (panels, samples)
        mV, as rounded by :func:`pack_signal`.
    fs : float
        Hz.
    options : tuple of str
        Choices offered (the diagnosis list; the panels for the other kinds).
    """

    trial_id: int
    kind: str
    position: int
    total: int
    panels: tuple[str, ...]
    signal: np.ndarray
    fs: float
    options: tuple[str, ...]


def next_trial(engine: Engine, reader_id: int) -> TrialView | None:
    """The reader's first unanswered trial in their order (None when they are done)."""
    with Session(engine) as s:
        answered = select(Answer.trial_id).where(Answer.reader_id == reader_id)
        row = s.execute(
            select(Assignment.position, Trial, Study.config)
            .join(Trial, Trial.id == Assignment.trial_id).join(Study, Study.id == Trial.study_id)
            .where(Assignment.reader_id == reader_id, Assignment.trial_id.not_in(answered))
            .order_by(Assignment.position).limit(1)).first()
        if row is None:
            return None
        position, trial, config = row
        total = s.scalar(select(func.count()).select_from(Assignment).where(Assignment.reader_id == reader_id))
        options = tuple(config.get("diagnoses", ())) if trial.kind == "diagnosis" else tuple(trial.panels)
        return TrialView(trial_id=trial.id, kind=trial.kind, position=position + 1, total=int(total),
                         panels=tuple(trial.panels), signal=unpack_signal(trial.signal), fs=float(trial.fs),
                         options=options)


def submit_answer(engine: Engine, reader_id: int, trial_id: int, answer: Any, *, confidence: int | None,
                  shown_at: dt.datetime, free_text: str = "", answered_at: dt.datetime | None = None) -> None:
    """Store and commit one answer (``seconds`` = answered_at - shown_at).

    Raises
    ------
    StudyError
        When the trial is not assigned to the reader, or was answered already
        (a second tab, a double click): the first answer stands.
    """
    answered_at = answered_at or _now()
    if confidence is not None and not 1 <= int(confidence) <= 5:
        raise StudyError(f"confidence must be 1-5, got {confidence!r}")
    with Session(engine) as s:
        assigned = s.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.reader_id == reader_id, Assignment.trial_id == trial_id))
        if not assigned:
            raise StudyError(f"trial {trial_id} is not assigned to reader {reader_id}")
        s.add(Answer(reader_id=reader_id, trial_id=trial_id, answer=json.loads(json.dumps(answer)),
                     confidence=None if confidence is None else int(confidence),
                     seconds=max(0.0, (answered_at - shown_at).total_seconds()), shown_at=shown_at,
                     answered_at=answered_at, free_text=free_text or ""))
        try:
            s.commit()
        except IntegrityError:
            raise StudyError(f"trial {trial_id} was already answered by reader {reader_id}") from None


def progress(engine: Engine, study: Study) -> pd.DataFrame:
    """One row per reader: ``reader``, ``answered``, ``total``, ``token`` (whether one is required)."""
    with Session(engine) as s:
        rows = s.execute(
            select(Reader.code, Reader.token_hash,
                   select(func.count()).select_from(Answer).where(Answer.reader_id == Reader.id).scalar_subquery(),
                   select(func.count()).select_from(Assignment).where(Assignment.reader_id == Reader.id)
                   .scalar_subquery())
            .where(Reader.study_id == study.id).order_by(Reader.id)).all()
    return pd.DataFrame([(c, int(a), int(t), h is not None) for c, h, a, t in rows],
                        columns=["reader", "answered", "total", "token"])


def answers_frame(engine: Engine, study: Study) -> pd.DataFrame:
    """Every answered trial of ``study``, one row each, with the trial's design and truth.

    Columns: ``study``, ``reader``, ``trial`` (number), ``kind``, ``record``, ``lead``,
    ``subset``, ``k`` (number of available leads), ``variant``, ``pair``, ``panels``
    (the leads shown, ``;``-joined), ``truth`` and ``answer`` (JSON text),
    ``confidence``, ``free_text``, ``seconds``, ``shown_at``, ``answered_at``.
    Sorted by reader, then answer time.
    """
    with Session(engine) as s:
        rows = s.execute(
            select(Reader.code, Trial.number, Trial.kind, Trial.record_id, Trial.lead, Trial.subset, Trial.variant,
                   Trial.pair, Trial.panels, Trial.truth, Answer.answer, Answer.confidence, Answer.free_text,
                   Answer.seconds, Answer.shown_at, Answer.answered_at)
            .join(Answer, Answer.reader_id == Reader.id).join(Trial, Trial.id == Answer.trial_id)
            .where(Reader.study_id == study.id).order_by(Reader.code, Answer.answered_at, Trial.number)).all()
    cols = ["reader", "trial", "kind", "record", "lead", "subset", "variant", "pair", "panels", "truth", "answer",
            "confidence", "free_text", "seconds", "shown_at", "answered_at"]
    df = pd.DataFrame([tuple(r) for r in rows], columns=cols)
    df.insert(0, "study", study.name)
    df["k"] = df["subset"].map(lambda x: len([p for p in str(x).split(",") if p]))
    df["panels"] = df["panels"].map(lambda p: ";".join(p))
    df["truth"] = df["truth"].map(lambda v: json.dumps(v, sort_keys=True))
    df["answer"] = df["answer"].map(lambda v: json.dumps(v, sort_keys=True))
    df["confidence"] = df["confidence"].astype("Int64")
    return df
