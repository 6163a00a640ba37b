from spoor.ingest.pipeline import Hit

from .helpers import make_pipeline, raw


def visit_of(pipeline, hit_raw):  # type: ignore[no-untyped-def]
    hit = pipeline.process(hit_raw)
    assert isinstance(hit, Hit)
    assert hit.visit is not None
    return hit.visit


def test_hits_within_30_minutes_are_one_visit() -> None:
    p = make_pipeline()
    first = visit_of(p, raw("/", "2026-03-02 10:00:00", referrer="https://www.google.com/"))
    second = visit_of(p, raw("/pricing", "2026-03-02 10:29:00"))
    assert first is second
    assert (first.pageviews, first.entry_path, first.exit_path) == (2, "/", "/pricing")
    assert first.duration == 29 * 60
    assert (first.channel, first.source) == ("search", "Google")


def test_inactivity_over_30_minutes_starts_a_new_visit() -> None:
    p = make_pipeline()
    first = visit_of(p, raw("/", "2026-03-02 10:00:00"))
    second = visit_of(p, raw("/", "2026-03-02 10:30:01"))
    assert first is not second
    assert first.id != second.id


def test_midnight_in_the_site_time_zone_starts_a_new_visit() -> None:
    # 22:50 and 23:10 UTC are 23:50 and 00:10 in Amsterdam (UTC+1 in March).
    p = make_pipeline("Europe/Amsterdam")
    first = visit_of(p, raw("/", "2026-03-02 22:50:00"))
    second = visit_of(p, raw("/", "2026-03-02 23:10:00"))
    assert first is not second
    assert str(second.day) == "2026-03-03"


def test_a_visit_crosses_the_utc_salt_change_in_another_zone() -> None:
    # 23:50 and 00:10 UTC are the same evening in New York: the salt changes, the visit not.
    p = make_pipeline("America/New_York")
    first = visit_of(p, raw("/", "2026-03-02 23:50:00"))
    second = visit_of(p, raw("/about", "2026-03-03 00:10:00"))
    assert first is second
    assert first.pageviews == 2


def test_a_new_campaign_starts_a_new_visit() -> None:
    p = make_pipeline()
    first = visit_of(p, raw("/?utm_campaign=spring&utm_source=newsletter", "2026-03-02 10:00:00"))
    same = visit_of(p, raw("/pricing", "2026-03-02 10:01:00"))
    other = visit_of(p, raw("/?utm_campaign=summer&utm_source=newsletter", "2026-03-02 10:02:00"))
    assert first is same
    assert other is not first
    assert other.utm[0] == "summer"


def test_different_user_agents_are_different_visitors() -> None:
    p = make_pipeline()
    first = visit_of(p, raw("/", ua="Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0"))
    second = visit_of(p, raw("/"))
    assert first.visitor != second.visitor


def test_prune_forgets_only_finished_clean_visits() -> None:
    p = make_pipeline()
    visit_of(p, raw("/", "2026-03-02 10:00:00"))
    tracker = p.ctx.sessions
    tracker.prune(int(raw("/", "2026-03-02 11:00:00").ts))
    assert len(tracker) == 1  # still dirty: not yet written
    assert len(tracker.dirty()) == 1
    tracker.prune(int(raw("/", "2026-03-02 11:00:00").ts))
    assert len(tracker) == 0
