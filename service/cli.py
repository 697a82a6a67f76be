"""The ``outreach`` command: serve, seed, import boundaries and referrals, export figures and
rows, write the OpenAPI document."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.settings import Settings
from service.vocabularies import ROLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outreach", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API and pages")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    sub.add_parser("seed", help="seed the Greater Essex areas and default teams (idempotent)")

    areas = sub.add_parser("areas", help="authority boundaries")
    areas_sub = areas.add_subparsers(dest="areas_command", required=True)
    imp = areas_sub.add_parser("import", help="load official boundaries as a new version")
    imp.add_argument("file", type=Path, help="a GeoJSON FeatureCollection (e.g. ONS LAD)")
    imp.add_argument("--code-field", required=True, help="property holding the ONS code")
    imp.add_argument("--name-field", required=True, help="property holding the name")
    imp.add_argument("--srid", type=int, help="EPSG code of the coordinates (default: the file's)")
    imp.add_argument("--label", help="a label for this boundary version (default: file name)")
    imp.add_argument(
        "--attribution",
        help="the licence statement shown with these boundaries (default: the ONS OGL v3 one)",
    )
    imp.add_argument(
        "--all", action="store_true", help="keep every feature, not only Greater Essex codes"
    )

    _gazetteer_parser(sub)

    referrals = sub.add_parser("referrals", help="referrals")
    referrals_sub = referrals.add_subparsers(dest="referrals_command", required=True)
    ref_imp = referrals_sub.add_parser(
        "import", help="import a StreetLink CSV export (re-importing a file is safe)"
    )
    ref_imp.add_argument("file", type=Path, help="a CSV file (at most 50 MB)")

    users = sub.add_parser("users", help="staff users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a member of staff")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--team", action="append", default=[], help="team name (repeatable)")
    add.add_argument(
        "--authority", action="append", default=[], help="ONS code a coordinator oversees"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    retention = sub.add_parser("retention", help="delete personal data past its retention")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    retention_run = retention_sub.add_parser(
        "run", help="apply the retention schedule once and report counts per row"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="count what would change; change nothing"
    )
    schedule = retention_sub.add_parser(
        "schedule", help="print the retention schedule (default periods; no database needed)"
    )
    schedule.add_argument("--markdown", action="store_true", help="as Markdown tables")
    schedule.add_argument(
        "--update",
        type=Path,
        metavar="FILE",
        help="rewrite the Markdown section between the retention-schedule markers of FILE",
    )

    hotspots = sub.add_parser("hotspots", help="hotspot clustering")
    hotspots_sub = hotspots.add_subparsers(dest="hotspots_command", required=True)
    hotspots_sub.add_parser(
        "recompute", help="re-cluster every layer now (waits for one running elsewhere)"
    )

    assignments = sub.add_parser("assignments", help="which team visits each open item")
    assignments_sub = assignments.add_subparsers(dest="assignments_command", required=True)
    assignments_sub.add_parser("run", help="recompute every assignment now and report counts")
    _export_parser(sub)

    push = sub.add_parser("push", help="Web Push alerts to staff devices")
    push_sub = push.add_subparsers(dest="push_command", required=True)
    push_sub.add_parser("keys", help="make a VAPID key pair (prints the settings to set)")

    outbox = sub.add_parser("outbox", help="the message outbox")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_sub.add_parser("send", help="deliver every due message now, then exit")

    openapi = sub.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", type=Path, default=None)
    return parser


def _gazetteer_parser(sub: Any) -> None:
    gazetteer = sub.add_parser("gazetteer", help="postcodes and place names (search, intake)")
    gaz_sub = gazetteer.add_subparsers(dest="gazetteer_command", required=True)
    gaz_imp = gaz_sub.add_parser(
        "import",
        help="load ONSPD / Code-Point Open / OS Open Names CSV files as published (re-import safe)",
    )
    gaz_imp.add_argument("files", type=Path, nargs="+", help="CSV files (layout recognised)")
    gaz_imp.add_argument(
        "--all", action="store_true", help="keep every row, not only Greater Essex"
    )
    fixture = gaz_sub.add_parser(
        "fixture", help="write a small synthetic gazetteer in the official layouts"
    )
    fixture.add_argument("directory", type=Path)
    fixture.add_argument("--postcodes", type=int, default=300)
    fixture.add_argument("--names", type=int, default=200)
    fixture.add_argument("--seed", type=int, default=15)


def _export_parser(sub: Any) -> None:
    export = sub.add_parser(
        "export", help="export referrals or contacts (CSV) or the snapshot return (audited)"
    )
    export.add_argument("kind", choices=["referrals", "contacts", "snapshot"])
    export.add_argument("--output", type=Path, required=True, help="the file to write")
    export.add_argument("--from", dest="from_date", type=_day, help="first day (YYYY-MM-DD)")
    export.add_argument("--to", dest="to_date", type=_day, help="last day, included")
    export.add_argument("--authority", help="only this authority (ONS code)")
    export.add_argument("--team", type=int, help="only this team (id)")
    export.add_argument(
        "--format", choices=["csv", "json"], default="csv", help="snapshot only (default csv)"
    )
    export.add_argument(
        "--nationality", action="store_true", help="snapshot only: add the nationality bands"
    )


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "serve": _serve,
        "seed": _seed,
        "areas": _areas,
        "gazetteer": _gazetteer,
        "referrals": _referrals,
        "users": _users,
        "retention": _retention,
        "hotspots": _hotspots,
        "assignments": _assignments,
        "export": _export,
        "push": _push,
        "outbox": _outbox,
        "openapi": _openapi,
    }[args.command]
    try:
        return handler(args)
    except Exception as exc:
        known = _known_error(exc)
        if known is None:
            raise  # a bug: the traceback is what is needed
        message, code = known
        print(f"error: {message}", file=sys.stderr)
        return code


def _known_error(exc: Exception) -> tuple[str, int] | None:
    """A one-line message and exit code for an error of the environment or of the input
    (2: the configuration or the request; 1: the database or the system), else ``None``."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from service.exceptions import ServiceError
    from service.settings import SettingsError

    if isinstance(exc, SettingsError | ServiceError):
        return _first_line(exc), 2
    if isinstance(exc, DBAPIError):  # the driver's own message, without SQL or parameters
        return f"database: {_first_line(exc.orig or exc)}", 1
    if isinstance(exc, SQLAlchemyError):
        return f"database: {_first_line(exc)}", 1
    if isinstance(exc, OSError):  # e.g. the database server refused the connection
        return f"{_first_line(exc)} ({type(exc).__name__})", 1
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    # SQLAlchemy's wrapped driver errors start with "(module.Class) ".
    return text.split(") ", 1)[1] if text.startswith("(") and ") " in text else text


