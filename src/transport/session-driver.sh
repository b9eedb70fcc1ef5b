# The server side of a remote session (src/transport/remote-session.ts describes its frames), run as sh -c: the
# session's token on its first line of input, then steps, each answered with its status and the token's end lines.
IFS= read -r tok || exit 96
printf '%s READY\n' "$tok"; printf '%s READY\n' "$tok" >&2
# The end of a step that reads its own input (own = o): the line "<token> I <id>" after the input. What the step left
# unread is passed over up to it; no input holds the token, so no part of one is ever taken for a frame.
gen_input_end() { while IFS= read -r line; do [ "$line" != "$tok I $id" ] || return 0; done; return 1; }
ok=0; guard=0; rc=0
while IFS=' ' read -r id mode kind n ilen own; do
  if [ "$kind" = L ]; then s=''; while [ "$n" -gt 0 ] && IFS= read -r line; do s="$s$line
"; n=$((n - 1)); done; [ "$n" = 0 ] || exit 95
  else s=$(head -c "$n"; echo .) || exit 98; case $s in *": gen-script-end"?.) s=${s%.} ;; *) exit 95 ;; esac; fi
  if { [ "$mode" = c ] && [ "$ok" != 0 ]; } || { [ "$mode" = g ] && [ "$guard" != 0 ]; } || { [ "$mode" = j ] && [ "$rc" = skip ]; }; then
    rc=skip; [ "$mode" = g ] || guard=1; [ "$ilen" = 0 ] || head -c "$ilen" >/dev/null || exit 98
    [ "$own" != o ] || gen_input_end || exit 95
  else was=$ok
    if [ "$ilen" = 0 ]; then (eval "$s") </dev/null; r=$?
    elif [ "$own" = o ]; then (eval "$s"); r=$?; gen_input_end || exit 95
    else head -c "$ilen" | { (eval "$s"); r=$?; read -r _ && cat >/dev/null; exit "$r"; }; r=$?; fi
    ok=$r; rc=$ok; [ "$mode" != j ] || [ "$was" = 0 ] || ok=$was; [ "$mode" = g ] || guard=$ok; fi
  printf '\n%s E %s\n' "$tok" "$id" >&2
  printf '\n%s R %s %s\n' "$tok" "$id" "$rc"
done
