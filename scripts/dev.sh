#!/usr/bin/env bash
# Development and CI plumbing behind the Makefile: the virtualenv, the front-end assets,
# the project-local PostGIS cluster under .data/pg, migrations, seed, serve and test.
# Every step is idempotent, so `make run` and `make test` can be run again at any time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.data"
PGDATA="$DATA/pg"
VENV="$ROOT/.venv"
DB_USER=outreach            # the app's role: owns its database, no superuser, may create databases
DB_SUPERUSER=outreach_admin  # the cluster's bootstrap superuser: creates roles and extensions only
DB_NAME=outreach
FIRST_PORT=54329
PG_FALLBACK=/var/lib/essex-outreach  # cluster files of checkouts `postgres` cannot enter

# Bytecode caches are written (in .venv and the checkout's __pycache__, both ignored by git)
# even where the environment asks not to: a test run starts many Python processes (the test
# workers, the servers of the multi-process tests, the CLI), and each would otherwise compile
# every module it imports and, in pytest's case, rewrite the asserts of every test module.
# So pip need not compile all it installs either (a third of its time): what is imported is
# compiled once, by the first process that imports it.
unset PYTHONDONTWRITEBYTECODE

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
    # Install Debian/Ubuntu packages when root; otherwise print the exact command and stop.
    if is_root && command -v apt-get >/dev/null; then
        say "installing $* with apt"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    else
        die "missing system packages. Install them with:  sudo apt-get install -y $*"
    fi
}

# ---------------------------------------------------------------- python
python_bin() {
    for py in python3.13 python3.12 python3.11 python3; do
        # (stderr hidden: a pyenv shim for a version not selected only says it is not there)
        if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$py"; return
        fi
    done
    die "Python 3.11 or newer is needed (Debian 12: sudo apt-get install -y python3 python3-venv)"
}

cmd_venv() {
    local stamp="$VENV/.installed"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/pyproject.toml" ]; then return; fi
    local py; py=$(python_bin)
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the virtualenv in .venv"
        if ! "$py" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv
            "$py" -m venv "$VENV"
        fi
    fi
    say "installing the project and its development tools"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q --no-compile -e "$ROOT[dev]"
    touch "$stamp"
}

# ---------------------------------------------------------------- front-end assets
cmd_assets() {
    # npm packages (pinned by package-lock.json), the vendored libraries, then our own
    # TypeScript bundled by esbuild; each step only when its inputs changed.
    local vendor="$ROOT/service/web/static/vendor" build="$ROOT/service/web/static/build" stamp
    stamp="$vendor/.installed"
    if ! [ -f "$stamp" ] || ! [ "$stamp" -nt "$ROOT/package-lock.json" ]; then
        cmd_npm
        mkdir -p "$vendor/swagger-ui" "$vendor/maplibre-gl"
        cp "$ROOT/node_modules/swagger-ui-dist/swagger-ui-bundle.js" \
           "$ROOT/node_modules/swagger-ui-dist/swagger-ui.css" "$vendor/swagger-ui/"
        cp "$ROOT/node_modules/maplibre-gl/dist/maplibre-gl.js" \
           "$ROOT/node_modules/maplibre-gl/dist/maplibre-gl.css" "$vendor/maplibre-gl/"
        touch "$stamp"
    fi
    if [ -f "$build/.built" ] && [ -z "$(find "$ROOT/service/web/src" "$ROOT/scripts/build-web.mjs" \
            "$stamp" -newer "$build/.built" 2>/dev/null | head -1)" ]; then return; fi
    say "building the browser code (TypeScript, esbuild)"
    mkdir -p "$build"
    (cd "$ROOT" && node scripts/build-web.mjs)
    touch "$build/.built"
}

