"""Alembic revisions of the study database, oldest first (``0001_initial``, ...)."""
