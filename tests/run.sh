#!/usr/bin/env bash
# Installs what the test suite needs (Debian packages; run as root or with sudo) and runs every
# test. The tests start their own servers (Dovecot, SMTP, PostgreSQL, D-Bus) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openssl dovecot-core dovecot-imapd python3-aiosmtpd python3-dbusmock dbus tmux isync dnsmasq-base postgresql wrk nginx-light chromium)
# systemd-analyze (the unit's security score) and dpkg for tests/package.sh.
packages+=(systemd dpkg)
# OAuth2 sign-in tests: the authorization server (tests/support/oauth_server.py).
packages+=(python3-authlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's dovecot package starts a system instance; the tests run their own, so it is not needed.
if command -v systemctl >/dev/null 2>&1; then systemctl stop dovecot >/dev/null 2>&1 || true; fi

cargo build --locked --release
# The Debian package from that release build (cargo deb --no-build), installed into a throwaway root.
tests/package.sh
cargo test --locked --release -- --test-threads=2 "$@"
