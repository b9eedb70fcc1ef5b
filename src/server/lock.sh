# gen's lock (src/server/lock.ts): a folder made with mkdir (atomic), STATE/locks/lock, holding who took it. ROOT is
# the transport's root ("" for a server's own "/"), STATE the state folder as a server path. gen_json (json-string.sh)
# and gen_read (safe-read.sh) come before these functions. Each prints one record and exits the step: 0 done,
# 1 no lock to remove, 42 held, 43 mkdir failed, 44 a link refused.

# A record: {"kind":KIND,KEY:VALUE}.
gen_lock_record() { printf '{"kind":"%s","%s":' "$1" "$2"; gen_json "$3"; printf '}\n'; }

gen_refuse_link() { gen_lock_record link path "$1"; exit 44; }

# The lock's holder.json as safe-read.sh reads the deploy user's files (no link, no FIFO, at most LIMIT bytes), in h.
gen_lock_holder() { h=$(gen_read "$1" "$2/locks/lock" holder.json "$3" 2>/dev/null); }

# gen_root_state ROOT STATE GROUP, as root: STATE is made root's, 0755, and STATE/locks root:GROUP, sticky 1770, so
# that what root writes there cannot be replaced by a link. Owner and mode are set only when they differ: one stat
# process in the usual case. A state folder an older gen gave the deploy user is taken back, and refused if the
# deploy user left a link in it. Without root the chown and chmod fail and are skipped.
gen_root_state() {
  rest=${2#/}; at=$1
  while [ -n "$rest" ]; do
    at=$at/${rest%%/*}
    case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
    if [ -L "$at" ]; then gen_refuse_link "${at#"$1"}"; fi
  done
  nl='
'
  # A line for each folder that exists, the state folder's first (the locks folder is inside it).
  st=$(stat -c '%u %a %G' "$1$2" "$1$2/locks" 2>/dev/null)
  case "$st" in '') was=new; held=new ;; *"$nl"*) was=${st%%"$nl"*}; held=${st#*"$nl"} ;; *) was=$st; held=new ;; esac
  [ "$was" = new ] || was=${was% *}
  [ "$was" != new ] || mkdir -p "$1$2"
  [ "$was" = '0 755' ] || { chown -h 0:0 "$1$2" && chmod 0755 "$1$2"; } 2>/dev/null || true
  if [ "${was%% *}" != 0 ] && [ "$was" != new ]; then
    for e in "$1$2"/* "$1$2"/*/*; do if [ -L "$e" ]; then gen_refuse_link "$2/${e#"$1$2"/}"; fi; done
  fi
  if [ -L "$1$2/locks" ]; then gen_refuse_link "$2/locks"; fi
  [ "$held" != new ] || mkdir "$1$2/locks"
  [ "$held" = "0 1770 $3" ] || { chown -h "0:$3" "$1$2/locks" && chmod 1770 "$1$2/locks"; } 2>/dev/null || true
}

# gen_user_state ROOT STATE, as the deploy user: STATE/locks made if it is not there.
gen_user_state() { [ -d "$1$2/locks" ] || mkdir -p "$1$2/locks"; }

# gen_take_lock ROOT STATE HOLDER LIMIT: taken (HOLDER written as holder.json), or held by whom (what holder.json
# says, at most LIMIT bytes of it), or why mkdir failed.
gen_take_lock() {
  if failure=$(mkdir "$1$2/locks/lock" 2>&1); then
    printf '%s\n' "$3" > "$1$2/locks/lock/holder.json"; printf '%s\n' '{"kind":"taken"}'; exit 0
  elif [ -d "$1$2/locks/lock" ]; then
    gen_lock_holder "$1" "$2" "$4"; gen_lock_record held holder "$h"; exit 42
  else
    gen_lock_record failed reason "$failure"; exit 43
  fi
}

# gen_remove_lock ROOT STATE LIMIT (--force-unlock): the lock removed and whose it was, or status 1 when there is none.
gen_remove_lock() {
  [ -d "$1$2/locks/lock" ] || exit 1
  gen_lock_holder "$1" "$2" "$3"
  rm -rf "$1$2/locks/lock"
  gen_lock_record removed holder "$h"
}
