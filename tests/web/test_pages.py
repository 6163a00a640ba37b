"""The pages and the JSON API show what was tracked: numbers, filters, corrections, exports,
and markup from visitors or datasets only ever as text."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from tests.world import World, csrf_of, sign_in


def company_id(client, name: str) -> int:  # type: ignore[no-untyped-def]
    page = client.get("/companies").text
    match = re.search(r'href="/companies/(\d+)\?[^"]*">' + re.escape(name), page)
    assert match, f"{name} is not listed"
    return int(match.group(1))


def test_overview_counts_the_tracked_visits(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        page = client.get("/?period=7d")
        api = client.get("/api/v1/sites/www.example.com/overview?period=7d").json()
    assert page.status_code == 200
    assert api["visits"] == 4  # one visit per address; 198.51.100.10 read four pages
    assert api["pageviews"] == 7
    assert {"path": "/pricing", "pageviews": 3, "visits": 2} in api["pages"]
    assert re.search(r'class="value">4</div>', page.text)
    assert "Visits per day" in page.text
    assert "<svg" in page.text
    assert 'role="img"' in page.text


def test_companies_filter_sort_and_page(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        everyone = client.get("/api/v1/sites/www.example.com/companies").json()
        names = [c["name"] for c in everyone["items"]]
        assert names[0] == "Brightwater Logistics B.V."  # 2 visits
        assert everyone["total"] == 3
        leads = client.get("/companies?type=leads").text
        assert "Brightwater Logistics" in leads
        assert "Kabelnet" not in leads
        by_page = client.get("/api/v1/sites/www.example.com/companies?page_path=/blog").json()
        assert [c["name"] for c in by_page["items"]] == ["Kabelnet Broadband B.V."]
        repeat = client.get("/api/v1/sites/www.example.com/companies?min_visits=2").json()
        assert [c["name"] for c in repeat["items"]] == ["Brightwater Logistics B.V."]
        ascending = client.get(
            "/api/v1/sites/www.example.com/companies?sort=name&order=asc&limit=1&offset=1"
        ).json()
        assert [c["name"] for c in ascending["items"]] == ["Brightwater Logistics B.V."]
        assert ascending["total"] == 3
        country = client.get("/companies?country=ZZ").text
        assert "0 organizations" in country


def test_company_page_shows_the_timeline_and_takes_corrections(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "manager@example.com")
        org = company_id(client, "Brightwater Logistics B.V.")
        page = client.get(f"/companies/{org}")
        assert "2 visits in this period" in page.text
        assert ">/docs</span>" in page.text
        token = csrf_of(page.text)
        done = client.post(
            f"/companies/{org}/corrections",
            data={"csrf_token": token, "action": "rename", "value": "Brightwater Group",
                  "back": "period=30d"},
        )  # fmt: skip
        assert done.status_code == 303
        after = client.get(done.headers["location"])
        assert "Renamed to Brightwater Group." in after.text
        assert "found as Brightwater Logistics B.V." in after.text
        client.post(
            f"/companies/{org}/corrections",
            data={"csrf_token": token, "action": "relation", "value": "customer"},
        )
        leads = client.get("/companies?type=leads").text
        assert "Brightwater" not in leads  # customers are not leads
        client.post(
            f"/companies/{org}/corrections",
            data={"csrf_token": token, "action": "range", "value": "192.0.2.0/24", "note": "HQ"},
        )
        assert "192.0.2.0/24" in client.get(f"/companies/{org}").text
        bad = client.post(
            f"/companies/{org}/corrections",
            data={"csrf_token": token, "action": "range", "value": "not a range"},
            headers={"accept": "text/html"},
        )
        assert bad.status_code == 400
        assert "is not a range" in bad.text


def test_every_table_exports_as_csv_and_xlsx(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        pages = client.get("/?period=7d&export=csv&table=pages")
        assert pages.headers["content-type"].startswith("text/csv")
        assert "attachment" in pages.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(pages.content.decode("utf-8-sig"))))
        assert rows[0] == ["Page", "Pageviews", "Visits"]
        assert ["/pricing", "3", "2"] in rows
        book = client.get("/companies?export=xlsx")
        sheet = load_workbook(io.BytesIO(book.content)).active
        assert sheet is not None
        values = [[c.value for c in row] for row in sheet.iter_rows()]
        assert values[0][:2] == ["Organization", "Type"]
        assert values[1][0] == "Brightwater Logistics B.V."
        org = company_id(client, "Brightwater Logistics B.V.")
        visits = client.get(f"/companies/{org}?export=csv")
        assert visits.status_code == 200
        assert len(list(csv.reader(io.StringIO(visits.content.decode("utf-8-sig"))))) == 3
        assert client.get("/?export=pdf").status_code == 400
        assert client.get("/?export=csv&table=nope").status_code == 404


def test_exports_defuse_spreadsheet_formulas(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "admin@example.com")
        org = company_id(client, "Brightwater Logistics B.V.")
        token = csrf_of(client.get(f"/companies/{org}").text)
        client.post(
            f"/companies/{org}/corrections",
            data={"csrf_token": token, "action": "rename", "value": "=HYPERLINK(1)"},
        )
        text = client.get("/companies?export=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


def test_tracked_markup_is_escaped_everywhere(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "admin@example.com")
        org = company_id(client, "&lt;script&gt;window.__xss=1&lt;/script&gt;")
        pages = [client.get(p).text for p in ("/", "/companies", f"/companies/{org}")]
    for html in pages:
        assert "<script>window.__xss" not in html
        assert "onerror=window" not in html or "&lt;img" in html
    assert any("&lt;script&gt;window.__xss=1&lt;/script&gt;" in html for html in pages)


def test_settings_manage_sites_and_users(world: World) -> None:
    with world.client() as client:
        sign_in(client, "admin@example.com")
        page = client.get("/settings")
        assert "/js/spoor.js" in page.text  # the snippet
        token = csrf_of(page.text)
        client.post(
            "/settings/sites",
            data={"csrf_token": token, "action": "add", "domain": "shop.example.org",
                  "timezone": "Europe/Berlin"},
        )  # fmt: skip
        saved = client.post(
            "/settings/sites",
            data={"csrf_token": token, "action": "save", "domain": "shop.example.org",
                  "timezone": "Europe/Berlin", "hosts": "", "exclude_ips": "10.0.0.0/8",
                  "exclude_paths": "^/admin"},
        )  # fmt: skip
        assert saved.status_code == 303
        page = client.get("/settings").text
        assert "Site shop.example.org saved." in page
        assert "10.0.0.0/8" in page
        wrong = client.post(
            "/settings/sites",
            data={"csrf_token": token, "action": "save", "domain": "shop.example.org",
                  "timezone": "Mars/Olympus"},
        )  # fmt: skip
        assert wrong.status_code == 303
        assert "is not a time zone" in client.get("/settings").text
        client.post(
            "/settings/users",
            data={"csrf_token": token, "action": "add", "email": "new@example.com",
                  "role": "manager", "password": "a long enough password"},
        )  # fmt: skip
        assert "User new@example.com added as manager." in client.get("/settings").text
    with world.client() as newcomer:
        sign_in(newcomer, "new@example.com", "a long enough password")
        assert newcomer.get("/companies").status_code == 200
        assert newcomer.get("/settings").status_code == 403


def test_the_only_admin_cannot_be_demoted(world: World) -> None:
    with world.client() as client:
        sign_in(client, "admin@example.com")
        token = csrf_of(client.get("/settings").text)
        me = client.get("/api/v1/me").json()["id"]
        client.post(
            "/settings/users",
            data={"csrf_token": token, "action": "role", "user_id": me, "role": "rep"},
        )
        assert "only active admin" in client.get("/settings").text


def test_openapi_describes_the_api(world: World) -> None:
    with world.client() as client:
        sign_in(client, "rep@example.com")
        spec = client.get("/api/v1/openapi.json").json()
        docs = client.get("/api/docs")
    assert spec["info"]["title"] == "Spoor API"
    assert "/sites/{domain}/companies" in spec["paths"]
    assert "/organizations/{org_id}/corrections" in spec["paths"]
    assert docs.status_code == 200
    assert "/api/docs/static/swagger-ui-bundle.js" in docs.text
