"""Updating many rows by primary key in one statement per column set.

PostgreSQL gets a single ``UPDATE ... FROM unnest(arrays)``; executemany costs a round trip
per row there. Other databases (SQLite, in-process) get an executemany.
"""

from sqlalchemy import Table, bindparam, text

from app.extensions import db


def update_rows(table: Table, rows: list[dict], key: str = "id") -> None:
    """Apply ``rows`` (each the key column plus the columns to set) to ``table``."""
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        columns = tuple(sorted(name for name in row if name != key))
        by_columns.setdefault(columns, []).append(row)
    connection = db.session.connection()
    for columns, group in by_columns.items():
        if connection.dialect.name == "postgresql":
            _update_from_arrays(connection, table, key, columns, group)
        else:
            statement = (
                table.update()
                .where(table.c[key] == bindparam(f"_{key}"))
                .values({name: bindparam(f"_{name}") for name in columns})
            )
            connection.execute(statement, [{f"_{k}": v for k, v in row.items()} for row in group])


def _update_from_arrays(connection, table, key, columns, group) -> None:
    dialect = connection.dialect
    names = (key, *columns)
    selects = ", ".join(
        f"unnest(CAST(:{name} AS {table.c[name].type.compile(dialect)}[])) AS {name}"
        for name in names
    )
    assignments = ", ".join(f"{name} = source.{name}" for name in columns)
    statement = text(
        f"UPDATE {table.name} SET {assignments} "
        f"FROM (SELECT {selects}) AS source WHERE {table.name}.{key} = source.{key}"
    )
    connection.execute(statement, {name: [row[name] for row in group] for name in names})
