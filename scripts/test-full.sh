#!/usr/bin/env bash
# The test command of the README and of CI: installs what the tests need, then runs them.
#  - Debian packages: the real tools the rendered files are checked with, OpenSSH for the loopback sshd, and
#    PostgreSQL (with openssl for a test certificate) for gen doctor's login, and chattr (e2fsprogs) for the tests
#    of an apply that cannot release its lock and of a cache entry that cannot be marked used; pyflakes3 and
#    shellcheck, which check gen's own Python programs and shell scripts (test/server-programs.test.ts); strace, which
#    counts the programs an apply starts on the server (test/integration/apply-programs.test.ts).
#  - the gen-test and gen-admin users: tests log in to their own sshd as users that are not root.
#  - systemd-nspawn (systemd-container) and mmdebstrap for the real-server tier, which runs last.
#  - npm packages (npm ci builds gen with tsc); then Biome checks formatting and lint rules (npm run lint).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(openssh-server openssh-client nginx sudo logrotate systemd python3 git postgresql openssl e2fsprogs pyflakes3 shellcheck strace systemd-container mmdebstrap)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "test setup: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test setup: installing ${missing[*]}"
  # Keep package scripts from starting nginx or sshd as services: the tests start their own on loopback.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ "$created_policy" -eq 1 ] && as_root rm -f /usr/sbin/policy-rc.d
fi

getent passwd gen-test >/dev/null || as_root useradd --create-home --shell /bin/bash gen-test
# An administrator whose sudo asks for a password (gen --sudo-password): each test that logs in as it gives it a
# password and a sudoers rule of its own, and takes both away at its end.
getent passwd gen-admin >/dev/null || as_root useradd --create-home --shell /bin/bash gen-admin
as_root mkdir -p /run/sshd

npm ci --no-audit --no-fund
npm run lint
npm test
# The real-server tier: a Debian 12 container booted with systemd-nspawn (its root filesystem is built once with
# mmdebstrap, about a minute, and cached in /var/cache/gen-real-server), the README's path run on it.
node scripts/run-tests.mjs --real-server
