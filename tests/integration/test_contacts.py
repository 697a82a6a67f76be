"""The phone app: offline contact batches (idempotent by client id) and the change feed."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

from sqlalchemy import event

from tests.conftest import assert_problem
from tests.integration.test_referrals import alert


def contact(**overrides):
    body = {
        "id": str(uuid.uuid4()),
        "observed_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        "lat": 51.7366,
        "lon": 0.4693,
        "accuracy_m": 8,
        "bedded_down": True,
        "contact_type": "street_outreach",
        "engagement": "engaged",
        "offers_made": ["swep_bed", "health"],
        "offers_accepted": ["swep_bed"],
        "outcome": "accepted SWEP bed",
        "notes": "Talked for 10 minutes",
    }
    body.update(overrides)
    return body


def test_a_batch_creates_each_contact_and_a_resend_creates_nothing(client, sql, staff):
    items = [contact() for _ in range(5)]
    first = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 5
    again = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    body = again.json()
    assert (body["created"], body["duplicates"]) == (0, 5)
    assert [r["id"] for r in body["results"]] == [i["id"] for i in items]
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 5
    row = sql(
        "SELECT c.authority_code, t.name, c.received_at > c.observed_at AS later "
        "FROM contacts c JOIN teams t ON t.id = c.team_id LIMIT 1"
    )[0]
    assert (row["authority_code"], row["name"], row["later"]) == (
        "E07000070",
        "Mid Essex Outreach",
        True,
    )


def test_a_batch_cut_off_half_way_and_resent_has_no_duplicates(client, sql, staff):
    items = [contact() for _ in range(10)]
    client.post("/v1/contacts:batch", json={"items": items[:4]}, headers=staff["worker_mid"])
    body = client.post(
        "/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"]
    ).json()
    assert (body["created"], body["duplicates"]) == (6, 4)
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 10


def test_the_same_id_with_other_content_is_a_conflict_and_nothing_is_overwritten(
    client, sql, staff
):
    item = contact()
    client.post("/v1/contacts:batch", json={"items": [item]}, headers=staff["worker_mid"])
    changed = {**item, "notes": "something else"}
    fresh = contact()
    body = client.post(
        "/v1/contacts:batch", json={"items": [changed, fresh]}, headers=staff["worker_mid"]
    ).json()
    assert [r["result"] for r in body["results"]] == ["conflict", "created"]
    assert body["results"][0]["problem"]["status"] == 409
    assert (
        sql("SELECT notes FROM contacts WHERE id = $1", uuid.UUID(item["id"]))[0]["notes"]
        == "Talked for 10 minutes"
    )


def test_items_outside_the_workers_scope_are_rejected_alone(client, sql, staff):
    other_team = sql("SELECT id FROM teams WHERE name = 'Southend Outreach'")[0]["id"]
    good, bad = contact(), contact(team_id=other_team)
    body = client.post(
        "/v1/contacts:batch", json={"items": [good, bad]}, headers=staff["worker_mid"]
    ).json()
    assert [r["result"] for r in body["results"]] == ["created", "rejected"]
    assert body["results"][1]["problem"]["status"] == 403


def test_special_category_fields_are_stored_apart(client, sql, staff):
    item = contact(support_needs=["mental_health", "alcohol"], health_notes="diabetic")
    client.post("/v1/contacts:batch", json={"items": [item]}, headers=staff["worker_mid"])
    columns = {
        r["column_name"]
        for r in sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts'"
        )
    }
    assert not {"support_needs", "health_notes"} & columns
    row = sql("SELECT support_needs, health_notes FROM contact_sensitive")[0]
    assert row["health_notes"] == "diabetic"


def test_an_idempotency_key_replays_the_stored_response(client, sql, staff):
    items = [contact()]
    headers = {**staff["worker_mid"], "Idempotency-Key": "batch-0001-abcdef"}
    first = client.post("/v1/contacts:batch", json={"items": items}, headers=headers).json()
    second = client.post("/v1/contacts:batch", json={"items": items}, headers=headers).json()
    assert first == second  # the stored answer ("created"), not "duplicate"
    assert second["created"] == 1
    other = client.post("/v1/contacts:batch", json={"items": [contact()]}, headers=headers)
    assert_problem(other, 409)


def test_a_batch_over_500_items_is_refused_whole(client, sql, staff):
    response = client.post(
        "/v1/contacts:batch",
        json={"items": [contact() for _ in range(501)]},
        headers=staff["worker_mid"],
    )
    assert_problem(response, 400)
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 0


def test_contacts_need_a_signed_in_worker(client, staff):
    assert_problem(client.post("/v1/contacts:batch", json={"items": [contact()]}), 401)


def test_sync_gives_new_assignments_for_my_team_with_a_cursor(client, staff):
    client.post("/v1/referrals", json=alert())  # Chelmsford: Mid Essex team
    client.post("/v1/referrals", json=alert(lat=51.538, lon=0.714))  # Southend
    page = client.get("/v1/sync", headers=staff["worker_mid"]).json()
    assert [c["kind"] for c in page["changes"]] == ["referral_assigned"]
    cursor = page["cursor"]
    assert (
        client.get("/v1/sync", params={"since": cursor}, headers=staff["worker_mid"]).json()[
            "changes"
        ]
        == []
    )
    client.post("/v1/referrals", json=alert(lat=51.7370, appearance="new"))
    later = client.get("/v1/sync", params={"since": cursor}, headers=staff["worker_mid"]).json()
    assert [c["kind"] for c in later["changes"]] == ["referral_assigned"]
    south = client.get("/v1/sync", headers=staff["worker_south"]).json()
    assert len(south["changes"]) == 1


def test_sync_rejects_a_forged_cursor(client, staff):
    problem = assert_problem(
        client.get("/v1/sync", params={"since": "bogus!"}, headers=staff["worker_mid"]), 422
    )
    assert problem["errors"][0]["field"] == "since"


def test_sync_has_no_gaps_under_concurrent_writes(client, staff, db_url, sql):
    """Writers commit out of id order while a reader pages: every change is seen once."""
    import asyncio

    import asyncpg

    team = sql("SELECT id FROM teams WHERE name = 'Mid Essex Outreach'")[0]["id"]

    async def writer(n: int, delay: float) -> None:
        conn = await asyncpg.connect(db_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO changes (team_id, kind, entity_id) VALUES ($1, 'test', $2)",
                    team,
                    f"w{n}",
                )
                await asyncio.sleep(delay)  # commit late: a higher id may commit first
        finally:
            await conn.close()

    async def writers() -> None:
        await asyncio.gather(*(writer(n, 0.3 if n % 3 == 0 else 0.01) for n in range(30)))

    thread = threading.Thread(target=lambda: asyncio.run(writers()))
    thread.start()
    seen, cursor = [], None
    while thread.is_alive():
        page = client.get(
            "/v1/sync", params={"since": cursor} if cursor else {}, headers=staff["worker_mid"]
        ).json()
        seen += [c["entity_id"] for c in page["changes"]]
        cursor = page["cursor"]
    thread.join()
    page = client.get("/v1/sync", params={"since": cursor}, headers=staff["worker_mid"]).json()
    seen += [c["entity_id"] for c in page["changes"]]
    assert sorted(seen) == sorted(f"w{n}" for n in range(30))


def test_reading_a_contact_is_audited_and_special_category_is_need_to_know(client, sql, staff):
    item = contact(support_needs=["drugs"], health_notes="leg ulcer")
    client.post("/v1/contacts:batch", json={"items": [item]}, headers=staff["worker_mid"])
    worker = client.get(f"/v1/contacts/{item['id']}", headers=staff["worker_mid"]).json()
    assert (worker["support_needs"], worker["health_notes"]) == (["drugs"], "leg ulcer")
    coordinator = client.get(f"/v1/contacts/{item['id']}", headers=staff["coord_mid"]).json()
    assert coordinator["health_notes"] == "leg ulcer"
    admin = client.get(f"/v1/contacts/{item['id']}", headers=staff["admin"]).json()
    assert "support_needs" not in admin
    assert "health_notes" not in admin
    assert admin["notes"] == "Talked for 10 minutes"
    assert_problem(client.get(f"/v1/contacts/{item['id']}", headers=staff["worker_south"]), 404)
    audit = sql("SELECT username, subject_type, detail FROM audit_log ORDER BY id")
    assert [(a["username"], a["subject_type"]) for a in audit] == [
        ("worker_mid", "contact"),
        ("coord_mid", "contact"),
        ("admin", "contact"),
    ]


def test_a_location_outside_great_britain_is_rejected_alone(client, sql, staff):
    body = client.post(
        "/v1/contacts:batch",
        json={"items": [contact(lat=31.9, lon=-93.4), contact()]},
        headers=staff["worker_mid"],
    ).json()
    assert [r["result"] for r in body["results"]] == ["rejected", "created"]
    assert body["results"][0]["problem"]["errors"][0]["field"] == "lat"


def test_a_batch_of_new_contacts_for_own_team_looks_up_nothing_it_knows(client, sql, staff):
    """The worker's own team was read with them for this request, and a batch whose contacts
    are all new has no stored hashes to compare: neither is looked up (a round trip each, on
    every batch of a shift's sync), and no savepoint is set around the batch (two round trips).
    A team the user is not in is still checked."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = client.app.state["runtime"].engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        items = [contact() for _ in range(3)]
        done = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert done.json()["created"] == 3, done.text
    assert statements, "the listener saw the batch's statements"
    assert not [s for s in statements if "FROM teams WHERE id = ANY" in s]
    assert not [s for s in statements if "content_hash FROM contacts" in s]
    assert not [s for s in statements if "SAVEPOINT" in s]  # the batch is its transaction
    nowhere = client.post(
        "/v1/contacts:batch",
        json={"items": [contact(team_id=999_999)]},
        headers=staff["admin"],
    ).json()["results"][0]
    assert nowhere["result"] == "rejected", nowhere
    assert "no such team" in nowhere["problem"]["detail"], nowhere