cmd_npm() {
    # The npm packages, exactly as locked; install scripts are not run (none is needed). The
    # lock file's checksum, not its age, says whether they are current: a fresh checkout's
    # files are all new, and `npm ci` empties node_modules first (through a symlink too).
    local stamp="$ROOT/node_modules/.installed-lock" sum
    sum=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
    [ -d "$ROOT/node_modules/.bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return
    command -v npm >/dev/null || apt_install nodejs npm
    say "installing front-end packages from npm (served locally, no CDN)"
    (cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$sum" >"$stamp"
}

# ---------------------------------------------------------------- PostgreSQL + PostGIS
pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
}

pg_wanted_version() {
    local bindir; bindir=$(pg_bindir)
    if [ -n "$bindir" ]; then basename "$(dirname "$bindir")"; return; fi
    if command -v apt-cache >/dev/null; then
        is_root && apt-get update -qq
        apt-cache policy postgresql 2>/dev/null | awk '/Candidate:/ {split($2, v, "+"); print v[1]}'
    fi
}

ensure_postgis() {
    local bindir version
    bindir=$(pg_bindir)
    version=$(pg_wanted_version)
    [ -n "$version" ] || version=15
    if [ -z "$bindir" ] || [ ! -f "/usr/share/postgresql/$version/extension/postgis.control" ]; then
        apt_install "postgresql-$version" "postgresql-$version-postgis-3"
    fi
}

as_pg() {
    # PostgreSQL refuses to run as root: run the cluster as the `postgres` system user.
    # From /: postgres may not be allowed into the current directory.
    if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
    if [ -f "$DATA/port" ]; then cat "$DATA/port"; return; fi
    local p=$FIRST_PORT
    while ! port_free "$p"; do p=$((p + 1)); done
    echo "$p" >"$DATA/port"
    echo "$p"
}

resolve_pgdata() {
    # .data/pg is the cluster's directory, or (see prepare_datadir) a link to it: the tools
    # are given the real directory, since `postgres` may not be able to pass through the link.
    if [ -L "$DATA/pg" ]; then PGDATA=$(readlink -m "$DATA/pg"); else PGDATA="$DATA/pg"; fi
}

prepare_datadir() {
    mkdir -p "$DATA"
    if is_root; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' system user: is the postgresql package installed?"
        if [ -L "$DATA/pg" ] || ! runuser -u postgres -- test -x "$DATA"; then
            # postgres cannot reach this checkout (e.g. under /root or in a `mktemp -d`
            # folder): keep the cluster files in a directory it owns, linked from .data/pg.
            local real
            real="$PG_FALLBACK/$(echo "$ROOT" | sha1sum | cut -c1-12)/pg"
            mkdir -p "$real" && chown postgres: "$(dirname "$real")" "$real"
            [ -L "$DATA/pg" ] || ln -s "$real" "$DATA/pg"
        fi
        resolve_pgdata
        mkdir -p "$PGDATA" && chown postgres: "$PGDATA"
    fi
    resolve_pgdata
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA" 2>/dev/null || true
}

cmd_db_start() {
    if [ -n "${DATABASE_URL:-}" ]; then
        say "using DATABASE_URL, not starting a local cluster"
        return
    fi
    ensure_postgis
    local bindir port
    bindir=$(pg_bindir)
    prepare_datadir
    port=$(pick_port)
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        say "initialising a PostgreSQL cluster in $PGDATA (passwords in .data/, mode 600)"
        local pwfile
        pwfile=$(mktemp)
        secret "$DATA/admin_password" >"$pwfile"
        is_root && chown postgres: "$pwfile"
        as_pg "$bindir/initdb" -D "$PGDATA" -U "$DB_SUPERUSER" --auth=scram-sha-256 \
            --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 --no-instructions >/dev/null
        rm -f "$pwfile"
        cat >>"$PGDATA/postgresql.conf" <<CONF
# essex-outreach development cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
# PostGIS (with GEOS and PROJ) loaded once by the postmaster, not by every new backend on its
# first spatial call: twice in about a dozen fresh-clone test runs a new backend aborted there
# (glibc "malloc assertion failure in sysmalloc", on the app's first ST_AsBinary of the
# authorities), taking the whole cluster into recovery.
shared_preload_libraries = 'postgis-3'
CONF
    fi
    if ! as_pg "$bindir/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        if ! port_free "$port"; then
            # Our cluster is down and something else (another checkout's cluster, say) took
            # its port since: move to a free one; the URL is rewritten below.
            rm -f "$DATA/port"
            local taken=$port
            port=$(pick_port)
            say "port $taken is taken by another program: moving this cluster to $port"
        fi
        say "starting PostgreSQL on 127.0.0.1:$port"
        as_pg "$bindir/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
            -o "-p $port" start >/dev/null || { tail -20 "$PGDATA/server.log" >&2; die "PostgreSQL did not start"; }
    fi
    ensure_roles "$bindir" "$port"
}

secret() {
    # A generated password kept in FILE (made once, readable by its owner only).
    local file=$1
    if [ ! -s "$file" ]; then
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
    fi
    cat "$file"
}

admin_sql() {
    # psql as the local cluster's superuser: admin_sql BINDIR PORT [psql arguments]
    local bindir=$1 port=$2
    shift 2
    PGPASSWORD=$(cat "$DATA/admin_password") "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -tA \
        -h 127.0.0.1 -p "$port" -U "$DB_SUPERUSER" "$@"
}

ensure_roles() {
    # The app connects as $DB_USER with a password (scram-sha-256): it owns its database and
    # may create databases (the tests clone theirs), but is no superuser, so it cannot run
    # COPY ... TO PROGRAM or read the server's files. PostGIS is created once in template1 by
    # the superuser, so every database made later (the tests' too) has it.
    local bindir=$1 port=$2
    if [ ! -s "$DATA/admin_password" ]; then
        say "this cluster predates passwords (trust, the app as superuser): keeping it as it is;"
        say "run 'scripts/dev.sh db-remove' (deletes its data) and start again to get one with passwords"
        echo "postgresql://$DB_USER@127.0.0.1:$port/$DB_NAME" >"$DATA/database_url"
        return
    fi
    local app_pw
    app_pw=$(secret "$DATA/app_password")
    admin_sql "$bindir" "$port" -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'" | grep -q 1 \
        || admin_sql "$bindir" "$port" -d postgres -c "CREATE ROLE $DB_USER LOGIN CREATEDB NOSUPERUSER"
    admin_sql "$bindir" "$port" -d postgres -c "ALTER ROLE $DB_USER LOGIN CREATEDB NOSUPERUSER PASSWORD '$app_pw'"
    admin_sql "$bindir" "$port" -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis"
    admin_sql "$bindir" "$port" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1 \
        || admin_sql "$bindir" "$port" -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
    (umask 077 && echo "postgresql://$DB_USER:$app_pw@127.0.0.1:$port/$DB_NAME" >"$DATA/database_url")
}

cmd_db_stop() {
    local bindir; bindir=$(pg_bindir)
    resolve_pgdata
    if [ -n "$bindir" ] && [ -f "$PGDATA/PG_VERSION" ]; then
        if as_pg "$bindir/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
            as_pg "$bindir/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
            say "local PostgreSQL stopped"
        fi
    fi
}

cmd_db_remove() {
    # Stop the cluster and delete its files (also those kept outside the checkout).
    cmd_db_stop
    resolve_pgdata
    case "$PGDATA" in
        "$PG_FALLBACK"/*/pg) rm -rf "$(dirname "$PGDATA")"
            rmdir --ignore-fail-on-non-empty "$PG_FALLBACK" ;;
        *) [ -L "$DATA/pg" ] && say "kept $PGDATA (linked from .data/pg by hand)" ;;
    esac
    rm -rf "$DATA/pg" "$DATA/port" "$DATA/database_url" "$DATA/admin_password" "$DATA/app_password"
}

db_env() {
    if [ -z "${DATABASE_URL:-}" ]; then
        [ -f "$DATA/database_url" ] || die "no database: run 'make db' first or set DATABASE_URL"
        DATABASE_URL=$(cat "$DATA/database_url")
        # The local cluster listens on loopback only, without TLS: skip asking for it.
        export PGSSLMODE=${PGSSLMODE:-disable}
    fi
    export DATABASE_URL
}

cmd_setup() {
    cmd_venv
    cmd_assets
    cmd_db_start
    db_env
}

cmd_migrate() {
    db_env
    say "migrating"
    (cd "$ROOT" && "$VENV/bin/alembic" upgrade head)
    say "seeding Greater Essex areas and teams"
    "$VENV/bin/outreach" seed
}

cmd_run() {
    cmd_setup
    local_cluster_fsync on
    cmd_migrate
    say "serving on http://127.0.0.1:${OUTREACH_PORT:-8000}"
    exec "$VENV/bin/outreach" serve --host 127.0.0.1 --port "${OUTREACH_PORT:-8000}"
}

ensure_chromium() {
    # The browser tests drive Debian's Chromium (no browser download at test time).
    if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then return; fi
    if is_root; then apt_install chromium; else
        say "Chromium is missing: browser tests will be skipped (sudo apt-get install -y chromium)"
    fi
}

cmd_lint() {
    # Static checks only: no database, no assets (the npm packages hold tsc and biome).
    cmd_venv
    cd "$ROOT"
    say "ruff"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    say "mypy"
    "$VENV/bin/mypy" geo streetlink service
    say "import-linter"
    "$VENV/bin/lint-imports"
    cmd_npm
    say "tsc (browser code type check)"
    node_modules/.bin/tsc -p tsconfig.json
    say "biome (browser code lint and format)"
    node_modules/.bin/biome check --error-on-warnings
}

cmd_unit() {
    # Pure tests and doctests: no database (DATABASE_URL is hidden so nothing can use it).
    cmd_venv
    cd "$ROOT"
    say "unit tests and doctests (no database)"
    # shellcheck disable=SC2046 # the worker options are separate words
    env -u DATABASE_URL -u OUTREACH_DATABASE_URL \
        "$VENV/bin/pytest" -q $(pytest_workers) tests/unit geo streetlink service "$@"
}

pytest_workers() {
    # pytest-xdist processes: one a CPU, at most 4 (each has its own template database and
    # connection pools); PYTEST_WORKERS=1 runs in this process.
    local n=${PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}
    [ "$n" -gt 4 ] && n=4
    if [ "$n" -gt 1 ]; then echo "-n $n --dist loadgroup"; fi
}

duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

local_cluster_fsync() {
    # fsync on or off in the project-local cluster: only when DATABASE_URL is its URL (after
    # cmd_setup it is, unless the caller named another server, which is left alone).
    # The test suite creates and drops about a thousand databases, and every DROP DATABASE
    # waits for a checkpoint: with fsync on, the checkpointer spent about 4.5 minutes of each
    # run in fsync, and the tests waited for it. Nothing a test writes has to survive a crash
    # of the machine, so `make test` turns fsync off while pytest runs and on again after it
    # (also when it fails or is interrupted); `make run` turns it on, in case a test run was
    # killed before it could.
    local setting=$1 bindir port
    [ -s "$DATA/admin_password" ] && [ -f "$DATA/port" ] || return 0
    [ "${DATABASE_URL:-}" = "$(cat "$DATA/database_url" 2>/dev/null)" ] || return 0
    bindir=$(pg_bindir)
    port=$(cat "$DATA/port")
    local change="ALTER SYSTEM RESET fsync"  # on, the default
    [ "$setting" = off ] && change="ALTER SYSTEM SET fsync = off"
    admin_sql "$bindir" "$port" -d postgres -c "$change" -c "SELECT pg_reload_conf()" >/dev/null
}

cmd_test() {
    local start=$SECONDS suite rc=0
    cmd_setup
    ensure_chromium
    cmd_lint
    say "pytest against PostGIS"
    suite=$SECONDS
    trap 'local_cluster_fsync on || say "could not turn fsync on again: make run will"' EXIT
    local_cluster_fsync off
    # shellcheck disable=SC2046 # the worker options are separate words
    "$VENV/bin/pytest" $(pytest_workers) "$@" || rc=$?
    say "make test: $(duration $((SECONDS - start))) (pytest $(duration $((SECONDS - suite))))"
    return "$rc"
}

case "${1:-}" in
    venv) cmd_venv ;;
    assets) cmd_assets ;;
    db-start) cmd_db_start ;;
    db-stop) cmd_db_stop ;;
    db-remove) cmd_db_remove ;;
    setup) cmd_setup ;;
    migrate) cmd_setup; cmd_migrate ;;
    run) cmd_run ;;
    lint) cmd_lint ;;
    unit) shift; cmd_unit "$@" ;;
    test) shift; cmd_test "$@" ;;
    env) cmd_setup; echo "DATABASE_URL=$DATABASE_URL" ;;
    *) die "usage: scripts/dev.sh venv|assets|db-start|db-stop|db-remove|setup|migrate|run|lint|unit|test|env" ;;
esac
