import pytest

from spoor.ingest.referrers import NO_CAMPAIGN, campaign_from_query, classify


@pytest.mark.parametrize(
    ("referrer", "query", "expected"),
    [
        (None, "", ("direct", None)),
        ("https://www.google.com/", "", ("search", "Google")),
        ("https://www.bing.com/search?q=spoor", "", ("search", "Bing")),
        ("https://www.linkedin.com/feed/", "", ("social", "LinkedIn")),
        ("https://partner.example/blog", "", ("referral", "partner.example")),
        ("https://www.example.com/pricing", "", ("direct", None)),
        (None, "utm_source=newsletter&utm_medium=email&utm_campaign=may", ("email", "newsletter")),
        ("https://www.google.com/", "gclid=abc", ("paid", "Google")),
        (None, "utm_source=linkedin&utm_medium=cpc", ("paid", "LinkedIn")),
    ],
)
def test_channels(referrer: str | None, query: str, expected: tuple[str, str | None]) -> None:
    origin = classify(referrer, "www.example.com", campaign_from_query(query))
    assert (origin.channel, origin.source) == expected


def test_campaign_fields() -> None:
    c = campaign_from_query(
        "utm_campaign=Q3&utm_source=nl&utm_medium=email&utm_term=x&utm_content=y"
    )
    assert c[:5] == ("Q3", "nl", "email", "x", "y")
    assert c.key == "Q3|nl|email"
    assert campaign_from_query("page=2") is NO_CAMPAIGN
