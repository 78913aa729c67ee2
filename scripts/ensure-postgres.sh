#!/bin/sh
# Installs Debian's PostgreSQL server for the tests when it is missing. The suite runs its
# own throwaway cluster (test/support/postgres.ts: initdb in a temp directory, a free port,
# removed at the end), so all it needs are the server binaries — never the system's
# default cluster. Idempotent and quick: with initdb present it only prints the version.
# Set TASKSD_TEST_POSTGRES_URL to use your own server instead; then nothing is installed.
set -eu

if [ -n "${TASKSD_TEST_POSTGRES_URL:-}" ]; then
  exit 0
fi

# Debian installs the server under /usr/lib/postgresql/VERSION/bin, not on PATH; the
# pg_config on PATH (postgresql-common's) names the newest one. test/support/postgres.ts
# finds it the same way.
have_server() {
  [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]
}

if ! have_server; then
  # apt-get needs root; elsewhere go through sudo.
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then
    as_root="sudo"
  fi
  echo "tasksd: installing postgresql for the catalog tests" >&2
  # The package would otherwise create (and try to start) a "main" cluster on port 5432
  # that nothing here uses. postgresql-common reads this drop-in before it does so.
  $as_root mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = off' |
    $as_root tee /etc/postgresql-common/createcluster.d/tasksd-no-main-cluster.conf >/dev/null
  $as_root apt-get update -q
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  have_server || { echo "tasksd: postgresql installed but no initdb found" >&2; exit 1; }
fi

# One line for CI logs: which server binaries the tests will use.
"$(pg_config --bindir)/postgres" --version >&2
