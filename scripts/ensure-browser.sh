#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a browser download) with CJK fonts so Chinese renders.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif [ "${CI:-}" = "true" ]; then
  echo "missing ${need[*]} and cannot install them (not root or no apt-get)" >&2
  exit 1
else
  echo "note: ${need[*]} missing; browser tests will be skipped" >&2
fi
