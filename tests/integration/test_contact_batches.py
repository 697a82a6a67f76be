"""A contact batch is written in a few statements, with the same per-item results as item by
item: repeated ids within one batch, references checked together, and the item-by-item path
when a referenced row vanishes between the checks and the write."""

from __future__ import annotations

import uuid

from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert


def post(client, headers, items):
    response = client.post("/v1/contacts:batch", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_id_repeated_in_one_batch_is_created_once(client, sql, staff):
    item = contact()
    body = post(client, staff["worker_mid"], [item, item, {**item, "notes": "changed"}])
    assert [r["result"] for r in body["results"]] == ["created", "duplicate", "conflict"]
    assert (body["created"], body["duplicates"], body["conflicts"]) == (1, 1, 1)
    rows = sql("SELECT notes FROM contacts")
    assert [r["notes"] for r in rows] == ["Talked for 10 minutes"]
    assert sql("SELECT count(*) AS n FROM changes WHERE kind = 'contact_created'")[0]["n"] == 1


def test_unknown_people_teams_and_referrals_out_of_scope_are_rejected_alone(client, sql, staff):
    receipt = client.post("/v1/referrals", json=alert(lat=51.538, lon=0.714)).json()  # Southend
    southend = sql("SELECT id FROM referrals WHERE reference = $1", receipt["reference"])[0]["id"]
    items = [
        contact(person_id=str(uuid.uuid4())),
        contact(referral_id=str(southend)),
        contact(),
    ]
    body = post(client, staff["worker_mid"], items)
    assert [r["result"] for r in body["results"]] == ["rejected", "rejected", "created"]
    assert body["results"][0]["problem"]["errors"][0]["field"] == "person_id"
    assert body["results"][1]["problem"]["status"] == 404
    admin = post(client, staff["admin"], [contact(team_id=987654), contact(team_id=4)])
    assert [r["result"] for r in admin["results"]] == ["rejected", "created"]
    assert admin["results"][0]["problem"]["errors"][0]["field"] == "team_id"
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 2


def test_a_reference_gone_between_check_and_write_falls_back_to_item_by_item(client, sql, staff):
    # A trigger stands in for the race: the person looks present to the checks, then the
    # write of this one contact fails on its foreign key, as if the person had just gone.
    person = client.post("/v1/persons", json={"known_as": "Al"}, headers=staff["worker_mid"])
    person_id = person.json()["id"]
    sql(
        "CREATE FUNCTION vanish() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.notes = 'race' THEN RAISE foreign_key_violation USING "
        "CONSTRAINT = 'fk_contacts_person_id_persons', MESSAGE = 'gone'; END IF; "
        "RETURN NEW; END $$"
    )
    sql("CREATE TRIGGER vanish BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION vanish()")
    items = [contact(), contact(person_id=person_id, notes="race"), contact()]
    body = post(client, staff["worker_mid"], items)
    assert [r["result"] for r in body["results"]] == ["created", "rejected", "created"]
    assert body["results"][1]["problem"]["errors"][0]["field"] == "person_id"
    assert sql("SELECT count(*) AS n FROM contacts")[0]["n"] == 2
    assert sql("SELECT count(*) AS n FROM changes WHERE kind = 'contact_created'")[0]["n"] == 2
