# gen_read ROOT DIR NAME MAX [tail] (src/server/safe-read.ts says what it answers): a read that follows no link,
# waits on no FIFO and takes only a regular file. gen_read's statuses, READ_* of safe-read.ts: 40 not
# there, 41 a link on the way, 42 not a regular file, 43 DIR cannot be entered.
gen_read() {
  cd -P -- "${1:-/}" 2>/dev/null || return 43; gen_r=${PWD%/}
  [ -e "$1$2" ] || return 40
  cd -P -- "$1$2" 2>/dev/null || { [ -d "$1$2" ] && return 43; return 42; }
  gen_d=$gen_r${2%/}; [ "$PWD" = "${gen_d:-/}" ] || return 41
  [ ! -L "$3" ] || return 41
  [ -e "$3" ] || return 40
  [ -f "$3" ] || return 42
  gen_skip=0; if [ "${5:-}" = tail ]; then gen_size=$(stat -c %s -- "$3") || return 40; [ "$gen_size" -le "$4" ] || gen_skip=$((gen_size - $4)); fi
  dd if="$3" iflag=nofollow,nonblock,skip_bytes,count_bytes skip="$gen_skip" count="$4" bs=65536 status=none
}
