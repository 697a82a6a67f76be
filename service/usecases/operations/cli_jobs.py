"""Entry points for the CLI: each opens its own engine and closes it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access import StaffUser
from service.db.engine import constraint_name, create_engine, session_factory, transaction
from service.runtime import Runtime, build_runtime
from service.schemas.assignments import AssignmentRun
from service.schemas.hotspots import RecomputeOut
from service.settings import Settings
from service.usecases.areas.boundaries import (
    DEFAULT_ATTRIBUTION,
    GREATER_ESSEX_CODES,
    SeedReport,
    import_boundaries,
    seed_defaults,
)
from service.usecases.figures import exports
from service.usecases.hotspots import clustering as hotspots
from service.usecases.messages.sender import Sender
from service.usecases.operations.retention import RetentionReport, run_retention
from service.usecases.places import importer as places_import


@asynccontextmanager
async def one_transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with transaction(session_factory(engine)) as session:
            yield session
    finally:
        await engine.dispose()


async def seed(settings: Settings) -> SeedReport:
    async with one_transaction(settings) as session:
        return await seed_defaults(session)


async def import_areas(
    settings: Settings,
    collection: dict[str, Any],
    *,
    code_field: str,
    name_field: str,
    srid: int | None,
    label: str,
    source: str,
    keep_all: bool,
    attribution: str | None = None,
) -> tuple[int, list[str]]:
    async with one_transaction(settings) as session:
        version, areas = await import_boundaries(
            session,
            collection,
            code_field=code_field,
            name_field=name_field,
            srid=srid,
            label=label,
            source=source,
            attribution=attribution or DEFAULT_ATTRIBUTION,
            only_codes=None if keep_all else GREATER_ESSEX_CODES,
        )
    return version, [a.code for a in areas]


async def import_gazetteer(
    settings: Settings,
    paths: list[Path],
    *,
    keep_all: bool,
    progress: Callable[[Path], places_import.Progress | None] | None = None,
) -> places_import.ImportReport:
    """Load gazetteer files (ONSPD, Code-Point Open, OS Open Names), one transaction each."""
    async with cli_runtime(settings) as runtime:
        await runtime.areas.refresh(runtime.sessions)  # names are kept by the boundaries
        return await places_import.import_files(
            runtime, paths, keep_all=keep_all, progress=progress
        )


async def add_user(
    settings: Settings,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    teams: list[str],
    authorities: list[str],
) -> int:
    from service.auth import hash_password
    from service.db import users as users_repo
    from service.exceptions import ConflictError, InvalidInputError

    async with one_transaction(settings) as session:
        known = await users_repo.team_ids_by_name(session, teams)
        if missing := sorted(set(teams) - set(known)):
            raise InvalidInputError(f"no team named {', '.join(missing)}")
        try:
            async with session.begin_nested():
                return await users_repo.add(
                    session,
                    username=username,
                    display_name=display_name,
                    password_hash=hash_password(password),
                    role=role,
                    team_names=teams,
                    authority_codes=[code.upper() for code in authorities],
                )
        except IntegrityError as exc:
            if constraint_name(exc) == "uq_users_username":
                raise ConflictError(f"a user named {username!r} exists already") from None
            raise


@asynccontextmanager
async def cli_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The app's runtime for one command (no app): engine, sessions and an HTTP client,
    closed at the end."""
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.http.aclose()
        await runtime.engine.dispose()


async def retention(settings: Settings, *, dry_run: bool = False) -> RetentionReport:
    async with cli_runtime(settings) as runtime:
        return await run_retention(runtime, dry_run=dry_run)


async def send_outbox(settings: Settings) -> int:
    """Deliver every due message once (what the app's senders do continuously)."""
    async with cli_runtime(settings) as runtime:
        sender = Sender(runtime)
        try:
            return await sender.drain()
        finally:
            await sender.close()


async def recompute_hotspots(settings: Settings) -> RecomputeOut:
    async with cli_runtime(settings) as runtime:
        return await hotspots.recompute(runtime, trigger="command", wait=True)


async def assign_now(settings: Settings) -> AssignmentRun:
    """One assignment run (e.g. after a CSV import, or from cron when no app is serving)."""
    from service.usecases.assignments.runs import run

    async with cli_runtime(settings) as runtime:
        return await run(runtime, trigger="command")


async def export(
    settings: Settings,
    kind: str,
    output: Path,
    filters: exports.ExportFilter,
    *,
    snapshot_format: str = "csv",
    nationality: bool = False,
    progress: exports.Progress | None = None,
) -> int:
    """Write an export to ``output`` (atomically: a partial file is never left under that
    name) as the command-line user (see :func:`exports.cli_user`); the number of rows."""
    user = exports.cli_user()
    route = f"cli:export {kind}"
    partial = output.with_name(output.name + ".part")
    async with cli_runtime(settings) as runtime:
        if kind == "snapshot":
            report = await exports.snapshot(
                runtime, user, filters, route=route, with_nationality=nationality
            )
            data = (
                exports.snapshot_csv(report)
                if snapshot_format == "csv"
                else msgspec.json.format(msgspec.json.encode(report))
            )
            partial.write_bytes(data)
            rows = len(report.authorities)
        else:
            written = [0]

            def track(done: int, total: int) -> None:
                written[0] = done
                if progress is not None:
                    progress(done, total)

            make = exports.referrals_csv if kind == "referrals" else _contacts_csv
            job = await make(runtime, user, filters, route=route, progress=track)
            with partial.open("wb") as out:
                async for chunk in job.chunks:
                    out.write(chunk)
            rows = written[0]
    partial.replace(output)
    return rows


async def _contacts_csv(
    runtime: Runtime,
    user: StaffUser,
    filters: exports.ExportFilter,
    *,
    route: str,
    progress: exports.Progress | None,
) -> exports.CsvExport:
    return await exports.contacts_csv(
        runtime, user, filters, special_category=False, route=route, progress=progress
    )
