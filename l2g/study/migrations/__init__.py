"""Alembic migrations of the study database, run by :func:`l2g.study.store.upgrade` (no alembic.ini)."""
