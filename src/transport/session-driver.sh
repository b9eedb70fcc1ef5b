# The server side of a remote session (src/transport/remote-session.ts describes its frames), run as sh -c: the
# session's token on its first line of input, then steps, each answered with its status and the token's end lines.
IFS= read -r tok || exit 96
printf '%s READY\n' "$tok"; printf '%s READY\n' "$tok" >&2
ok=0; guard=0; rc=0
while IFS=' ' read -r id mode kind n ilen; do
  if [ "$kind" = L ]; then s=''; while [ "$n" -gt 0 ] && IFS= read -r line; do s="$s$line
"; n=$((n - 1)); done; [ "$n" = 0 ] || exit 95
  else s=$(head -c "$n"; echo .) || exit 98; case $s in *": gen-script-end"?.) s=${s%.} ;; *) exit 95 ;; esac; fi
  if { [ "$mode" = c ] && [ "$ok" != 0 ]; } || { [ "$mode" = g ] && [ "$guard" != 0 ]; } || { [ "$mode" = j ] && [ "$rc" = skip ]; }; then
    rc=skip; [ "$mode" = g ] || guard=1; [ "$ilen" = 0 ] || head -c "$ilen" >/dev/null || exit 98
  else was=$ok
    if [ "$ilen" = 0 ]; then (eval "$s") </dev/null; else head -c "$ilen" | { (eval "$s"); r=$?; read -r _ && cat >/dev/null; exit "$r"; }; fi
    ok=$?; rc=$ok; [ "$mode" != j ] || [ "$was" = 0 ] || ok=$was; [ "$mode" = g ] || guard=$ok; fi
  printf '\n%s E %s\n' "$tok" "$id" >&2
  printf '\n%s R %s %s\n' "$tok" "$id" "$rc"
done
