"""Live ingest, the web server's side: accepted hits go to the spool; a consumer process
stores them (consumer.py).

A request is acknowledged once its hits are written to the spool (the OS has them: a
crash of either process loses nothing). The consumer reads the spool behind the writer in
a process of its own, so that the pipeline never holds the GIL the event loop needs; it
fsyncs the spool within about a second, and always before the store records hits as done.
Backpressure: while more than `max_pending` hits wait to be stored, `accept` says no
(503 Retry-After). Shutdown stores everything accepted before the process exits.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from sqlalchemy import Engine

from spoor import events
from spoor.db.engine import make_engine
from spoor.ingest.consumer import Consumer, Progress
from spoor.ingest.pipeline import OrgResolver
from spoor.ingest.rawhit import RawHit
from spoor.ingest.spool import SpoolWriter, encode
from spoor.ops.logs import configure as configure_logging
from spoor.settings import Settings

ResolverFactory = Callable[[Engine], OrgResolver]
# A fresh interpreter: a fork would copy the server's database connections and threads.
_CONTEXT = multiprocessing.get_context("spawn")


class LiveIngest:
    def __init__(
        self,
        settings: Settings,
        resolver: ResolverFactory | None = None,
        *,
        max_pending: int = 100_000,
        batch: int = 500,
        interval: float = 0.5,
    ) -> None:
        self.settings = settings
        self.max_pending = max_pending
        self.progress = Progress(_CONTEXT)
        self._writer = SpoolWriter(settings.data_dir / "spool")
        self._appended = 0
        self.refused: Counter[str] = Counter()  # hits not acknowledged, by why (metrics)
        self._room = 0  # hits that may be accepted before pending() is read again
        args = (settings, resolver, self.progress, self._writer.first, os.getpid())
        options = {"batch": batch, "interval": interval}
        self._process: BaseProcess | threading.Thread
        if events.store_for(settings.sqlalchemy_url).embedded:
            # An event store inside this process (chdb) cannot be opened by another one:
            # the consumer shares this process, as a thread (and the GIL with requests).
            self._process = threading.Thread(
                target=_consume, args=args, kwargs={**options, "in_thread": True},
                name="spoor-live", daemon=False,
            )  # fmt: skip
        else:
            self._process = _CONTEXT.Process(
                target=_consume,
                args=args,
                kwargs=options,
                name="spoor-live",
                daemon=False,  # it must finish storing; it ends itself if the server is gone
            )
        self._stopped = False

    # --- the request side -----------------------------------------------------------------

    def accept(self, hits: list[RawHit]) -> bool:
        """Spool hits; False (nothing kept) while too many wait to be stored."""
        if len(hits) > self._room:  # the consumer's progress is read only when it matters
            self._room = self.max_pending - self.pending()
            if len(hits) > self._room:
                self.refused["backlog"] += len(hits)
                return False
        try:
            self._writer.append(encode(hits[0]) if len(hits) == 1 else b"".join(map(encode, hits)))
        except OSError:  # a full disk: not acknowledged (lines written may still be stored)
            self.refused["spool_write"] += len(hits)
            return False
        self._appended += len(hits)
        self._room -= len(hits)
        return True

    @property
    def accepted(self) -> int:
        """Hits acknowledged by this server since it started."""
        return self._appended

    @property
    def consumer_pid(self) -> int | None:
        if isinstance(self._process, threading.Thread):
            return os.getpid()
        return self._process.pid

    def pending(self) -> int:
        """Hits acknowledged (or found in the spool at start) and not stored yet."""
        progress = self.progress
        return max(0, progress.backlog + self._appended - progress.consumed)

    @property
    def stored(self) -> int:
        return self.progress.stored

    @property
    def rejected(self) -> int:
        return self.progress.rejected

    @property
    def error(self) -> str | None:
        return self.progress.error

    def alive(self) -> bool:
        return self._process.is_alive() or self._stopped

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the consumer: it stores the backlog the spool holds first, then follows."""
        self._process.start()
        # An exit without a shutdown (a crash of the server) would otherwise wait forever:
        # multiprocessing joins its children at exit.
        atexit.register(self.stop)

    def stop(self) -> None:
        """Store everything accepted (called on shutdown, SIGTERM included)."""
        if self._stopped:
            return
        atexit.unregister(self.stop)
        self._stopped = True
        self._writer.close()
        self.progress.request_stop()  # only now: the consumer reads up to the last line
        if self._process.is_alive():
            self._process.join()


def _consume(
    settings: Settings,
    resolver: ResolverFactory | None,
    progress: Progress,
    writer_first: int,
    parent: int,
    *,
    batch: int,
    interval: float,
    in_thread: bool = False,
) -> None:
    """The consumer process. The server tells it when to stop: a terminal's Ctrl-C or a
    service manager's SIGTERM to the whole group must not cut a batch short."""
    if not in_thread:  # a thread shares the server's signals and logging
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        configure_logging(settings)  # a spawned process starts with logging unset
        events.configure(settings)  # the event store, as the server has it
    engine = make_engine(settings.sqlalchemy_url)
    try:
        consumer = Consumer(
            engine,
            settings,
            resolver(engine) if resolver is not None else None,
            progress=progress,
            batch=batch,
            interval=interval,
        )
        consumer.run(
            lambda: progress.stopping,
            orphaned=lambda: not in_thread and os.getppid() != parent,
            writer_first=writer_first,
        )
    except Exception as exc:  # /healthz shows why the consumer has stopped
        progress.set_error(exc)
        raise
    finally:
        engine.dispose()
