#!/usr/bin/env bash
# Start a PostgreSQL server on loopback for the shared-study tests, installing
# Debian's package when it is missing; print the URL the tests read from
# $HICENV_TEST_POSTGRES. Idempotent.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main >/dev/null 2>&1
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
    su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='hicenv'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"create role hicenv login password 'hicenv'\"" >/dev/null
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='hicenv_test'\"" | grep -q 1 ||
    su postgres -c "createdb -O hicenv hicenv_test"
echo "postgresql+psycopg://hicenv:hicenv@127.0.0.1:5432/hicenv_test"