def _serve(args: argparse.Namespace) -> int:
    import os
    import signal
    import tempfile

    import uvicorn

    from service.logs import configure_logging

    settings = Settings.from_env()  # fail early, with a clear message, on a bad environment
    configure_logging(settings.log_level, json=settings.log_json)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here and /metrics adds them up (before any import of
        # prometheus_client in the workers, which inherit the environment).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="outreach-metrics-")
    # uvicorn finishes the requests in flight on SIGTERM, then raises the signal again: by then
    # the stop was graceful, so the process exits 0 (as process managers expect).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "service.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,
        timeout_graceful_shutdown=20,
        log_config=None,  # service.logs: JSON lines, one access line a request
        access_log=False,
    )
    return 0


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _push(_: argparse.Namespace) -> int:
    from service.usecases.messages.transports import new_vapid_keys

    private, public = new_vapid_keys()
    print("# Web Push (VAPID) keys: keep the private key secret, the same in every process")
    print(f"OUTREACH_VAPID_PRIVATE_KEY={private}")
    print(f"# public key (GET /v1/push/key serves it): {public}")
    return 0


def _outbox(_: argparse.Namespace) -> int:
    from service.usecases.operations.cli_jobs import send_outbox

    sent = asyncio.run(send_outbox(Settings.from_env()))
    print(f"outbox: {sent} messages handled")
    return 0


