"""Scratch databases for benchmark runs."""

import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url, text


class scratch_database:
    """A fresh database for one run: a SQLite file, or a PostgreSQL database made and dropped."""

    def __init__(self, url: str | None, folder: Path):
        self.url = url
        self.folder = folder
        self.admin = None
        self.name = None

    def __enter__(self) -> str:
        if not self.url:
            self.folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{self.folder / 'bench.db'}"
        server = make_url(_psycopg_url(self.url))
        self.name = f"bench_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        return server.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *_exc) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _psycopg_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
