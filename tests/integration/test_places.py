"""The gazetteer: `outreach gazetteer import`, `GET /v1/places/search`, and intake that places
a referral with no pin from its postcode or a place named in its description."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.cli import main
from service.usecases.operations.cli_jobs import import_gazetteer, recompute_hotspots
from service.usecases.places.synthetic import ANCHOR_POSTCODES, write_codepoint, write_fixture
from tests.conftest import assert_problem, in_thread, make_settings

BRAINTREE, CHELMSFORD, MALDON = "E07000067", "E07000070", "E07000074"


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    return write_fixture(tmp_path_factory.mktemp("gazetteer"))


@pytest.fixture(scope="module")
def loaded(module_db_url, fixture_files):
    """The module's database with the synthetic gazetteer imported (the report)."""
    return in_thread(
        asyncio.run,
        import_gazetteer(
            make_settings(module_db_url),
            [fixture_files.onspd, fixture_files.open_names],
            keep_all=False,
        ),
    )


def alert(**overrides):
    seen = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    body = {"seen_at": seen, "gender": "male", "age_band": "36_45", **overrides}
    return {k: v for k, v in body.items() if v is not None}


def search(client, q, **params):
    response = client.get("/v1/places/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


# --- import ---------------------------------------------------------------------------------


def test_import_keeps_greater_essex_skips_terminated_and_reports(loaded, module_sql):
    onspd, names = loaded.files
    assert (onspd.format, names.format) == ("onspd", "opennames")
    # 5 anchors + 300 random kept; London and the terminated postcode skipped.
    assert (onspd.read, onspd.kept, onspd.skipped, onspd.added) == (307, 305, 2, 305)
    # Open Names' own postcode entry and Oxford Street (London) are skipped.
    assert names.skipped == 2
    assert names.added == names.kept > 200
    rows = module_sql("SELECT count(*) AS n FROM gazetteer_postcodes WHERE postcode = 'E1 6ZZ'")
    assert rows[0]["n"] == 0
    rows = module_sql("SELECT authority_code FROM gazetteer_names WHERE name = 'Witham'")
    assert [r["authority_code"] for r in rows] == [BRAINTREE]


def test_import_again_changes_nothing(loaded, module_db_url, module_sql, fixture_files, capsys):
    before = module_sql("SELECT max(imported_at) AS t, count(*) AS n FROM gazetteer_postcodes")
    import os

    os.environ["OUTREACH_DATABASE_URL"] = module_db_url
    try:
        code = main(
            ["gazetteer", "import", str(fixture_files.onspd), str(fixture_files.open_names)]
        )
    finally:
        del os.environ["OUTREACH_DATABASE_URL"]
    assert code == 0
    out = capsys.readouterr()
    assert "0 new, 0 changed, 305 unchanged" in out.out
    assert "onspd.csv" in out.err  # progress on stderr
    after = module_sql("SELECT max(imported_at) AS t, count(*) AS n FROM gazetteer_postcodes")
    assert after == before


def test_all_keeps_rows_outside_greater_essex_and_code_point_is_read(
    db_url, sql, fixture_files, tmp_path
):
    codepoint = write_codepoint(tmp_path / "cm.csv", [("CM3 4ZZ", 51.70, 0.55, CHELMSFORD)])
    report = in_thread(
        asyncio.run,
        import_gazetteer(make_settings(db_url), [fixture_files.onspd, codepoint], keep_all=True),
    )
    assert [f.format for f in report.files] == ["onspd", "codepoint"]
    assert report.files[0].kept == 306  # London kept; the terminated one never is
    row = sql("SELECT source, ST_Y(geom) AS lat FROM gazetteer_postcodes WHERE postcode='CM3 4ZZ'")
    assert row[0]["source"] == "codepoint"
    assert row[0]["lat"] == pytest.approx(51.70, abs=1e-4)


def test_a_file_in_no_known_layout_is_refused_and_changes_nothing(
    db_url, sql, tmp_path, monkeypatch, capsys
):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    assert main(["gazetteer", "import", str(bad)]) == 2
    assert "not an ONSPD" in capsys.readouterr().err
    assert sql("SELECT count(*) AS n FROM gazetteer_postcodes")[0]["n"] == 0


# --- search ---------------------------------------------------------------------------------


def test_a_full_postcode_is_found_with_its_point_and_authority(loaded, module_client):
    body = search(module_client, "cm81zz")
    first = body["results"][0]
    assert first["kind"] == "postcode"
    assert first["name"] == "CM8 1ZZ"
    assert (first["lat"], first["lon"]) == pytest.approx((51.8057, 0.6414))
    assert first["authority"]["code"] == BRAINTREE
    assert first["accuracy_m"] == 100
    assert body["gazetteer_loaded"] is True
    assert body["note"] is None


def test_partial_postcodes_list_the_outward_code_first(loaded, module_client):
    outward = search(module_client, "CM1", limit=20)["results"]
    assert outward
    assert all(r["name"].startswith("CM1 ") for r in outward[:3])
    keys = [r["name"] for r in outward]
    assert keys == sorted(keys, key=lambda k: (not k.startswith("CM1 "), k))
    sector = search(module_client, "ss1 1")["results"]
    assert sector
    assert all(r["name"].startswith("SS1 1") for r in sector)


def test_names_prefix_first_then_fuzzy_towns_before_streets(loaded, module_client):
    first = search(module_client, "with")["results"][0]
    assert (first["name"], first["kind"], first["authority"]["code"]) == (
        "Witham",
        "place",
        BRAINTREE,
    )
    maldon = search(module_client, "high st mal")["results"][0]
    assert (maldon["name"], maldon["context"], maldon["authority"]["code"]) == (
        "High Street",
        "Maldon",
        MALDON,
    )
    misspelt = search(module_client, "chelmsfrd")["results"]
    assert misspelt[0]["name"] == "Chelmsford"


def test_search_limits_size_and_length(loaded, module_client):
    assert len(search(module_client, "high", limit=3)["results"]) <= 3
    assert_problem(module_client.get("/v1/places/search", params={"q": "x" * 101}), 400)
    assert_problem(module_client.get("/v1/places/search", params={"q": "c"}), 400)
    assert_problem(module_client.get("/v1/places/search", params={"q": "cm1", "limit": 21}), 400)
    assert search(module_client, "zzzz qqqq")["results"] == []


def test_search_answers_do_not_depend_on_anyones_reports(loaded, module_client):
    before = [search(module_client, q) for q in ("CM8", "duke", "high street")]
    for _ in range(3):
        response = module_client.post(
            "/v1/referrals",
            json=alert(postcode="CM8 1ZZ", location_description="Duke Street doorway"),
        )
        assert response.status_code == 201
    assert [search(module_client, q) for q in ("CM8", "duke", "high street")] == before


def test_without_a_gazetteer_search_says_text_only_referrals_wait_for_triage(client, sql):
    body = search(client, "CM1 1AA")
    assert body["results"] == []
    assert body["gazetteer_loaded"] is False
    assert "triage" in body["note"]
    response = client.post("/v1/referrals", json=alert(postcode="CM8 1ZZ"))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["waits_for_triage"] is True
    assert receipt["located_by"] is None
    assert "coordinator" in receipt["message"]
    row = sql("SELECT status, located_by, geom, routing_reason FROM referrals")[0]
    assert (row["status"], row["located_by"], row["geom"]) == ("received", None, None)
    assert "no gazetteer" in row["routing_reason"]


# --- intake ---------------------------------------------------------------------------------


def _stored(module_sql, reference):
    return module_sql(
        "SELECT status, authority_code, team_id, located_by, location_accuracy_m, postcode, "
        "location_description, location_quality, routing_reason, ST_Y(geom) AS lat, "
        "ST_X(geom) AS lon FROM referrals WHERE reference = $1",
        reference,
    )[0]


def test_a_postcode_only_referral_is_located_routed_and_assigned(loaded, module_client, module_sql):
    postcode, lat, lon, code = ANCHOR_POSTCODES[1]  # CM8 1ZZ, Witham station: Braintree
    response = module_client.post("/v1/referrals", json=alert(postcode=postcode.lower()))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["located_by"], receipt["waits_for_triage"]) == ("postcode", False)
    row = _stored(module_sql, receipt["reference"])
    assert (row["status"], row["authority_code"], row["located_by"]) == (
        "assigned",
        code,
        "postcode",
    )
    assert row["team_id"] is not None
    assert row["location_accuracy_m"] == 100
    assert (row["lat"], row["lon"]) == pytest.approx((lat, lon))
    assert row["location_quality"] == "text_only"  # what the referrer gave is kept as it was
    assert "its postcode (gazetteer)" in row["routing_reason"]
    assert "CM8" not in row["routing_reason"]  # kept after retention erases the postcode


