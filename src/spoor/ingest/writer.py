"""One writer thread: batches are written in order, each in its own transaction.

The pipeline goes on with the next hits while the database writes the last batch
(SQLite and psycopg release the GIL while they work). The queue is bounded, so a slow
database slows the producer down instead of filling memory. A failed write stops the
writer and is raised in the producer at its next call; batches already queued when the
producer stops (even by Ctrl-C) are still written on close: nothing accepted is lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Connection, Engine

from spoor.ingest.store import Batch, write_batch


class WriteError(Exception):
    """Writing a batch failed; nothing after the last good batch was written."""


AfterWrite = Callable[[Connection], None]  # runs in the batch's transaction (checkpoints)


class BackgroundWriter:
    def __init__(self, engine: Engine, depth: int = 2) -> None:
        self._engine = engine
        self._queue: queue.Queue[tuple[Batch, AfterWrite | None] | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        # Started on the first batch, so a process can still fork workers before that.
        self._thread = threading.Thread(target=self._run, name="spoor-writer", daemon=True)

    def submit(self, batch: Batch, after: AfterWrite | None = None) -> None:
        """Queue a batch; blocks while the queue is full."""
        self._raise_error()
        if not self._thread.is_alive():
            self._thread.start()
        self._queue.put((batch, after))

    def drain(self) -> None:
        """Wait until everything queued so far is written (or failed)."""
        if self._thread.is_alive():
            self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Write everything queued, stop the thread, raise a write error if one happened."""
        if self._thread.is_alive():
            self._queue.put(None)  # stop
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise WriteError(f"writing to the database failed: {self._error}") from self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is not None:
                    continue  # drain without writing: the producer will hear of the error
                batch, after = item
                try:
                    with self._engine.begin() as conn:
                        write_batch(conn, batch)
                        if after is not None:
                            after(conn)
                except BaseException as exc:  # reported to the producer, never lost
                    self._error = exc
            finally:
                self._queue.task_done()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
