#!/bin/sh
# Installs Debian's chromium for the Web UI browser test (test/web-ui.test.ts) when it
# is missing. playwright-core drives it and downloads no browser of its own (that
# could not work offline anyway). Idempotent: with /usr/bin/chromium present it does nothing.
set -eu

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

# apt-get needs root; elsewhere go through sudo.
as_root=""
if [ "$(id -u)" -ne 0 ]; then
  as_root="sudo"
fi

echo "tasksd: installing chromium for the Web UI test" >&2
$as_root apt-get update -q
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
/usr/bin/chromium --version >&2