@pytest.mark.parametrize(
    ("description", "code", "located_by", "point"),
    [
        ("In the doorway of the old bank on Duke Street", CHELMSFORD, "place", (51.7362, 0.47)),
        ("Under the arches, High Street, Maldon", MALDON, "place", (51.7315, 0.677)),
        ("Bench in the park in Witham", BRAINTREE, "place", (51.7978, 0.6373)),
        ("by the shops, postcode cm8 1zz", BRAINTREE, "postcode", (51.8057, 0.6414)),
    ],
)
def test_a_place_only_referral_is_located_routed_and_assigned(
    loaded, module_client, module_sql, description, code, located_by, point
):
    response = module_client.post("/v1/referrals", json=alert(location_description=description))
    assert response.status_code == 201, response.text
    row = _stored(module_sql, response.json()["reference"])
    assert (row["status"], row["authority_code"]) == ("assigned", code)
    assert row["located_by"] == located_by
    assert (row["lat"], row["lon"]) == pytest.approx(point, abs=1e-4)
    assert "(gazetteer)" in row["routing_reason"]
    assert row["location_description"] == description


def test_an_ambiguous_or_unknown_place_is_kept_for_triage(loaded, module_client, module_sql):
    # "High Street" alone: four towns have one.
    response = module_client.post(
        "/v1/referrals", json=alert(location_description="Outside the chemist on the High Street")
    )
    row = _stored(module_sql, response.json()["reference"])
    assert (row["status"], row["located_by"], row["lat"]) == ("received", None, None)


