#!/usr/bin/env bash
# The whole test suite: checks, then every test on SQLite and on PostgreSQL.
# PostgreSQL is found through PATRON_TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432).
# Where it is unreachable the suite says so and runs on SQLite alone, except under CI=true,
# where an unreachable PostgreSQL is a failure.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL="${PATRON_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/patron}"
export PATRON_ALLOW_INSECURE_KEY=1
status=0

step() { printf '\n== %s\n' "$*"; }

step "lint (ruff, mypy)"
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check . || status=1
.venv/bin/mypy patron || status=1

step "Django checks and migrations"
DJANGO_SETTINGS_MODULE=patron.settings_test $PY manage.py check --fail-level WARNING || status=1
DJANGO_SETTINGS_MODULE=patron.settings_test $PY manage.py makemigrations --check --dry-run \
  || { echo "A model change has no migration."; status=1; }

pg_reachable() {
  $PY - "$PG_URL" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
url = sys.argv[1].rsplit("/", 1)[0] + "/postgres"
psycopg.connect(url, connect_timeout=5).close()
PYEOF
}

# The schemathesis run generates its tests at collection time, which pytest-xdist does not
# distribute reliably (they silently went missing), so it runs in a serial pass of its own.
FUZZ=patron/core/tests/test_api_schema.py
run_suite() {
  $PY -m pytest -n 2 --dist loadfile --ignore="$FUZZ" "$@" || return 1
  $PY -m pytest -p no:xdist "$FUZZ" || return 1
}

step "tests on SQLite"
( unset DATABASE_URL; run_suite "$@" ) || status=1

step "tests on PostgreSQL ($PG_URL)"
if pg_reachable; then
  pg_ran=yes
  ( export DATABASE_URL="$PG_URL"; run_suite "$@" ) || status=1
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is unreachable at $PG_URL and CI=true: failing."
  status=1
else
  echo "PostgreSQL is unreachable at $PG_URL: the tests ran on SQLite only."
fi

if [ $status -eq 0 ]; then
  echo
  if [ "${pg_ran:-no}" = "yes" ]; then echo "All checks passed on SQLite and PostgreSQL."
  else echo "All checks passed on SQLite (PostgreSQL was not reachable)."; fi
fi
exit $status
