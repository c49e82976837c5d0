#!/usr/bin/env bash
# make run: without DATABASE_URL, iisd starts a private PostgreSQL cluster
# with the system's initdb and pg_ctl. Install them if they are missing.
set -u
[ -n "${DATABASE_URL:-}${IIS_DATABASE_URL:-}" ] && exit 0
command -v initdb >/dev/null 2>&1 && exit 0
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && exit 0
echo "PostgreSQL server programs not found: installing the Debian package postgresql" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
else
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