def test_an_unknown_postcode_is_kept_flagged_for_triage_and_loses_nothing(
    loaded, module_client, module_sql
):
    key = str(uuid.uuid4())
    body = alert(
        postcode="CM9 9ZZ",
        location_description="Behind the bins at the back of the pub",
        appearance="Red coat",
    )
    response = module_client.post("/v1/referrals", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["located_by"], receipt["waits_for_triage"]) == (None, True)
    row = _stored(module_sql, receipt["reference"])
    assert (row["status"], row["authority_code"], row["located_by"]) == ("received", None, None)
    assert row["postcode"] == "CM9 9ZZ"
    assert row["location_description"] == body["location_description"]
    assert "its postcode is not in the gazetteer" in row["routing_reason"]
    assert "triage" in row["routing_reason"]
    # A resend gives the same receipt, still waiting.
    again = module_client.post("/v1/referrals", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert again.json()["waits_for_triage"] is True


def test_a_pin_wins_over_the_postcode_and_is_marked_pin(loaded, module_client, module_sql):
    response = module_client.post(
        "/v1/referrals",
        json=alert(lat=51.7366, lon=0.4693, accuracy_m=15, postcode="CM8 1ZZ"),
    )
    row = _stored(module_sql, response.json()["reference"])
    assert (row["authority_code"], row["located_by"], row["location_accuracy_m"]) == (
        CHELMSFORD,
        "pin",
        15,
    )


def test_referrals_placed_from_a_place_name_make_no_hotspot(client, db_url, sql, fixture_files):
    """A town's or street's centre is where the gazetteer puts a name, not where anyone
    sleeps: such referrals are routed but not clustered; postcode-placed ones are."""
    settings = make_settings(db_url)
    in_thread(
        asyncio.run,
        import_gazetteer(settings, [fixture_files.onspd, fixture_files.open_names], keep_all=False),
    )
    for i in range(3):
        for body in (
            alert(location_description=f"Bench {i} in the park in Witham"),
            alert(postcode="CM1 1ZZ", appearance=f"person {i}"),
        ):
            assert client.post("/v1/referrals", json=body).status_code == 201
    in_thread(asyncio.run, recompute_hotspots(settings))
    members = sql(
        "SELECT r.located_by, count(*) AS n FROM hotspot_members m "
        "JOIN referrals r ON r.id = m.member_id WHERE m.layer = 'public_reports' "
        "GROUP BY r.located_by"
    )
    assert [(m["located_by"], m["n"]) for m in members] == [("postcode", 3)]


def test_the_search_is_rate_limited_per_client(db_url):
    settings = make_settings(db_url, public_rate_limit_per_minute=3)
    with TestClient(app=create_app(settings)) as limited:
        statuses = [
            limited.get("/v1/places/search", params={"q": "CM1"}).status_code for _ in range(5)
        ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
