"""Prometheus metrics, worked out at scrape time.

The live consumer is a process of its own, but it already shares its counters with the
server through shared memory (`ingest.consumer.Progress`), so the server can report them;
prometheus_client's multi-process mode (a directory of files per process) is not needed.
What the database knows (drops by reason, imports, alerts, IP data) is read from it at
each scrape, with cheap queries over small tables. Counters of the live path count from
the server's start, as Prometheus counters may (a restart is a reset).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from spoor.db.schema import channels, deliveries, drops, imports, ip_sources, sites
from spoor.ingest.spool import segment_path, segments
from spoor.leads.alerts import latency_percentiles

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LiveCounters(Protocol):
    """What `ingest.live.LiveIngest` tells about the live path."""

    @property
    def accepted(self) -> int: ...
    @property
    def stored(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def refused(self) -> Mapping[str, int]: ...
    @property
    def consumer_pid(self) -> int | None: ...

    def pending(self) -> int: ...
    def alive(self) -> bool: ...


class SpoorCollector(Collector):
    def __init__(
        self,
        engine: Engine,
        spool_dir: Path,
        live: LiveCounters | None = None,
        requests_refused: Mapping[int, int] | None = None,
    ) -> None:
        self.engine = engine
        self.spool_dir = spool_dir
        self.live = live
        # The live Counter itself, empty at first (so not `or {}`): read at each scrape.
        self.requests_refused = requests_refused if requests_refused is not None else {}

    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily("spoor_info", "Spoor's version.", labels=["version"])
        info.add_metric([_version()], 1)
        yield info
        if self.live is not None:
            yield from self._live(self.live)
        yield _gauge("spoor_spool_bytes", "Bytes in the live spool's files.", self._spool_bytes())
        started = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                found = list(self._database(conn))
            up = 1
        except SQLAlchemyError:
            found, up = [], 0
        yield from found
        yield _gauge("spoor_database_up", "1 if the database answered this scrape.", up)
        yield _gauge(
            "spoor_database_scrape_seconds",
            "Time the database took to answer this scrape's queries.",
            time.perf_counter() - started,
        )

    def _live(self, live: LiveCounters) -> Iterable[Metric]:
        yield _counter(
            "spoor_live_hits_accepted",
            "Hits acknowledged to trackers (spooled) since the server started.",
            live.accepted,
        )
        yield _counter(
            "spoor_live_hits_stored",
            "Hits the live consumer stored since the server started (after dropping bots and "
            "other hits the pipeline drops).",
            live.stored,
        )
        yield _counter(
            "spoor_live_hits_set_aside",
            "Hits the database refused, set aside in spool/rejected.jsonl.",
            live.rejected,
        )
        refused = CounterMetricFamily(
            "spoor_live_hits_refused",
            "Hits not acknowledged (503): backlog full, or the spool could not be written.",
            labels=["reason"],
        )
        for reason in ("backlog", "spool_write"):
            refused.add_metric([reason], live.refused.get(reason, 0))
        yield refused
        requests = CounterMetricFamily(
            "spoor_collect_requests_refused",
            "Tracking requests answered with an error, by HTTP status.",
            labels=["status"],
        )
        for status, count in sorted(self.requests_refused.items()):
            requests.add_metric([str(status)], count)
        yield requests
        yield _gauge(
            "spoor_live_pending_hits",
            "Hits acknowledged and not stored yet (the spool's backlog).",
            live.pending(),
        )
        yield _gauge(
            "spoor_live_consumer_up",
            "1 while the live consumer runs and its last write succeeded.",
            int(live.alive() and live.error is None),
        )

    def _spool_bytes(self) -> int:
        total = 0
        for number in segments(self.spool_dir) if self.spool_dir.is_dir() else []:
            try:
                total += segment_path(self.spool_dir, number).stat().st_size
            except FileNotFoundError:  # stored and deleted meanwhile
                continue
        return total

    def _database(self, conn: Connection) -> Iterable[Metric]:
        domains = {row.id: row.domain for row in conn.execute(select(sites.c.id, sites.c.domain))}
        dropped = CounterMetricFamily(
            "spoor_hits_dropped",
            "Hits dropped by the pipeline, by site and reason (live and imported).",
            labels=["site", "reason"],
        )
        rows = conn.execute(
            select(drops.c.site_id, drops.c.reason, func.sum(drops.c.count)).group_by(
                drops.c.site_id, drops.c.reason
            )
        ).all()
        for site_id, reason, count in rows:
            dropped.add_metric([domains.get(site_id, str(site_id)), reason], int(count))
        yield dropped
        yield from _imports(conn, domains)
        yield from _alerts(conn)
        newest = conn.execute(select(func.max(ip_sources.c.imported_at))).scalar()
        if newest is not None:
            yield _gauge(
                "spoor_ip_data_age_seconds",
                "Age of the newest imported IP dataset.",
                time.time() - int(newest),
            )


def _imports(conn: Connection, domains: Mapping[int, str]) -> Iterable[Metric]:
    lines, hit_count = conn.execute(
        select(func.coalesce(func.sum(imports.c.lines_done), 0), func.sum(imports.c.hits))
    ).one()
    yield _counter("spoor_imported_lines", "Log lines read by imports.", int(lines or 0))
    yield _counter("spoor_imported_hits", "Hits stored by log imports.", int(hit_count or 0))
    done = GaugeMetricFamily(
        "spoor_import_lines_done",
        "Lines done by each import not complete yet (running or stopped part way).",
        labels=["site", "file"],
    )
    updated = GaugeMetricFamily(
        "spoor_import_updated_timestamp_seconds",
        "When each import not complete yet last recorded progress.",
        labels=["site", "file"],
    )
    running = conn.execute(
        select(imports.c.site_id, imports.c.name, imports.c.lines_done, imports.c.updated_at)
        .where(imports.c.complete.is_(False))
        .order_by(imports.c.updated_at.desc())
        .limit(20)  # a bounded set of label values
    ).all()
    for site_id, name, lines_done, updated_at in running:
        labels = [domains.get(site_id, str(site_id)), name]
        done.add_metric(labels, int(lines_done))
        updated.add_metric(labels, int(updated_at))
    yield done
    yield updated


def _alerts(conn: Connection) -> Iterable[Metric]:
    by_status = GaugeMetricFamily(
        "spoor_alert_deliveries", "Alert deliveries by status.", labels=["status"]
    )
    query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
    counts = {str(status): int(count) for status, count in conn.execute(query)}
    for status in ("pending", "sent", "failed"):
        by_status.add_metric([status], int(counts.get(status, 0)))
    yield by_status
    delay = deliveries.c.sent_at - deliveries.c.event_at
    sent, total = conn.execute(
        select(func.count(), func.coalesce(func.sum(delay), 0.0)).where(
            deliveries.c.status == "sent"
        )
    ).one()
    latency = SummaryMetricFamily(
        "spoor_alert_latency_seconds",
        "From the hit that triggered an alert to the alert sent; quantiles over the latest "
        "1,000 sent.",
        labels=["quantile"],
    )
    # Family-level samples: the quantiles, then _count and _sum over every alert sent.
    quantiles = latency_percentiles(conn)
    if quantiles is not None:
        for q, value in zip(("0.5", "0.95"), quantiles, strict=True):
            latency.samples.append(_sample("spoor_alert_latency_seconds", {"quantile": q}, value))
    latency.samples.append(_sample("spoor_alert_latency_seconds_count", {}, float(sent)))
    latency.samples.append(_sample("spoor_alert_latency_seconds_sum", {}, float(total)))
    yield latency
    disabled = conn.execute(
        select(func.count()).select_from(channels).where(channels.c.enabled.is_(False))
    ).scalar_one()
    yield _gauge(
        "spoor_alert_channels_disabled",
        "Alert channels disabled after failing.",
        int(disabled),
    )


def registry(
    engine: Engine,
    spool_dir: Path,
    live: LiveCounters | None = None,
    requests_refused: Mapping[int, int] | None = None,
) -> CollectorRegistry:
    """A registry of its own per app (tests run many apps in one process)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(SpoorCollector(engine, spool_dir, live, requests_refused))
    # Memory and CPU of the server and of the live consumer (Linux /proc).
    ProcessCollector(namespace="spoor_server", registry=found)
    if live is not None:
        ProcessCollector(
            namespace="spoor_consumer", pid=lambda: str(live.consumer_pid), registry=found
        )
    return found


def exposition(found: CollectorRegistry) -> bytes:
    return generate_latest(found)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _sample(name: str, labels: dict[str, str], value: float) -> Sample:
    return Sample(name, labels, value)


def _version() -> str:
    try:
        return version("spoor")
    except PackageNotFoundError:
        return "unknown"
