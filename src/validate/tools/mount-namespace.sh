# Runs a tool in a private mount namespace (src/validate/tools/namespaces.ts), as sh -c with arguments: the mount
# binary, the number of mounts, that many [source-or-"tmpfs", target] pairs, then the command. tmpfs goes over a
# folder; a source is bind-mounted over a host file, a missing folder target made first. Status 125: a mount failed.
m=$1; n=$2; shift 2
while [ "$n" -gt 0 ]; do
  if [ "$1" = tmpfs ]; then "$m" -n -t tmpfs tmpfs "$2" || exit 125
  else { [ -e "$2" ] || mkdir -p "$2"; } && "$m" -n --bind "$1" "$2" || exit 125; fi
  shift 2; n=$((n - 1))
done
exec "$@"
