#!/usr/bin/env bash
# Extract the UI strings of shared/ and of each service into their Chinese catalogs (translations/zh) (then translate the
# empty msgstr entries by hand). `make` compiles the catalogs; the .mo files are never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/pybabel
for dir in ${I18N_DIRS:-shared services/identity services/leads services/customers services/callcenter services/analytics}; do
  pot=$(mktemp)
  $B extract -F babel.cfg -k _l -o "$pot" "$dir" >/dev/null 2>&1
  # gettext finds Babel's zh_Hans_CN under zh/: older catalogs under zh_CN move there
  if [ -d "$dir/translations/zh_CN" ] && [ ! -d "$dir/translations/zh" ]; then mv "$dir/translations/zh_CN" "$dir/translations/zh"; fi
  po="$dir/translations/zh/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then $B update -i "$pot" -d "$dir/translations" -l zh --no-fuzzy-matching >/dev/null
  else $B init -i "$pot" -d "$dir/translations" -l zh >/dev/null; fi
  rm -f "$pot"
done
