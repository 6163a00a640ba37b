"""The Privacy page and the export API: admins only; an erasure counts first and erases
only when confirmed; the export names every table with rows about the organization."""

from __future__ import annotations

from sqlalchemy import func, select

from spoor.db.schema import organizations, visits
from spoor.identify.corrections import find_org
from tests.world import World, csrf_of, sign_in

BRIGHTWATER = "Brightwater Logistics B.V."


def test_privacy_page_and_export(visited: World) -> None:
    with visited.engine.connect() as conn:
        org_id = find_org(conn, BRIGHTWATER).id
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        assert client.get("/privacy").status_code == 403
        assert client.get(f"/api/v1/organizations/{org_id}/export").status_code == 403
    with visited.client() as client:
        sign_in(client, "admin@example.com")
        shown = client.get("/privacy")
        assert shown.status_code == 200
        assert "SPOOR_RETAIN_HITS_DAYS" in shown.text
        assert "The retention job has not run yet" in shown.text  # an hour after start

        exported = client.get(f"/privacy/export?org={BRIGHTWATER}")
        assert exported.headers["location"] == f"/api/v1/organizations/{org_id}/export"
        data = client.get(exported.headers["location"]).json()
        assert set(data["tables"]) >= {"organizations", "visits", "hits", "lead_signals",
                                       "rollup_orgs", "rollup_pages"}  # fmt: skip
        assert client.get("/api/v1/organizations/42/export").status_code == 404

        form = {"csrf_token": csrf_of(shown.text), "what": "org", "org": BRIGHTWATER}
        counted = client.post("/privacy/erase", data=form)
        assert counted.status_code == 303
        assert "Would erase" in client.get("/privacy").text
        with visited.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(visits)
                                .where(visits.c.org_id == org_id)).scalar_one() > 0  # fmt: skip
        client.post("/privacy/erase", data={**form, "confirm": "ERASE"})
        after = client.get("/privacy").text
        assert "Erased " in after
        assert "admin@example.com" in after  # the erasure log says who
        assert BRIGHTWATER not in after  # and never what
        with visited.engine.connect() as conn:
            left = conn.execute(select(organizations.c.id).where(organizations.c.id == org_id))
            assert left.first() is None
        bad = client.post("/privacy/erase", data={**form, "what": "days", "from": "x"})
        assert bad.status_code == 303
        assert "must be a date" in client.get("/privacy").text
