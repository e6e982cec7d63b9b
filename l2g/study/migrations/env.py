"""Alembic environment: migrate the connection handed over by :func:`l2g.study.store.upgrade`."""

from alembic import context


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


# pytest --doctest-modules imports every module of l2g: outside an Alembic run there is no context
if hasattr(context, "config"):
    run_migrations()
