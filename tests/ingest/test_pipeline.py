import pytest

from spoor.ingest.pipeline import STEPS, Dropped, DropReason, Hit
from spoor.ingest.rawhit import HitKind

from .helpers import make_pipeline, raw

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_steps_are_named_in_order() -> None:
    assert [name for name, _ in STEPS] == [
        "validate",
        "drop_bot",
        "drop_excluded",
        "put_ua",
        "put_org",
        "put_visitor_hash",
        "put_session",
    ]


@pytest.mark.parametrize(
    ("hit_fields", "reason"),
    [
        ({"ip": "not-an-ip"}, DropReason.INVALID_IP),
        ({"url": "*"}, DropReason.INVALID_URL),
        ({"ua": BOT}, DropReason.BOT),
        ({"ua": "python-requests/2.31"}, DropReason.BOT),
        ({"url": "/static/app.css"}, DropReason.STATIC),
        ({"url": "/img/logo.PNG?v=3"}, DropReason.STATIC),
        ({"status": 404}, DropReason.HTTP_ERROR),
        ({"status": 301}, DropReason.REDIRECT),
        ({"method": "HEAD"}, DropReason.METHOD),
        ({"method": "POST", "status": 500}, DropReason.HTTP_ERROR),
    ],
)
def test_drops_have_typed_reasons(hit_fields: dict[str, object], reason: DropReason) -> None:
    pipeline = make_pipeline()
    result = pipeline.process(raw(**hit_fields))  # type: ignore[arg-type]
    assert result == Dropped(reason)
    assert pipeline.dropped[reason] == 1


def test_configured_exclusions() -> None:
    import ipaddress
    import re

    pipeline = make_pipeline(
        exclude_paths=(re.compile(r"^/admin"),),
        exclude_ips=(ipaddress.ip_network("198.18.5.0/24"),),
    )
    assert pipeline.process(raw("/admin/users")) == Dropped(DropReason.EXCLUDED_PATH)
    assert pipeline.process(raw("/", ip="198.18.5.77")) == Dropped(DropReason.EXCLUDED_IP)
    assert isinstance(pipeline.process(raw("/", ip="198.18.6.77")), Hit)


def test_a_page_hit_is_enriched_and_forgets_the_ip() -> None:
    hit = make_pipeline().process(raw("https://www.example.com/pricing?utm_campaign=q3#plans"))
    assert isinstance(hit, Hit)
    assert hit.path == "/pricing"
    assert hit.raw.ip == ""
    assert hit.client is not None
    assert (hit.client.browser, hit.client.os, hit.client.device) == (
        "Chrome",
        "Windows",
        "desktop",
    )
    assert hit.visit is not None
    assert hit.visit.utm[0] == "q3"


def test_form_post_answered_with_a_redirect_is_a_form_submission() -> None:
    hit = make_pipeline().process(raw("/demo", method="POST", status=303))
    assert isinstance(hit, Hit)
    assert hit.raw.kind == HitKind.FORM
    assert hit.visit is not None
    assert (hit.visit.pageviews, hit.visit.events) == (0, 1)


def test_not_modified_counts_as_a_pageview() -> None:
    assert isinstance(make_pipeline().process(raw("/", status=304)), Hit)
