"""Settings: one frozen Struct, read from ``OUTREACH_*`` environment variables.

Nothing here runs at import time: :meth:`Settings.from_env` is called by the app factory
and the CLI, and tests build their own :class:`Settings`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from service.vocabularies import ROLES, HotspotLayer, Role

ENV_PREFIX = "OUTREACH_"
PACKAGE_DIR = Path(__file__).resolve().parent
LIST_SETTINGS = frozenset(
    {
        "cors_origins",
        "assignment_hotspot_layers",
        "tile_point_roles",
        "trusted_proxies",
        "push_services",
        "map_extra_origins",
    }
)
"""Settings given in the environment as comma-separated lists."""


Days = Annotated[int, msgspec.Meta(ge=1)]
"""A period in whole days (at least one)."""


class SettingsError(Exception):
    """The environment does not describe a usable configuration."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the app can be configured with; each field is ``OUTREACH_<FIELD>``."""

    database_url: str
    """PostgreSQL URL (``postgresql://user@host:port/db``); ``DATABASE_URL`` is read too."""
    db_pool_size: int = 20
    """Connections each process keeps open. Above it requests wait (up to the connect
    timeout) rather than open short-lived extra connections: a new backend costs the database
    far more than a referral does (PostGIS and catalogue loading, statements re-prepared)."""
    db_pool_max_overflow: int = 0
    db_connect_timeout_s: float = 5.0
    db_statement_timeout_ms: int = 15_000
    jwt_secret: str = ""
    """Secret for signing staff tokens; empty means a random one per process (development)."""
    cors_origins: tuple[str, ...] = ()
    device_access_token_minutes: int = 15
    """Lifetime of an access token issued to a registered device (the phone app refreshes it
    with the device's refresh token)."""
    app_lock_minutes: float = 15.0
    """The phone app locks after this many idle minutes (and whenever it starts)."""
    public_rate_limit_per_minute: int = 30
    """Requests a minute from one client to public endpoints (forms, status, sign-in)."""
    rate_limit_store: Literal["memory", "postgres"] = "memory"
    """``postgres`` shares the counters between several app processes."""
    counter_sweep_s: float = 60.0
    """How often expired rate-limit and sign-in counters are dropped from a process's memory
    (``rate_limit_store=memory``; the PostgreSQL store is swept by the retention schedule);
    0 turns the sweep off."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies (IP addresses or CIDR ranges, comma-separated in the env) whose
    ``X-Forwarded-For`` names the client; from any other connection the header is ignored.
    Rate limits and sign-in throttles count clients by address (IPv6 by its /64)."""
    max_public_body_bytes: int = 32 * 1024
    max_body_bytes: int = 4 * 1024 * 1024
    duplicate_radius_m: float = 250.0
    duplicate_window_hours: float = 72.0
    outcome_due_days: int = 14
    not_found_attempts_to_close: int = 3
    """A referral closes as ``not_found`` after this many unsuccessful searches."""
    # Retention periods in days (service.retention_schedule says what each one governs).
    retention_stale_referral_days: Days = 60
    """An open referral with no activity for this long is closed as ``closed_no_activity``."""
    retention_referrer_contact_days: Days = 30
    """Referrer contact details are deleted this long after the referral closes..."""
    retention_referrer_contact_open_days: Days = 90
    """...and this long after it was received, even when it is still open."""
    retention_free_text_days: Days = 365
    """Free text of referrals and searches is erased this long after the referral closes."""
    retention_position_days: Days = 365
    """Exact positions are coarsened to 1 km this long after closure (referrals), the contact
    (contacts) or the last activity (retired hotspots)."""
    retention_unlinked_notes_days: Days = 365
    """Notes and special-category data of contacts linked to no person are erased after this."""
    retention_contact_notes_days: Days = 730
    """Notes and special-category data of every contact are erased after this."""
    retention_dormant_person_days: Days = 1095
    """A person with no contact for this long keeps only what the figures need."""
    retention_messages_days: Days = 30
    """Delivered, cancelled and dead outbox messages are deleted this long after their last
    attempt."""
    retention_interval_s: float = 3600.0
    """How often the app applies the retention schedule; 0 turns the periodic task off."""
    area_refresh_s: float = 300.0
    """How often the in-memory area index is reloaded even without a NOTIFY (seconds)."""
    hotspot_eps_m: float = 200.0
    """Hotspot clustering radius in metres (DBSCAN eps, on British National Grid)."""
    hotspot_min_samples: int = 3
    """Points (itself included) within ``hotspot_eps_m`` that make a point a hotspot core."""
    hotspot_window_days: float = 28.0
    """Only points seen within this many days count towards hotspots (rolling window)."""
    hotspot_recompute_interval_s: float = 600.0
    """Full re-clustering interval across all processes; 0 turns the periodic task off."""
    hotspot_queue_poll_s: float = 10.0
    """How often a process looks for points queued for a fold that nobody woke it for (stored
    by a process since stopped, or by a command-line import; seconds)."""
    map_style_url: str = "https://tiles.openfreemap.org/styles/liberty"
    """The MapLibre style of the base map under /report and /map: by default OpenFreeMap's
    keyless public vector style (OpenStreetMap data). Empty, with no ``basemap_pmtiles``: a
    blank background, and the pages say so."""
    basemap_pmtiles: str = ""
    """Path of a PMTiles base map (Protomaps basemap schema) that the service serves itself
    with HTTP range requests, with a style pointing at it: no third party sees which streets
    are looked at. Takes precedence over ``map_style_url``."""
    basemap_glyphs_dir: str = ""
    """Directory of glyph PBFs (``<fontstack>/<range>.pbf``, e.g. Protomaps' basemaps-assets
    ``fonts/``) for street and place names on the self-hosted base map; without it the
    self-hosted map draws streets without names."""
    map_extra_origins: tuple[str, ...] = ()
    """Origins a base-map style loads from that the service cannot find in the style itself
    (added to the Content-Security-Policy): comma-separated, e.g. ``https://tiles.example``."""
    static_dir: str = str(PACKAGE_DIR / "web" / "static")
    assignment_horizon_shifts: int = 3
    """Each team offers its next this many shifts to the assignment."""
    assignment_auto_recompute: bool = True
    """Recompute assignments in the background when work arrives (debounced)."""
    assignment_debounce_s: float = 0.5
    """Work arriving within this many seconds is assigned in one run (and what arrives during a
    run, in the next). A burst's run costs a few round trips plus about 0.7 ms an item, so
    half a second coalesces a flood of hundreds a second into a few runs while a referral
    reaches its team's list well within a second."""
    swep_sla_hours: float = 12.0
    """Under SWEP an item is due at most this many hours after it was received."""
    assignment_hotspot_layers: tuple[HotspotLayer, ...] = ("verified_bedded_down",)
    """Hotspot layers whose active hotspots are work items (comma-separated in the env)."""
    assignment_hotspot_window_days: int = 28
    """A hotspot is a work item while its last activity is within this many days."""
    route_speed_kmh: float = 30.0
    """Straight-line travel speed for shift routes when no routing server answers."""
    route_detour_factor: float = 1.0
    """Straight-line distance times this factor approximates the road distance."""
    route_dwell_minutes: float = 20.0
    """Minutes spent at each visit of a shift route."""
    shift_plan_days_ahead: int = 14
    """How far ahead a run-sheet can be asked for (days)."""
    osrm_url: str = ""
    """An OSRM-compatible routing server (``table`` service); empty: straight-line only."""
    osrm_timeout_s: float = 2.0
    """How long a run-sheet waits for the routing server before using straight lines."""
    tile_max_features: int = 5000
    """At most this many points per layer in one vector tile (the tile says it was capped)."""
    tile_max_age_s: int = 60
    """How long a browser may reuse a tile (``Cache-Control: private``)."""
    tile_window_days: int = 90
    """The time window of tiles when the request gives none (days up to now)."""
    tile_point_roles: tuple[Role, ...] = ROLES
    """Roles that may see referrals and contacts as points (in their scope); other roles and
    points outside a caller's scope are shown as counts in grid cells."""
    tile_cell_zoom: int = 14
    """The one grid of counted cells (on the map, outside the caller's scope): the tiles of
    this zoom, at every zoom of the map (14: squares of about 1.5 km in Essex)."""
    metrics_token: str = ""
    """Bearer token a Prometheus scraper presents at ``/metrics`` (admins may use their own
    staff token); empty means admins only."""
    log_level: str = "INFO"
    log_json: bool = True
    """One JSON object a log line (set false for plain text while developing)."""
    login_failures_per_user: int = 5
    """Failed sign-ins for one username (from addresses not known for it) before each further
    attempt for it has to wait: ``login_backoff_base_s``, doubling with every failure."""
    login_failures_per_address: int = 20
    """Failed sign-ins from one client (for any usernames) before its attempts have to wait;
    also the failures a known address may make for its own user before it waits."""
    login_backoff_base_s: float = 2.0
    """The first wait after too many failures (seconds); it doubles with each failure."""
    login_failure_window_s: int = 900
    """The longest wait (seconds), and how long failures are remembered after it ends."""
    login_known_address_days: int = 90
    """A client that signed in as a user is known for them for this long after the last
    time: the failures of other clients never keep it waiting (stored hashed)."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Where the public reaches this service: status and unsubscribe links in emails."""
    smtp_url: str = ""
    """``smtp://user:password@host:587`` (STARTTLS when the server offers it),
    ``smtp+starttls://`` (STARTTLS required) or ``smtps://`` (TLS from the start); empty:
    emails wait in the outbox."""
    smtp_ca_file: str = ""
    """A PEM file of certificates to trust for the SMTP server's TLS (a private CA); empty:
    the system's."""
    smtp_from: str = "Essex Outreach <no-reply@outreach.invalid>"
    smtp_timeout_s: float = 10.0
    vapid_private_key: str = ""
    """The Web Push (VAPID) private key, base64url (``outreach push keys`` makes one); empty:
    no push, team alerts go to the team's email address when it has one."""
    vapid_subject: str = "mailto:no-reply@outreach.invalid"
    """The contact the push services see in the VAPID claims (``mailto:`` or ``https:``)."""
    push_services: tuple[str, ...] = (
        "https://fcm.googleapis.com",
        "https://updates.push.services.mozilla.com",
        "https://*.push.apple.com",
        "https://*.notify.windows.com",
    )
    """Where push subscriptions may point (``scheme://host``, ``*.`` for any subdomain;
    comma-separated in the env): the browsers' push services. The server posts to a
    subscription's endpoint, so nothing else (an internal address) may be registered."""
    push_ttl_s: int = 4 * 3600
    """How long a push service keeps an alert for a device that is offline (seconds)."""
    outbox_poll_interval_s: float = 1.0
    """How often an idle sender looks for due messages; 0 turns this process's senders off."""
    outbox_senders: int = 2
    """Sender tasks in each process (each claims its own batches; each keeps an SMTP link)."""
    outbox_batch_size: int = 20
    """Messages one sender claims at a time (a crash resends at most these)."""
    outbox_max_attempts: int = 8
    """Failed attempts after which a message is a dead letter (an admin may retry it)."""
    outbox_backoff_base_s: float = 30.0
    """The wait after the first failure; it doubles with each further failure..."""
    outbox_backoff_max_s: float = 3600.0
    """...up to this many seconds."""

    def __post_init__(self) -> None:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {entry!r} is not an IP address or range"
                ) from None

    @property
    def asyncpg_dsn(self) -> str:
        """The URL without a SQLAlchemy driver suffix, for asyncpg."""
        return to_plain_postgres_url(self.database_url)

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the asyncpg driver, for SQLAlchemy."""
        return to_sqlalchemy_url(self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``OUTREACH_*`` variables (and ``DATABASE_URL``) into settings."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        for name in cls.__struct_fields__:
            value = env.get(ENV_PREFIX + name.upper())
            if value is not None:
                raw[name] = _split_list(value) if name in LIST_SETTINGS else value
        if "database_url" not in raw and env.get("DATABASE_URL"):
            raw["database_url"] = env["DATABASE_URL"]
        if "database_url" not in raw:
            raise SettingsError("set OUTREACH_DATABASE_URL or DATABASE_URL (or use `make run`)")
        if not raw.get("jwt_secret"):
            raw["jwt_secret"] = secrets.token_urlsafe(48)
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid setting: {exc}") from exc


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def to_plain_postgres_url(url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…``."""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+")[0]
    return f"{'postgresql' if base == 'postgres' else base}{sep}{rest}"


def to_sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+asyncpg://…``."""
    _, sep, rest = to_plain_postgres_url(url).partition("://")
    return f"postgresql+asyncpg{sep}{rest}"
