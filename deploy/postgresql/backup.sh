#!/usr/bin/env bash
# Back up voltfleet's PostgreSQL database to one compressed file (pg_dump's custom format: any
# table can be restored alone, and pg_restore can use several jobs).
#
#   deploy/postgresql/backup.sh DATABASE_URL [DIRECTORY]
#
# DATABASE_URL: postgresql://user@host:port/db (a postgresql+psycopg:// URL works too). The file
# is DIRECTORY/voltfleet-<db>-<UTC time>.dump (default directory: .), written under a temporary
# name and renamed once complete, so a backup that failed half-way is never taken for a good
# one. Prints the file's path. The job queue's schema (procrastinate) is included.
# For point-in-time recovery use continuous archiving instead (pg_basebackup + WAL archive):
# docs/deployment.md, "Backups".
set -euo pipefail
url=${1:?usage: backup.sh DATABASE_URL [DIRECTORY]}
dir=${2:-.}
url=${url/postgresql+psycopg:/postgresql:}
db=${url##*/}
db=${db%%\?*}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dir/voltfleet-$db-$stamp.dump"
mkdir -p "$dir"
pg_dump --format=custom --compress=6 --no-owner --file="$out.partial" "$url"
mv "$out.partial" "$out"
echo "$out"
