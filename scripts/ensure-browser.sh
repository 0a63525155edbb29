#!/usr/bin/env bash
# Test tools from Debian's packages: Chromium for the browser tests (never a browser download) with
# CJK fonts so Chinese renders, and the docker-compose v1 binary that validates deploy/docker-compose.yml.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif [ "${CI:-}" = "true" ]; then
  echo "missing ${need[*]} and cannot install them (not root or no apt-get)" >&2
  exit 1
else
  echo "note: ${need[*]} missing; the tests that need them will be skipped" >&2
fi
