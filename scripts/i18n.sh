#!/usr/bin/env bash
# Extract the UI strings of shared/ and of each service into their zh_CN catalogs (then translate the
# empty msgstr entries by hand). `make` compiles the catalogs; the .mo files are never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/pybabel
for dir in shared services/identity services/leads services/customers services/callcenter services/analytics; do
  pot=$(mktemp)
  $B extract -F babel.cfg -k _l -o "$pot" "$dir" >/dev/null 2>&1
  po="$dir/translations/zh_CN/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then $B update -q -i "$pot" -d "$dir/translations" -l zh_CN --no-fuzzy-matching
  else $B init -i "$pot" -d "$dir/translations" -l zh_CN >/dev/null; fi
  rm -f "$pot"
done
