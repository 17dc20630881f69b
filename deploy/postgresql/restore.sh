#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database (create it first, owned by the
# user voltfleet connects as), then check that it is complete.
#
#   deploy/postgresql/restore.sh BACKUP_FILE DATABASE_URL
#
# Stop the API, bridge and worker processes first, restore, point VOLTFLEET_DATABASE_URL at the
# database, run `voltfleet check`, start them again (a backup of an older version is brought up to
# date by the migrations at start). Refuses a database that already holds voltfleet tables.
set -euo pipefail
file=${1:?usage: restore.sh BACKUP_FILE DATABASE_URL}
url=${2:?usage: restore.sh BACKUP_FILE DATABASE_URL}
url=${url/postgresql+psycopg:/postgresql:}
existing=$(psql "$url" -tAc "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'")
if [ "$existing" != "0" ]; then
  echo "restore.sh: the target database already holds voltfleet tables; restore into an empty one" >&2
  exit 1
fi
pg_restore --no-owner --exit-on-error --single-transaction --dbname="$url" "$file"
version=$(psql "$url" -tAc "SELECT version_num FROM alembic_version")
echo "restored $file: schema at migration $version"
