"""Alembic environment: runs on the connection that coprod_nb.storage.connect hands over."""

from alembic import context

from coprod_nb.storage.models import Base

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # The search indexes are made by hand: FTS5's shadow tables in 0001 (SQLite),
    # turn_search in 0018 (PostgreSQL, kept by triggers); the models leave them out, and
    # autogenerate must not drop them.
    return not (type_ == "table" and name.startswith(("turn_fts", "turn_search")))


connection = config.attributes.get("connection")

if connection is None:  # `alembic` command line, for writing new revisions
    from sqlalchemy import create_engine

    connectable = create_engine(config.get_main_option("sqlalchemy.url"))
    with connectable.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=Base.metadata,
            render_as_batch=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
