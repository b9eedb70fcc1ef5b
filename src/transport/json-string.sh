# gen_json "$value" (src/transport/step-records.ts): prints a value as a JSON string, quotes, backslashes and newlines
# escaped, other control characters dropped.
gen_json() {
  printf '"'
  printf '%s' "$1" | LC_ALL=C sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | LC_ALL=C tr -d '\000-\011\013-\037' |
    LC_ALL=C awk 'NR > 1 { printf "%s", "\\n" } { printf "%s", $0 }'
  printf '"'
}
