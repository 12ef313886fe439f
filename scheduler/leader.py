"""A single-instance lock, so that a second scheduler process started by mistake stays idle."""

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# Arbitrary constant shared by every scheduler process of this application.
ADVISORY_LOCK_KEY = 7_412_003_221


class LeaderLock:
    """Hold a PostgreSQL advisory lock, or an flock on a file next to the SQLite database."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection: Connection | None = None
        self._file = None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._acquire_advisory()
        return self._acquire_file()

    def _acquire_advisory(self) -> bool:
        # The lock lives as long as this connection, so keep it open while the process runs.
        self._connection = self.engine.connect()
        got = self._connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
        self._connection.commit()
        if not got:
            self._connection.close()
            self._connection = None
        return bool(got)

    def _acquire_file(self) -> bool:
        database = self.engine.url.database or "memory"
        path = Path(f"{database}.scheduler.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            return False
        self._file.write(str(os.getpid()))
        self._file.flush()
        return True

    def release(self) -> None:
        if self._connection is not None:
            # Closing only returns the connection to the pool, where a session-level lock
            # would live on, so unlock explicitly.
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None
