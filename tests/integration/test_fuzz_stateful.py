"""Stateful fuzzing: make data through the API, then read every GET route as every caller.

``test_fuzz.py`` fuzzes one operation at a time against an empty database, so a read that
breaks only once some kind of data exists (``GET /v1/referrals`` answered 500 as soon as a
text-only referral was stored: its ``sla_breached`` was null where the schema says bool) is
never seen. Here a Hypothesis state machine creates referrals (pinned, text only, coarse,
urgent, out of area, with hostile text), contacts, persons, pins, searches, outcomes,
duplicate decisions, SWEP switches, placements and forwards, all through the API, and after
each step reads every list and detail route of the committed OpenAPI document as anonymous,
workers and coordinators in and out of scope, and an admin: no 5xx, and every answer
conforms to the document (schemathesis validates status, content type and body).

Bounded and derandomized so it costs a few seconds: a failure is reported as first found.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    rule,
    run_state_machine_as_test,
)
from litestar.testing import TestClient
from schemathesis.config import SchemathesisConfig

from tests.conftest import ROOT
from tests.integration.test_contacts import contact
from tests.integration.test_referrals import alert

schema = schemathesis.openapi.from_path(
    ROOT / "openapi" / "openapi.json", config=SchemathesisConfig.from_dict({})
)
WHO = ("anonymous", "worker_mid", "worker_south", "coord_mid", "coord_south", "admin")
PLACES = {
    "chelmsford": (0.4693, 51.7366),
    "southend": (0.7140, 51.5380),
    "colchester": (0.9010, 51.8890),
    "london": (-0.1276, 51.5072),  # out of area
}
HOSTILE = st.sampled_from(
    [
        "Doorway of the bank",
        '<img src=x onerror="alert(1)">',
        "Ünïcödé café — by the 🚉",
        "'; DROP TABLE referrals; --",
        " ",
    ]
)
NOT_READ = {"/metrics"}  # Prometheus text, checked in test_operations; not in the matrix here
PATH_PARAM = re.compile(r"\{([^}]+)\}")


def _get_routes() -> list[str]:
    return sorted(
        path
        for path, operations in schema.raw_schema["paths"].items()
        if "get" in operations and not path.startswith("/open311/") and path not in NOT_READ
    )


GET_ROUTES = _get_routes()


class Outreach(RuleBasedStateMachine):
    """One coordinator's day, exercised at random through the API."""

    referrals = Bundle("referrals")
    persons = Bundle("persons")

    def __init__(self, client: TestClient[Any], staff: dict[str, dict[str, str]], sql: Any) -> None:
        super().__init__()
        self.client = client
        self.staff = staff
        self.sql = sql
        self.values: dict[str, list[str]] = {
            "referral_id": [],
            "contact_id": [],
            "person_id": [],
            "hotspot_id": [],
            "reference": [],
        }
        self.tokens: dict[str, str] = {}

    # --- making data ------------------------------------------------------------------------

    def _post_referral(self, body: dict[str, Any]) -> str | None:
        response = self.client.post("/v1/referrals", json=body)
        assert response.status_code < 500, response.text
        if response.status_code != 201:
            return None
        receipt = response.json()
        token = receipt["status_url"].split("token=")[1]
        self.tokens[receipt["reference"]] = token
        self.values["reference"].append(receipt["reference"])
        rows = self.sql("SELECT id FROM referrals WHERE reference = $1", receipt["reference"])
        referral_id = str(rows[0]["id"])
        self.values["referral_id"].append(referral_id)
        return referral_id

    @initialize(target=referrals)
    def a_text_only_referral(self) -> str | None:
        return self._post_referral(alert(lat=None, lon=None, accuracy_m=None))

    @rule(
        target=referrals,
        kind=st.sampled_from(["pin", "text_only", "coarse", "urgent", "out_of_area"]),
        place=st.sampled_from(sorted(PLACES)),
        text=HOSTILE,
    )
    def a_referral(self, kind: str, place: str, text: str) -> str | None:
        lon, lat = PLACES["london" if kind == "out_of_area" else place]
        body = alert(lon=lon, lat=lat, location_description=text, appearance=text)
        if kind == "text_only":
            body = alert(lat=None, lon=None, accuracy_m=None, location_description=text)
        elif kind == "coarse":
            body["accuracy_m"] = 2000
        elif kind == "urgent":
            body["immediate_danger"] = True
        return self._post_referral(body)

    @rule(target=persons, who=st.sampled_from(["worker_mid", "worker_south"]), name=HOSTILE)
    def a_person(self, who: str, name: str) -> str | None:
        response = self.client.post(
            "/v1/persons", json={"known_as": name[:40]}, headers=self.staff[who]
        )
        assert response.status_code < 500, response.text
        if response.status_code != 201:
            return None
        self.values["person_id"].append(response.json()["id"])
        return str(response.json()["id"])

    @rule(
        who=st.sampled_from(["worker_mid", "worker_south"]),
        place=st.sampled_from(sorted(PLACES)),
        person=st.none() | persons,
        bedded_down=st.booleans(),
    )
    def a_contact(self, who: str, place: str, person: str | None, bedded_down: bool) -> None:
        lon, lat = PLACES[place]
        item = contact(lon=lon, lat=lat, bedded_down=bedded_down)
        if person is not None:
            item["person_id"] = person
        response = self.client.post(
            "/v1/contacts:batch", json={"items": [item]}, headers=self.staff[who]
        )
        assert response.status_code < 500, response.text
        if response.status_code == 200 and response.json()["created"]:
            self.values["contact_id"].append(item["id"])

    # --- acting on it -----------------------------------------------------------------------

    @rule(referral=referrals, team=st.integers(1, 6), release=st.booleans())
    def a_pin(self, referral: str | None, team: int, release: bool) -> None:
        if referral is None:
            return
        item = f"/v1/assignments/referral:{referral}"
        pinned = self.client.put(item, json={"team_id": team}, headers=self.staff["admin"])
        assert pinned.status_code < 500, pinned.text
        if release:
            released = self.client.delete(item, headers=self.staff["admin"])
            assert released.status_code < 500, released.text

    @rule(referral=referrals, found=st.booleans(), who=st.sampled_from(["worker_mid", "admin"]))
    def a_search(self, referral: str | None, found: bool, who: str) -> None:
        if referral is None:
            return
        body = {
            "id": str(uuid.uuid4()),
            "attempted_at": dt.datetime.now(dt.UTC).isoformat(),
            "found": found,
        }
        response = self.client.post(
            f"/v1/referrals/{referral}/attempts", json=body, headers=self.staff[who]
        )
        assert response.status_code < 500, response.text

    @rule(referral=consumes(referrals), outcome=st.sampled_from(["found_engaged", "not_found"]))
    def an_outcome(self, referral: str | None, outcome: str) -> None:
        if referral is None:
            return
        response = self.client.post(
            f"/v1/referrals/{referral}/outcome",
            json={"outcome": outcome},
            headers=self.staff["admin"],
        )
        assert response.status_code < 500, response.text

    @rule(one=referrals, other=referrals, confirm=st.booleans())
    def a_duplicate_decision(self, one: str | None, other: str | None, confirm: bool) -> None:
        if one is None or other is None:
            return
        method = "POST" if confirm else "DELETE"
        response = self.client.request(
            method, f"/v1/referrals/{one}/duplicate-of/{other}", headers=self.staff["coord_mid"]
        )
        assert response.status_code < 500, response.text

    @rule(
        referral=referrals,
        place=st.sampled_from(sorted(PLACES)),
        who=st.sampled_from(["coord_mid", "coord_south", "admin"]),
    )
    def a_placement(self, referral: str | None, place: str, who: str) -> None:
        if referral is None:
            return
        lon, lat = PLACES[place]
        response = self.client.put(
            f"/v1/referrals/{referral}/location",
            json={"lon": lon, "lat": lat, "note": "fuzz"},
            headers=self.staff[who],
        )
        assert response.status_code < 500, response.text

    @rule(referral=referrals, note=HOSTILE.filter(str.strip))
    def a_forward(self, referral: str | None, note: str) -> None:
        if referral is None:
            return
        response = self.client.post(
            f"/v1/referrals/{referral}/forward", json={"note": note}, headers=self.staff["admin"]
        )
        assert response.status_code < 500, response.text

    @rule(area=st.sampled_from(["E07000070", "E06000033"]), active=st.booleans())
    def a_swep_switch(self, area: str, active: bool) -> None:
        response = self.client.put(
            f"/v1/areas/{area}/swep", json={"active": active}, headers=self.staff["admin"]
        )
        assert response.status_code < 500, response.text

    @rule()
    def a_recompute(self) -> None:
        response = self.client.post("/v1/hotspots:recompute", headers=self.staff["admin"])
        assert response.status_code < 500, response.text
        listed = self.client.get("/v1/hotspots", headers=self.staff["admin"])
        self.values["hotspot_id"] = [str(f["id"]) for f in listed.json()["features"]][:3]

    # --- reading everything -----------------------------------------------------------------

    def _urls(self, path: str) -> list[str]:
        names = PATH_PARAM.findall(path)
        if not names:
            return [path]
        fixed = {"team_id": ["4", "1"], "z": ["7"], "x": ["64"], "y": ["42.mvt"]}
        urls = [path]
        for name in names:
            values = fixed.get(name) or self.values.get(name, [])[-2:]
            urls = [u.replace("{" + name + "}", v) for u in urls for v in values]
        return urls

    def _query(self, path: str, url: str) -> dict[str, str]:
        if path == "/v1/areas/lookup":
            return {"lon": "0.4693", "lat": "51.7366"}
        if path == "/v1/referrals/{reference}/status":
            reference = url.split("/")[3]
            return {"token": self.tokens.get(reference, "x")}
        return {}

    def _read_all(self, who: str) -> None:
        headers = {} if who == "anonymous" else self.staff[who]
        for path in GET_ROUTES:
            operation = schema[path]["GET"]
            for url in self._urls(path):
                response = self.client.get(url, params=self._query(path, url), headers=headers)
                assert response.status_code < 500, f"{who} GET {url}: {response.text[:300]}"
                operation.validate_response(response)

    @rule(who=st.sampled_from(WHO))
    def read_everything(self, who: str) -> None:
        self._read_all(who)

    def teardown(self) -> None:
        for who in WHO:
            self._read_all(who)


def test_stateful_reads_never_fail(
    client: TestClient[Any], staff: dict[str, dict[str, str]], sql: Any
) -> None:
    run_state_machine_as_test(
        lambda: Outreach(client, staff, sql),
        settings=settings(
            max_examples=2,
            stateful_step_count=10,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