def _seed(_: argparse.Namespace) -> int:
    from service.usecases.operations.cli_jobs import seed

    report = asyncio.run(seed(Settings.from_env()))
    version = report.boundary_version
    boundaries = f"created version {version}" if version else "kept (already loaded)"
    teams = ", ".join(report.teams_added) or "none (already there)"
    print(f"seed: boundaries {boundaries}; teams added: {teams}")
    return 0


def _areas(args: argparse.Namespace) -> int:
    from geo.errors import GeoError
    from service.exceptions import ServiceError
    from service.usecases.operations.cli_jobs import import_areas

    try:
        collection = json.loads(args.file.read_text(encoding="utf-8"))
        version, codes = asyncio.run(
            import_areas(
                Settings.from_env(),
                collection,
                code_field=args.code_field,
                name_field=args.name_field,
                srid=args.srid,
                label=args.label or args.file.name,
                source=str(args.file),
                attribution=args.attribution,
                keep_all=args.all,
            )
        )
    except (OSError, ValueError, GeoError, ServiceError) as exc:
        print(f"outreach areas import: {exc}", file=sys.stderr)
        return 2
    print(f"imported boundary version {version}: {len(codes)} authorities ({', '.join(codes)})")
    return 0


def _gazetteer(args: argparse.Namespace) -> int:
    if args.gazetteer_command == "fixture":
        from service.usecases.places.synthetic import write_fixture

        made = write_fixture(
            args.directory, postcodes=args.postcodes, names=args.names, seed=args.seed
        )
        print(f"wrote {made.onspd} ({made.postcodes} postcodes), {made.open_names} ({made.names})")
        return 0
    from service.usecases.operations.cli_jobs import import_gazetteer
    from service.usecases.referrals.csv_import import ProgressLine

    def progress(path: Path) -> Any:
        line = ProgressLine(max(path.stat().st_size, 1))
        print(f"{path}:", file=sys.stderr)
        return lambda done, _total: line(done)

    try:
        report = asyncio.run(
            import_gazetteer(Settings.from_env(), args.files, keep_all=args.all, progress=progress)
        )
    except (OSError, ValueError, UnicodeError) as exc:
        print(f"outreach gazetteer import: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _referrals(args: argparse.Namespace) -> int:

    from sqlalchemy.exc import SQLAlchemyError

    from service.usecases.referrals import csv_import as ri
    from streetlink.errors import ImportFormatError

    settings = Settings.from_env()
    try:
        result = ri.read_csv(args.file, now=dt.datetime.now(dt.UTC))
    except (OSError, ImportFormatError) as exc:
        print(f"outreach referrals import: {exc}", file=sys.stderr)
        return 2
    report = ri.ImportReport(file=str(args.file))
    progress = ri.ProgressLine(len(result.rows)) if result.rows else None
    try:
        asyncio.run(ri.import_rows(settings, result, report, progress=progress))
    except (OSError, SQLAlchemyError) as exc:
        print(ri.summary(report))
        print(
            f"outreach referrals import: stopped, database error ({type(exc).__name__}); "
            "run it again to import the rest (imported rows are skipped)",
            file=sys.stderr,
        )
        return 1
    print(ri.summary(report))
    return 0


def _users(args: argparse.Namespace) -> int:
    import getpass
    import secrets

    from service.exceptions import ServiceError
    from service.usecases.operations.cli_jobs import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        generated = False
    else:
        password, generated = secrets.token_urlsafe(12), True
    if len(password) < 10:
        print("outreach users add: the password needs 10 characters or more", file=sys.stderr)
        return 2
    try:
        user_id = asyncio.run(
            add_user(
                Settings.from_env(),
                username=args.username,
                display_name=args.name or args.username,
                password=password,
                role=args.role,
                teams=args.team,
                authorities=args.authority,
            )
        )
    except ServiceError as exc:
        print(f"outreach users add: {exc}", file=sys.stderr)
        return 2
    print(f"added user {args.username} (id {user_id}, {args.role})")
    if generated:
        print(f"password: {password}  (shown once; {getpass.getuser()} should pass it on safely)")
    return 0


def _retention(args: argparse.Namespace) -> int:
    if args.retention_command == "schedule":
        return _retention_schedule(args)
    from service.retention_schedule import RULES
    from service.usecases.operations.cli_jobs import retention

    report = asyncio.run(retention(Settings.from_env(), dry_run=args.dry_run))
    if not report.ran:
        print("retention: another process is running it now; nothing done")
        return 0
    verb = "would change (dry run: nothing changed)" if report.dry_run else "changed"
    print(f"retention: rows {verb}, per schedule row:")
    for name, count in report.counts.items():
        rule = RULES[name]
        print(f"  {name:<26} {rule.action:<8} {count:>7}  {rule.table}")
    return 0


def _retention_schedule(args: argparse.Namespace) -> int:
    from service import retention_schedule as schedule

    if args.update is not None:
        text = args.update.read_text(encoding="utf-8")
        try:
            updated = schedule.replace_section(text, schedule.markdown())
        except ValueError as exc:
            print(f"outreach retention schedule: {args.update}: {exc}", file=sys.stderr)
            return 2
        args.update.write_text(updated, encoding="utf-8")
        print(f"updated the retention schedule in {args.update}")
    elif args.markdown:
        print(schedule.markdown(), end="")
    else:
        for rule in schedule.SCHEDULE:
            print(
                f"{rule.name}: {rule.action} {rule.table} ({', '.join(rule.columns)}): "
                f"{rule.what}; after {schedule.period_text(rule.default_days())} from "
                f"{rule.measured_from} [{schedule.setting_text(rule).strip('`')}]"
            )
    return 0


def _hotspots(_: argparse.Namespace) -> int:
    from service.usecases.operations.cli_jobs import recompute_hotspots

    report = asyncio.run(recompute_hotspots(Settings.from_env()))
    for layer, run in report.layers.items():
        print(
            f"{layer}: {run.points} points, {run.hotspots} hotspots "
            f"({run.born} new, {run.retired} retired, {run.splits} splits, {run.merges} merges)"
        )
    print(f"hotspots: recomputed in {report.duration_ms:.0f} ms (run {report.run_id})")
    return 0


def _assignments(_: argparse.Namespace) -> int:
    from service.usecases.operations.cli_jobs import assign_now

    run = asyncio.run(assign_now(Settings.from_env()))
    print(
        f"assignments: run {run.id}: {run.items} open items, {run.assigned} assigned "
        f"({run.overflowed} overflowed, {run.pinned} pinned), {run.unassigned} unassigned; "
        f"{run.duration_ms:.0f} ms"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from service.exceptions import ServiceError
    from service.usecases.figures.exports import ExportFilter
    from service.usecases.operations.cli_jobs import export
    from service.usecases.referrals.csv_import import ProgressLine

    lines: list[ProgressLine] = []

    def progress(done: int, total: int) -> None:
        if total:
            if not lines:
                lines.append(ProgressLine(total))
            lines[0](done)

    filters = ExportFilter(args.from_date, args.to_date, args.authority, args.team)
    try:
        rows = asyncio.run(
            export(
                Settings.from_env(),
                args.kind,
                args.output,
                filters,
                snapshot_format=args.format,
                nationality=args.nationality,
                progress=progress,
            )
        )
    except (OSError, ServiceError, SQLAlchemyError) as exc:
        print(f"outreach export {args.kind}: {exc}", file=sys.stderr)
        return 2
    unit = "authorities" if args.kind == "snapshot" else "rows"
    print(f"exported {rows} {unit} to {args.output}")
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from service.openapi_doc import openapi_json

    text = openapi_json()
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
