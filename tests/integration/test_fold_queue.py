"""The hotspot fold queue: every statement that stores a point queues it for its layers;
whichever app process holds a layer folds every queued point; points outlive the process
that stored them; a recompute empties the queue; a fold that fails leaves its points queued;
folds that keep failing end in a full recompute."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import msgspec
import pytest
from litestar.testing import TestClient

from service.access import StaffUser
from service.app import create_app
from service.db.engine import transaction
from service.db.hotspots import LAYER_LOCK
from service.schemas.contacts import ContactIn
from service.usecases.contacts.batch import apply_one
from service.usecases.hotspots import clustering, queue
from service.usecases.hotspots.clustering import apply_update, recompute
from service.usecases.hotspots.queue import FOLD_ATTEMPTS, Summaries
from service.usecases.referrals import intake
from service.vocabularies import HOTSPOT_LAYERS
from streetlink.schema import StreetLinkAlert
from tests.conftest import make_settings, wait_for, with_runtime
from tests.integration.test_contacts import contact
from tests.integration.test_hotspots import CHELMSFORD, at, members, report
from tests.integration.test_referrals import alert


@contextmanager
def layers_held(db_url: str) -> Iterator[None]:
    """Every layer's lock held by another session (another process folding, for as long as
    the block runs)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    conn = run(asyncpg.connect(db_url))
    try:
        for i in range(len(HOTSPOT_LAYERS)):
            run(conn.execute("SELECT pg_advisory_lock($1, $2)", LAYER_LOCK, i))
        yield
    finally:
        run(conn.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def queued(sql):
    rows = sql("SELECT layer, member_kind, member_id FROM hotspot_fold_queue")
    return {(r["layer"], r["member_kind"], str(r["member_id"])) for r in rows}


def post_contacts(client, staff, items):
    response = client.post("/v1/contacts:batch", json={"items": items}, headers=staff["worker_mid"])
    assert response.status_code == 200, response.text
    assert response.json()["created"] == len(items)


def test_points_wait_while_another_process_holds_the_layer_then_are_folded(
    client, sql, staff, db_url
):
    with layers_held(db_url):
        referrals = [report(client, sql, CHELMSFORD, dx) for dx in (0, 80, 160)]
        lon, lat = at(CHELMSFORD, 5000, 0)
        out, bedded = (
            contact(lon=lon, lat=lat, bedded_down=False),
            contact(lon=lon, lat=lat, bedded_down=True),
        )
        post_contacts(client, staff, [out, bedded])
        wait_for(lambda: False, timeout_s=1.0)  # the updater tries, and finds the layers busy
        assert queued(sql) == {
            *(("public_reports", "referral", r) for r in referrals),
            ("all_contacts", "contact", out["id"]),
            ("all_contacts", "contact", bedded["id"]),
            ("verified_bedded_down", "contact", bedded["id"]),
        }
        assert not members(sql)
    # released: the updater, coming back, folds everything that waited
    assert wait_for(lambda: not queued(sql) and len(members(sql)) == 3, timeout_s=10)
    assert set(members(sql)) == set(referrals)


def test_points_a_stopped_process_queued_are_folded_by_another(sql, staff, db_url):
    settings = make_settings(db_url, hotspot_queue_poll_s=0.3)
    with layers_held(db_url):
        with TestClient(app=create_app(settings)) as first:
            referrals = [report(first, sql, CHELMSFORD, dx) for dx in (0, 80, 160)]
        # the first process has stopped, its points still queued
        assert len(queued(sql)) == 3
    with TestClient(app=create_app(settings)):
        # nothing wakes this one: it finds them when it looks
        assert wait_for(lambda: not queued(sql) and len(members(sql)) == 3, timeout_s=10)
    assert set(members(sql)) == set(referrals)


def test_a_coordinator_placing_a_referral_queues_it(client, sql, staff, db_url):
    response = client.post(
        "/v1/referrals",
        json={
            "location_description": "by the bins behind the old bus depot",
            "seen_at": "2026-11-27T07:00:00Z",
            "appearance": "green coat",
        },
    )
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    [row] = sql("SELECT id FROM referrals WHERE reference = $1", reference)
    assert not queued(sql)  # no position: in no layer
    lon, lat = at(CHELMSFORD, 0, 0)
    with layers_held(db_url):
        placed = client.put(
            f"/v1/referrals/{row['id']}/location",
            json={"lon": lon, "lat": lat},
            headers=staff["coord_mid"],
        )
        assert placed.status_code == 200, placed.text
        assert queued(sql) == {("public_reports", "referral", str(row["id"]))}


def test_a_recompute_empties_the_queue_of_the_points_it_reads(client, sql, staff, db_url):
    settings = make_settings(db_url)
    with layers_held(db_url):
        referrals = [report(client, sql, CHELMSFORD, dx) for dx in (0, 80, 160)]
    # the updater may fold them first; queue them again as if it had not
    sql(
        "INSERT INTO hotspot_fold_queue (layer, member_kind, member_id) "
        "SELECT 'public_reports', 'referral', unnest($1::uuid[]) ON CONFLICT DO NOTHING",
        [uuid.UUID(r) for r in referrals],
    )
    with_runtime(settings, lambda runtime: recompute(runtime, trigger="test"))
    assert not queued(sql)
    assert set(members(sql)) == set(referrals)


def test_a_fold_that_fails_keeps_its_points_queued_and_rests(sql, db_url, monkeypatch):
    settings = make_settings(db_url)
    some = [uuid.uuid4() for _ in range(3)]
    sql(
        "INSERT INTO hotspot_fold_queue (layer, member_kind, member_id) "
        "SELECT 'public_reports', 'referral', unnest($1::uuid[])",
        some,
    )
    folds = []

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        folds.append(1)
        raise RuntimeError("a statement ran out of time")

    monkeypatch.setattr(clustering, "_fold", broken)
    summaries = Summaries()

    def fold():  # type: ignore[no-untyped-def]
        return with_runtime(
            settings, lambda runtime: apply_update(runtime, "public_reports", summaries)
        )

    assert fold() is True  # come back: the points still wait
    assert queued(sql) == {("public_reports", "referral", str(i)) for i in some}
    assert summaries.failures == 1
    assert summaries.backing_off()
    assert fold() is True  # resting: no fold is tried before the back-off ends
    assert len(folds) == 1
    assert len(queued(sql)) == 3


def test_folds_that_keep_failing_end_in_a_full_recompute(sql, db_url, monkeypatch):
    settings = make_settings(db_url)

    async def store(runtime):  # type: ignore[no-untyped-def]
        # no app here, so no updater: the points wait in the queue for the calls below
        receipts = []
        for dx in (0, 80, 160):
            lon, lat = at(CHELMSFORD, dx, 0)
            one = msgspec.convert(alert(lon=lon, lat=lat), StreetLinkAlert)
            receipts.append(await intake.submit(runtime, one, source="api"))
        return [str(r.id) for r in receipts]

    referrals = with_runtime(settings, store)
    assert len(queued(sql)) == 3

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a fold that cannot succeed")

    monkeypatch.setattr(clustering, "_fold", broken)
    monkeypatch.setattr(queue, "RETRY_AFTER_S", (0.0, 0.0, 0.0))
    summaries = Summaries()

    def fold():  # type: ignore[no-untyped-def]
        return with_runtime(
            settings, lambda runtime: apply_update(runtime, "public_reports", summaries)
        )

    for _ in range(FOLD_ATTEMPTS):
        assert fold() is True
        assert len(queued(sql)) == 3
    assert not sql("SELECT 1 FROM hotspot_runs WHERE trigger = 'repair'")
    assert fold() is False  # the repair: a full recompute, which folds nothing
    assert not queued(sql)
    assert set(members(sql)) == set(referrals)
    assert sql("SELECT 1 FROM hotspot_runs WHERE trigger = 'repair'")
    assert summaries.failures == 0


@pytest.mark.parametrize("busy", [True, False])
def test_the_updater_comes_back_only_when_the_layer_was_busy(sql, db_url, busy):
    settings = make_settings(db_url)
    sql(
        "INSERT INTO hotspot_fold_queue (layer, member_kind, member_id) "
        "VALUES ('all_contacts', 'contact', $1)",
        uuid.uuid4(),
    )

    def fold():  # type: ignore[no-untyped-def]
        return with_runtime(
            settings, lambda runtime: apply_update(runtime, "all_contacts", Summaries())
        )

    if busy:
        with layers_held(db_url):
            assert fold() is True
        assert len(queued(sql)) == 1
    else:
        assert fold() is False
        assert not queued(sql)  # a point no longer stored is simply taken off


def test_a_contact_stored_on_its_own_is_queued_for_its_layers(sql, db_url):
    """The one-at-a-time path a batch falls back to (``apply_one``) queues as the batch does."""
    [worker] = sql(
        "SELECT u.id, array_agg(ut.team_id) AS teams FROM users u "
        "JOIN user_teams ut ON ut.user_id = u.id WHERE u.username = 'worker_mid' GROUP BY u.id"
    )
    user = StaffUser(
        id=worker["id"], username="worker_mid", role="worker", team_ids=tuple(worker["teams"])
    )
    item = msgspec.convert(contact(bedded_down=True), ContactIn)

    async def store(runtime):  # type: ignore[no-untyped-def]
        async with transaction(runtime.sessions) as session:
            return await apply_one(runtime, session, user, item)

    result = with_runtime(make_settings(db_url), store)
    assert result.result == "created"
    assert queued(sql) == {
        ("all_contacts", "contact", str(item.id)),
        ("verified_bedded_down", "contact", str(item.id)),
    }
