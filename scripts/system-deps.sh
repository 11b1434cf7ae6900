#!/usr/bin/env bash
# Debian packages some tests need: cron (the real daemon), chromium + chromium-driver (admin
# browser tests), faketime + libfaketime (runcrons processes on a fake clock across DST),
# iproute2 + socat (the test hosts of tests/hosts). Installs what is missing when it can (root
# with apt-get); otherwise says so and the tests that need them skip with a reason (under
# CI=true they fail instead).
set -u
want=()
command -v cron >/dev/null 2>&1 || want+=(cron)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v chromedriver >/dev/null 2>&1 || want+=(chromium-driver)
command -v faketime >/dev/null 2>&1 || want+=(faketime libfaketime)
command -v ip >/dev/null 2>&1 || want+=(iproute2)
command -v socat >/dev/null 2>&1 || want+=(socat)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: cannot install ${want[*]} (needs root and apt-get); their tests will skip" >&2
  exit 0
fi
echo "system-deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
  || echo "system-deps: apt-get could not install ${want[*]}; their tests will skip" >&2
exit 0
