#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 for the test suite: start them when installed
# but stopped; install them (Debian packages) when missing and we are root with apt-get; else fail.
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "$0")/apt.sh"

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 30); do "$check" && return 0; sleep 1; done
  echo "ensure-services: $what did not come up on 127.0.0.1" >&2
  return 1
}

if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if can_install; then
      echo "ensure-services: installing PostgreSQL (Debian package postgresql)"
      apt_install postgresql
      version=$(ls /etc/postgresql | sort -V | tail -n1)
      sed -i 's/^\(local\|host\)\(.*\)\(peer\|scram-sha-256\|md5\)$/\1\2trust/' "/etc/postgresql/$version/main/pg_hba.conf"
    else
      echo "ensure-services: PostgreSQL is not running and not installed: install Debian's 'postgresql' (or set it up on 127.0.0.1:5432 with trust auth for user postgres)" >&2
      exit 1
    fi
  fi
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  wait_for PostgreSQL pg_up
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    if can_install; then
      echo "ensure-services: installing Redis (Debian package redis-server)"
      apt_install redis-server
    else
      echo "ensure-services: Redis is not running and not installed: install Debian's 'redis-server'" >&2
      exit 1
    fi
  fi
  echo "ensure-services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_up
fi
echo "ensure-services: PostgreSQL and Redis are up"
