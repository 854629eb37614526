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

step "lint (ruff)"
.venv/bin/ruff check . || status=1

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

step "tests on SQLite"
env -u DATABASE_URL $PY -m pytest -n 2 --dist loadfile "$@" || status=1

step "tests on PostgreSQL ($PG_URL)"
if pg_reachable; then
  DATABASE_URL="$PG_URL" $PY -m pytest -n 2 --dist loadfile "$@" || status=1
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is unreachable at $PG_URL and CI=true: failing."
  status=1
else
  echo "PostgreSQL is unreachable at $PG_URL: the tests ran on SQLite only."
fi

if [ $status -eq 0 ]; then echo; echo "All checks passed on every database."; fi
exit $status
