#!/usr/bin/env bash
# MariaDB and PostgreSQL from Debian's packages, on 127.0.0.1, for the
# `tubelake import --from mysql://|postgres://` tests (internal/importer).
# Exports TUBELAKE_TEST_MYSQL_URL and TUBELAKE_TEST_POSTGRES_URL through
# $CI_ENV; without them those tests skip.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

DB_USER=tubelake
DB_PASS=tubelake-test
DB_NAME=tubelake_test

# --- MariaDB on 127.0.0.1:3306 ---
if ! (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
  if command -v service >/dev/null && $SUDO service mariadb start >/dev/null 2>&1; then :; else
    $SUDO bash -c 'nohup mysqld_safe --bind-address=127.0.0.1 >/tmp/tubelake-mariadb.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 0.5; done
fi
$SUDO mariadb -uroot <<SQL
CREATE DATABASE IF NOT EXISTS ${DB_NAME};
CREATE USER IF NOT EXISTS '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${DB_PASS}';
CREATE USER IF NOT EXISTS '${DB_USER}'@'localhost' IDENTIFIED BY '${DB_PASS}';
GRANT ALL PRIVILEGES ON ${DB_NAME}.* TO '${DB_USER}'@'127.0.0.1';
GRANT ALL PRIVILEGES ON ${DB_NAME}.* TO '${DB_USER}'@'localhost';
FLUSH PRIVILEGES;
SQL

# --- PostgreSQL on 127.0.0.1:5432 ---
if ! (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if command -v service >/dev/null && $SUDO service postgresql start >/dev/null 2>&1; then :; else
    PGV=$(ls /usr/lib/postgresql | sort -V | tail -1)
    $SUDO pg_ctlcluster "$PGV" main start
  fi
  for _ in $(seq 1 60); do (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 0.5; done
fi
run_psql() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "psql -v ON_ERROR_STOP=1 -qtA -c \"$1\""; else sudo -u postgres psql -v ON_ERROR_STOP=1 -qtA -c "$1"; fi; }
if [ "$(run_psql "SELECT 1 FROM pg_roles WHERE rolname='${DB_USER}'")" != "1" ]; then
  run_psql "CREATE ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASS}'"
fi
if [ "$(run_psql "SELECT 1 FROM pg_database WHERE datname='${DB_NAME}'")" != "1" ]; then
  run_psql "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}"
fi

if [ -n "${CI_ENV:-}" ]; then
  echo "TUBELAKE_TEST_MYSQL_URL=mysql://${DB_USER}:${DB_PASS}@127.0.0.1:3306/${DB_NAME}" >> "$CI_ENV"
  echo "TUBELAKE_TEST_POSTGRES_URL=postgres://${DB_USER}:${DB_PASS}@127.0.0.1:5432/${DB_NAME}?sslmode=disable" >> "$CI_ENV"
fi
echo "MariaDB and PostgreSQL are up on 127.0.0.1 (user ${DB_USER}, database ${DB_NAME})"
