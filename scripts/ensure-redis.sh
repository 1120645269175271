#!/usr/bin/env bash
# Makes sure `redis-server` can be run before the tests that start one (fleet mode, issue 12).
# Tests never use a shared Redis: each starts its own on a free loopback port and stops it by pid.
# If it is missing: install Debian's `redis-server` package when this machine can (root and
# apt-get), else stop with one line saying how. `$REDIS_SERVER` may point at another binary.
set -euo pipefail
binary="${REDIS_SERVER:-redis-server}"
if command -v "$binary" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing the Debian package (apt-get install redis-server)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package starts a system service on port 6379 where it can; the tests do not use it.
  command -v redis-server >/dev/null 2>&1 && exit 0
fi
echo "redis-server is required by the tests: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_SERVER to its path" >&2
exit 1
