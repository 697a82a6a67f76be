"""SQLAlchemy 2 / GeoAlchemy2 models. The schema itself is built by the Alembic migrations;
a test checks that these models and the migrations agree.

Geometry is stored in SRID 4326 for the API and copied to British National Grid (27700) in a
generated column for metric work; both carry GiST indexes.
"""

from __future__ import annotations

import datetime as dt
import uuid

from geoalchemy2 import Geometry
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.vocabularies import (
    ASSIGNMENT_RULES,
    AUTHORITY_KINDS,
    CONSENT_STATES,
    CONTACT_TYPES,
    DUPLICATE_STATES,
    ENGAGEMENT_LEVELS,
    GAZETTEER_KINDS,
    HOTSPOT_EVENTS,
    HOTSPOT_LAYERS,
    HOTSPOT_STATUSES,
    ITEM_KINDS,
    LOCATED_BY,
    MEMBER_KINDS,
    MESSAGE_CHANNELS,
    MESSAGE_STATES,
    MESSAGE_TEMPLATES,
    NATIONALITY_BANDS,
    OUTCOME_CODES,
    REFERRAL_STATUSES,
    ROLES,
    WORK_KINDS,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def geometry(kind: str, srid: int) -> Geometry:
    """A geometry column type; indexes are declared explicitly, not by GeoAlchemy2."""
    return Geometry(kind, srid=srid, spatial_index=False)


def one_of(column: str, vocabulary: tuple[str, ...], *, nullable: bool = False) -> CheckConstraint:
    """A CHECK that ``column`` holds a value of ``vocabulary`` (``service.vocabularies``),
    named after the column; the vocabulary rides along in ``info`` so a test can compare it
    with the constraint the migrations built."""
    values = ", ".join(f"'{v}'" for v in vocabulary)
    condition = f"{column} IN ({values})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(
        condition, name=column, info={"column": column, "vocabulary": vocabulary}
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BoundaryVersion(Base):
    """One loaded set of authority boundaries; exactly one is current."""

    __tablename__ = "boundary_versions"
    __table_args__ = (
        Index(
            "uq_boundary_versions_current",
            "is_current",
            unique=True,
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    """The statement the boundaries' licence asks to be shown with them (OGL v3 for ONS)."""
    approximate: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_current: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Authority(Base):
    """A local authority's boundary in one boundary version."""

    __tablename__ = "authorities"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        one_of("kind", AUTHORITY_KINDS),
        Index("ix_authorities_geom", "geom", postgresql_using="gist"),
        Index("ix_authorities_geom_bng", "geom_bng", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("boundary_versions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    geom = mapped_column(geometry("MULTIPOLYGON", 4326), nullable=False)
    geom_bng = mapped_column(
        geometry("MULTIPOLYGON", 27700), Computed("ST_Transform(geom, 27700)", persisted=True)
    )


class AuthorityPart(Base):
    """``ST_Subdivide``d pieces of each boundary: fast point-in-polygon in SQL (as mapit)."""

    __tablename__ = "authority_parts"
    __table_args__ = (
        Index("ix_authority_parts_geom", "geom", postgresql_using="gist"),
        Index("ix_authority_parts_geom_bng", "geom_bng", postgresql_using="gist"),
        Index("ix_authority_parts_authority_id", "authority_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id", ondelete="CASCADE"))
    geom = mapped_column(geometry("POLYGON", 4326), nullable=False)
    geom_bng = mapped_column(
        geometry("POLYGON", 27700), Computed("ST_Transform(geom, 27700)", persisted=True)
    )


class Team(Base):
    """An outreach team: where it starts from, when it goes out, how many visits a shift."""

    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("shift_capacity >= 0", name="shift_capacity"),
        Index("ix_teams_base_bng", "base_bng", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    base = mapped_column(geometry("POINT", 4326), nullable=False)
    base_bng = mapped_column(
        geometry("POINT", 27700), Computed("ST_Transform(base, 27700)", persisted=True)
    )
    shift_capacity: Mapped[int] = mapped_column(Integer)
    shift_start: Mapped[dt.time] = mapped_column(Time)
    shift_end: Mapped[dt.time] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    alert_email: Mapped[str | None] = mapped_column(String(254))
    """Where the team's alerts go when no device of a worker on shift can take a push."""


class TeamArea(Base):
    """Which authorities (by ONS code, stable across boundary versions) a team covers."""

    __tablename__ = "team_areas"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    authority_code: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)


class SwepState(Base):
    """Severe Weather Emergency Protocol, switched on per authority."""

    __tablename__ = "swep_states"

    authority_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    changed_by: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    """A member of staff who signs in: outreach worker, coordinator or admin."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class UserTeam(Base):
    """The teams a user belongs to (their scope as a worker)."""

    __tablename__ = "user_teams"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )


class UserAuthority(Base):
    """The authorities a coordinator oversees (their scope as a coordinator)."""

    __tablename__ = "user_authorities"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    authority_code: Mapped[str] = mapped_column(String(9), primary_key=True)


class Device(Base):
    """A phone registered by a member of staff: it holds a refresh token (only its SHA-256 is
    kept here, and the one before it while the phone may not have read the new one) and loses
    every token when revoked."""

    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(100))
    refresh_hash: Mapped[bytes] = mapped_column(LargeBinary)
    previous_refresh_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Referral(Base):
    """A public alert about someone sleeping rough, and its lifecycle.

    Nothing here identifies the referrer: their contact details live in ``referrer_contacts``
    and are deleted after closure.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        one_of("status", REFERRAL_STATUSES),
        one_of("outcome", OUTCOME_CODES, nullable=True),
        one_of("located_by", LOCATED_BY, nullable=True),
        CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_has_outcome"),
        CheckConstraint("people_count BETWEEN 1 AND 50", name="people_count"),
        Index("ix_referrals_geom_bng", "geom_bng", postgresql_using="gist"),
        Index("ix_referrals_geom", "geom", postgresql_using="gist"),
        Index("ix_referrals_geom_mercator", "geom_mercator", postgresql_using="gist"),
        Index("ix_referrals_open_seen_at", "seen_at", postgresql_where=text("status <> 'closed'")),
        # the nearby-duplicate search of intake (migration 0018)
        Index(
            "ix_referrals_open_geom_bng_seen_at",
            "geom_bng",
            "seen_at",
            postgresql_using="gist",
            postgresql_where=text("status <> 'closed'"),
        ),
        Index("ix_referrals_team_id_status", "team_id", "status"),
        Index("ix_referrals_seen_at", "seen_at"),
        Index(
            "ix_referrals_authority_code_received_at",
            "authority_code",
            "received_at",
            postgresql_include=[
                "team_id",
                "outcome",
                "closed_at",
                "next_shift_due_at",
                "outcome_due_at",
            ],
        ),
        Index("ix_referrals_fingerprint_received_at", "fingerprint", "received_at"),
        Index("ix_referrals_received_at", "received_at"),
        Index("ix_referrals_team_id_received_at", "team_id", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status_token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    token_salt: Mapped[bytes] = mapped_column(LargeBinary)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the client's submission key: a resend returns the same receipt."""
    fingerprint: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    seen_exact: Mapped[bool] = mapped_column(Boolean)
    seen_time_band: Mapped[str] = mapped_column(String(20))
    geom = mapped_column(geometry("POINT", 4326), nullable=True)
    geom_bng = mapped_column(
        geometry("POINT", 27700), Computed("ST_Transform(geom, 27700)", persisted=True)
    )
    geom_mercator = mapped_column(
        geometry("POINT", 3857), Computed("ST_Transform(geom, 3857)", persisted=True)
    )
    """Web Mercator, for vector tiles: no per-point transform when a tile is built."""
    accuracy_m: Mapped[float | None]
    location_quality: Mapped[str] = mapped_column(String(20))
    location_description: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    gender: Mapped[str] = mapped_column(String(20))
    age_band: Mapped[str] = mapped_column(String(20))
    appearance: Mapped[str | None] = mapped_column(Text)
    clothing: Mapped[str | None] = mapped_column(Text)
    belongings: Mapped[str | None] = mapped_column(Text)
    site_type: Mapped[str | None] = mapped_column(String(20))
    people_count: Mapped[int] = mapped_column(SmallInteger)
    immediate_danger: Mapped[bool] = mapped_column(Boolean)
    appears_under_18: Mapped[bool] = mapped_column(Boolean)
    self_referral: Mapped[bool] = mapped_column(Boolean)
    urgent: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'received'"))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    outcome: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    authority_code: Mapped[str | None] = mapped_column(String(9))
    boundary_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("boundary_versions.id", ondelete="SET NULL")
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    routing_reason: Mapped[str] = mapped_column(Text)
    out_of_area: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    next_shift_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    located_by: Mapped[str | None] = mapped_column(Text)
    """How the position was found: ``service.vocabularies.LOCATED_BY`` (``coordinator`` when
    placed by hand in the console)."""
    location_accuracy_m: Mapped[float | None] = mapped_column(REAL)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class ReferrerContact(Base):
    """The referrer's contact details, kept apart, only with consent, deleted after closure."""

    __tablename__ = "referrer_contacts"

    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    wants_update: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    status_token: Mapped[str | None] = mapped_column(String(64))
    """The referrer's status token, kept only while they want updates (the link in them)."""


class ReferralEvent(Base):
    """The referral's history: routing, status changes, attempts, duplicate decisions."""

    __tablename__ = "referral_events"
    __table_args__ = (Index("ix_referral_events_referral_id_at", "referral_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class ReferralDuplicate(Base):
    """A possible duplicate pair (newer → older) for a coordinator to confirm or reject."""

    __tablename__ = "referral_duplicates"
    __table_args__ = (
        one_of("state", DUPLICATE_STATES),
        CheckConstraint("referral_id <> other_id", name="distinct"),
        Index("ix_referral_duplicates_other_id", "other_id"),
    )

    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True
    )
    other_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(40))
    distance_m: Mapped[float | None]
    hours_apart: Mapped[float | None]
    state: Mapped[str] = mapped_column(String(20), server_default=text("'suggested'"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class AuditLog(Base):
    """Every staff read of personal data (and every change made by staff)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class KeyValue(Base):
    """A small shared store (rate-limit counters) so several app processes agree."""

    __tablename__ = "kv_store"
    __table_args__ = (Index("ix_kv_store_expires_at", "expires_at"),)

    namespace: Mapped[str] = mapped_column(String(50), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Person(Base):
    """A pseudonymised person known to outreach; records start anonymous and partial."""

    __tablename__ = "persons"
    __table_args__ = (
        one_of("consent_status", CONSENT_STATES),
        one_of("nationality_band", NATIONALITY_BANDS),
        Index("ix_persons_merged_into", "merged_into"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    known_as: Mapped[str | None] = mapped_column(String(100))
    age_band: Mapped[str] = mapped_column(String(20), server_default=text("'unknown'"))
    gender: Mapped[str] = mapped_column(String(20), server_default=text("'unknown'"))
    consent_status: Mapped[str] = mapped_column(String(20), server_default=text("'unknown'"))
    nationality_band: Mapped[str] = mapped_column(String(20), server_default=text("'unknown'"))
    """UK, EU or non-EU: sensitive (misused for immigration enforcement), so it is never
    returned on a read and appears only in the administrator's snapshot return."""
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    merged_into: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class PersonMerge(Base):
    """A coordinator's merge of two person records; undoing it sets ``undone_at``."""

    __tablename__ = "person_merges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    from_person: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    into_person: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    merged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Contact(Base):
    """An outreach contact logged by a worker; ``id`` is the phone app's own UUID."""

    __tablename__ = "contacts"
    __table_args__ = (
        one_of("contact_type", CONTACT_TYPES),
        one_of("engagement", ENGAGEMENT_LEVELS),
        Index("ix_contacts_geom_bng", "geom_bng", postgresql_using="gist"),
        Index("ix_contacts_geom", "geom", postgresql_using="gist"),
        Index("ix_contacts_geom_mercator", "geom_mercator", postgresql_using="gist"),
        Index("ix_contacts_team_id_observed_at", "team_id", "observed_at"),
        Index("ix_contacts_person_id_observed_at", "person_id", "observed_at"),
        Index("ix_contacts_referral_id", "referral_id"),
        Index("ix_contacts_observed_at", "observed_at"),
        Index(
            "ix_contacts_authority_code_observed_at",
            "authority_code",
            "observed_at",
            postgresql_include=["team_id", "bedded_down", "person_id"],
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    observed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    geom = mapped_column(geometry("POINT", 4326), nullable=False)
    geom_bng = mapped_column(
        geometry("POINT", 27700), Computed("ST_Transform(geom, 27700)", persisted=True)
    )
    geom_mercator = mapped_column(
        geometry("POINT", 3857), Computed("ST_Transform(geom, 3857)", persisted=True)
    )
    """Web Mercator, for vector tiles: no per-point transform when a tile is built."""
    accuracy_m: Mapped[float | None]
    authority_code: Mapped[str | None] = mapped_column(String(9))
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    referral_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="SET NULL")
    )
    bedded_down: Mapped[bool] = mapped_column(Boolean)
    contact_type: Mapped[str] = mapped_column(String(30))
    engagement: Mapped[str] = mapped_column(String(30))
    offers_made: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    offers_accepted: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    outcome: Mapped[str | None] = mapped_column(String(200))
    safeguarding_concern: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    notes: Mapped[str | None] = mapped_column(Text)
    notes_erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ContactSensitive(Base):
    """Special-category data (support needs, health), kept apart from the contact and only
    returned to roles that need it."""

    __tablename__ = "contact_sensitive"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    support_needs: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    health_notes: Mapped[str | None] = mapped_column(Text)


class ReferralAttempt(Base):
    """A worker's search for the person a referral describes."""

    __tablename__ = "referral_attempts"
    __table_args__ = (Index("ix_referral_attempts_referral_id", "referral_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    found: Mapped[bool] = mapped_column(Boolean)
    geom = mapped_column(geometry("POINT", 4326), nullable=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Change(Base):
    """The change feed behind ``GET /v1/sync``. ``seq`` is assigned under a lock to rows that
    have committed, in order, so a reader's cursor never skips a late-committing change."""

    __tablename__ = "changes"
    __table_args__ = (
        Index("uq_changes_seq", "seq", unique=True),
        Index("ix_changes_unsequenced", "id", postgresql_where=text("seq IS NULL")),
        Index("ix_changes_team_id_seq", "team_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class IdempotentResponse(Base):
    """A stored response for an ``Idempotency-Key``: a replayed batch gets the same answer."""

    __tablename__ = "idempotent_responses"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Hotspot(Base):
    """A density cluster of one layer's points in the rolling window, with a stable id.

    Ids survive re-clustering when most members are the same (``geo.hotspot_identity``); a
    hotspot that merged into another or emptied is ``retired`` (never deleted), with its
    ``successor_id`` when it went on as part of another.
    """

    __tablename__ = "hotspots"
    __table_args__ = (
        one_of("layer", HOTSPOT_LAYERS),
        one_of("status", HOTSPOT_STATUSES),
        CheckConstraint("(status = 'retired') = (retired_at IS NOT NULL)", name="retired_at"),
        Index("ix_hotspots_centroid_bng", "centroid_bng", postgresql_using="gist"),
        Index("ix_hotspots_centroid", "centroid", postgresql_using="gist"),
        Index("ix_hotspots_layer_status", "layer", "status"),
        Index("ix_hotspots_team_id_status", "team_id", "status"),
        Index("ix_hotspots_authority_code_status", "authority_code", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), server_default=text("'active'"))
    centroid = mapped_column(geometry("POINT", 4326), nullable=False)
    centroid_bng = mapped_column(
        geometry("POINT", 27700), Computed("ST_Transform(centroid, 27700)", persisted=True)
    )
    hull = mapped_column(geometry("GEOMETRY", 4326), nullable=False)
    authority_code: Mapped[str | None] = mapped_column(String(9))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    member_count: Mapped[int] = mapped_column(Integer)
    core_count: Mapped[int] = mapped_column(Integer)
    referral_count: Mapped[int] = mapped_column(Integer)
    contact_count: Mapped[int] = mapped_column(Integer)
    bedded_down_count: Mapped[int] = mapped_column(Integer)
    first_activity_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("hotspots.id", ondelete="SET NULL"))


class HotspotMember(Base):
    """Which hotspot a point of a layer belongs to now (noise points have no row)."""

    __tablename__ = "hotspot_members"
    __table_args__ = (
        one_of("layer", HOTSPOT_LAYERS),
        one_of("member_kind", MEMBER_KINDS),
        Index("ix_hotspot_members_hotspot_id", "hotspot_id"),
    )

    layer: Mapped[str] = mapped_column(String(30), primary_key=True)
    member_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspots.id", ondelete="CASCADE"))
    core: Mapped[bool] = mapped_column(Boolean)


class HotspotFoldQueue(Base):
    """New points waiting for their layer's next fold, written with the points themselves:
    whichever app process next holds the layer folds every process's points at once, and a
    point outlives the process that stored it (``service.usecases.hotspots.queue``)."""

    __tablename__ = "hotspot_fold_queue"
    __table_args__ = (one_of("layer", HOTSPOT_LAYERS), one_of("member_kind", MEMBER_KINDS))

    layer: Mapped[str] = mapped_column(String(30), primary_key=True)
    member_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    queued_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class HotspotRun(Base):
    """One full recompute (periodic, on demand or at start-up) and what it found."""

    __tablename__ = "hotspot_runs"
    __table_args__ = (Index("ix_hotspot_runs_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float] = mapped_column(Double)
    process: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(Integer)
    hotspots: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict[str, object]] = mapped_column(JSONB)
    layers: Mapped[dict[str, object]] = mapped_column(JSONB)


class HotspotEvent(Base):
    """A hotspot was born, split, merged into another, or retired; with the ids involved."""

    __tablename__ = "hotspot_events"
    __table_args__ = (
        one_of("kind", HOTSPOT_EVENTS),
        Index("ix_hotspot_events_hotspot_id", "hotspot_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("hotspots.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    related: Mapped[list[int]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("hotspot_runs.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class AssignmentRun(Base):
    """One recompute of every open item's assignment: when, why, and what it found."""

    __tablename__ = "assignment_runs"
    __table_args__ = (Index("ix_assignment_runs_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float] = mapped_column(Double)
    items: Mapped[int] = mapped_column(Integer)
    assigned: Mapped[int] = mapped_column(Integer)
    unassigned: Mapped[int] = mapped_column(Integer)
    overflowed: Mapped[int] = mapped_column(Integer)
    pinned: Mapped[int] = mapped_column(Integer)
    swep_authorities: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    incremental: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    inputs_digest: Mapped[str | None] = mapped_column(String(64))
    next_boundary_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Assignment(Base):
    """The current assignment of one open work item (a referral or a hotspot): the team and
    shift, or why there is none, and the numbers behind it. Replaced whole by each run."""

    __tablename__ = "assignments"
    __table_args__ = (
        one_of("item_kind", ITEM_KINDS),
        one_of("work_kind", WORK_KINDS),
        one_of("rule", ASSIGNMENT_RULES),
        CheckConstraint("(team_id IS NULL) = (shift_start IS NULL)", name="team_shift"),
        Index("ix_assignments_team_id_shift_start_priority", "team_id", "shift_start", "priority"),
        Index("ix_assignments_priority", "priority"),
        Index("ix_assignments_authority_code", "authority_code"),
        Index("ix_assignments_run_id", "run_id"),
    )

    item_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    work_kind: Mapped[str] = mapped_column(String(20))
    authority_code: Mapped[str | None] = mapped_column(String(9))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    shift_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    shift_end: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    shift_index: Mapped[int | None] = mapped_column(SmallInteger)
    rule: Mapped[str] = mapped_column(String(30))
    priority: Mapped[str] = mapped_column(String(160, collation="C"))
    """The sort key of :func:`geo.assignment.priority_key`; an item's rank is its position."""
    inputs: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    """The work item as it was placed (incremental runs place displaced items again from it)."""
    urgent: Mapped[bool] = mapped_column(Boolean)
    swep: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    serve_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    within_sla: Mapped[bool | None] = mapped_column(Boolean)
    reasons: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    computed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("assignment_runs.id", ondelete="CASCADE"))


class AssignmentSkip(Base):
    """A full shift an assignment skipped (its ``reasons.full_slots``): when a place on that
    shift frees up, the first skipping item in priority order may take it."""

    __tablename__ = "assignment_skips"
    __table_args__ = (
        ForeignKeyConstraint(
            ["item_kind", "item_id"],
            ["assignments.item_kind", "assignments.item_id"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_assignment_skips_team_id_shift_start_priority", "team_id", "shift_start", "priority"
        ),
    )

    item_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shift_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    priority: Mapped[str] = mapped_column(String(160, collation="C"))


class AssignmentOverride(Base):
    """A coordinator pinned an item to a team (optionally a day's shift); it holds across
    recomputes until released. Released overrides stay as history."""

    __tablename__ = "assignment_overrides"
    __table_args__ = (
        one_of("item_kind", ITEM_KINDS),
        CheckConstraint("(released_at IS NULL) = (released_by_name IS NULL)", name="released"),
        Index(
            "uq_assignment_overrides_active",
            "item_kind",
            "item_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[str] = mapped_column(String(40))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    shift_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    released_by_name: Mapped[str | None] = mapped_column(String(100))


class PushSubscription(Base):
    """A browser's Web Push subscription, registered by a signed-in member of staff."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    device_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class OutboxMessage(Base):
    """One message to one recipient, written in the transaction of the change that causes
    it; ``(message_key, recipient_key)`` is unique: a message is queued once per recipient."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("message_key", "recipient_key"),
        one_of("channel", MESSAGE_CHANNELS),
        one_of("state", MESSAGE_STATES),
        one_of("template", MESSAGE_TEMPLATES),
        Index(
            "ix_outbox_messages_due", "next_attempt_at", postgresql_where=text("state = 'queued'")
        ),
        Index("ix_outbox_messages_state_created_at", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(200))
    recipient_key: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), server_default=text("'queued'"))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL")
    )
    address: Mapped[str | None] = mapped_column(String(254))
    params: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class GazetteerPostcode(Base):
    """A postcode's centroid, from the ONS Postcode Directory or OS Code-Point Open."""

    __tablename__ = "gazetteer_postcodes"
    __table_args__ = (
        Index(
            "ix_gazetteer_postcodes_postcode_key_prefix",
            "postcode_key",
            postgresql_ops={"postcode_key": "text_pattern_ops"},
        ),
        Index(
            "ix_gazetteer_postcodes_postcode_prefix",
            "postcode",
            postgresql_ops={"postcode": "text_pattern_ops"},
        ),
    )

    postcode_key: Mapped[str] = mapped_column(Text, primary_key=True)
    """Upper case without spaces (``CM11AA``): what prefix searches compare."""
    postcode: Mapped[str] = mapped_column(Text)
    """As written (``CM1 1AA``)."""
    authority_code: Mapped[str | None] = mapped_column(String(9))
    geom = mapped_column(geometry("POINT", 4326), nullable=False)
    accuracy_m: Mapped[float] = mapped_column(REAL)
    source: Mapped[str] = mapped_column(String(20))
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class GazetteerName(Base):
    """A named place, street or feature from OS Open Names."""

    __tablename__ = "gazetteer_names"
    __table_args__ = (
        one_of("kind", GAZETTEER_KINDS),
        Index("ix_gazetteer_names_name_key", "name_key"),
        Index(
            "ix_gazetteer_names_search_key_prefix",
            "search_key",
            postgresql_ops={"search_key": "text_pattern_ops"},
        ),
        Index(
            "ix_gazetteer_names_name_key_trgm",
            "name_key",
            postgresql_using="gist",
            postgresql_ops={"name_key": "gist_trgm_ops"},
        ),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    """The OS Open Names ``ID``: a re-import updates the same row."""
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    """Lower case, punctuation folded to spaces, abbreviations spelled out: what a place name
    written in a referral's description is matched with."""
    search_key: Mapped[str] = mapped_column(Text)
    """The name's key and its town's (``high street chelmsford``): what searches compare."""
    kind: Mapped[str] = mapped_column(String(20))
    weight: Mapped[int] = mapped_column(SmallInteger)
    """Rank among equally good matches: cities and towns first, then villages, streets…"""
    local_type: Mapped[str] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(Text)
    postcode_district: Mapped[str | None] = mapped_column(Text)
    authority_code: Mapped[str | None] = mapped_column(String(9))
    geom = mapped_column(geometry("POINT", 4326), nullable=False)
    accuracy_m: Mapped[float] = mapped_column(REAL)
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
