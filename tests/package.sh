#!/usr/bin/env bash
# The Debian package, as a sysadmin gets it: built with `cargo deb` from the release build,
# installed with dpkg into a throwaway root (`dpkg --root`; the maintainer scripts run without a
# chroot, with DPKG_ROOT set, so this machine's own systemd is never touched), then checked —
# binary path, the hardened unit and its `systemd-analyze security` score, the state directory,
# the root-only settings file, the watcher's user unit — and removed and purged again.
# Run by tests/run.sh right after `cargo build --release` (`cargo deb --no-build` reuses it).
# Skips (exit 0, saying why) only when cargo-deb is missing and cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "tests/package.sh: FAIL: $*" >&2; exit 1; }

target=${CARGO_TARGET_DIR:-target}
[ -x "$target/release/tidings" ] || fail "no $target/release/tidings: run cargo build --release first"
if ! cargo deb --version >/dev/null 2>&1; then
  if ! cargo install --locked cargo-deb; then
    echo "tests/package.sh: SKIPPED: cargo-deb is not installed and \`cargo install cargo-deb\` failed" >&2
    exit 0
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo deb --no-build --locked --fast --output "$work/" >"$work/cargo-deb.log" 2>&1 || { cat "$work/cargo-deb.log" >&2; fail "cargo deb"; }
deb=$(ls "$work"/*.deb)
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
dpkg_root() {
  dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root "$@" >>"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log" >&2; fail "dpkg $*"; }
}
dpkg_root -i "$deb"
dpkg --root="$root" -s tidings | grep -qx 'Status: install ok installed' || fail "not installed"

# The binary, where both units expect it.
[ -x "$root/usr/bin/tidings" ] || fail "no /usr/bin/tidings"
"$root/usr/bin/tidings" tracker serve --help | grep -q -- '--db-password-file' || fail "the packaged binary is not this build"

# The tracker's unit: where it runs from, as whom, where its data goes, how it is confined.
unit=$root/usr/lib/systemd/system/tidings-tracker.service
[ -f "$unit" ] || fail "no tidings-tracker.service"
for line in \
  'ExecStart=/usr/bin/tidings tracker serve $TRACKER_ARGS' \
  'EnvironmentFile=/etc/tidings-tracker/env' \
  'DynamicUser=yes' 'StateDirectory=tidings-tracker' 'StateDirectoryMode=0700' \
  'ProtectSystem=strict' 'ProtectHome=yes' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
  'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes'; do
  grep -qxF -- "$line" "$unit" || fail "tidings-tracker.service lacks: $line"
done
# DynamicUser= makes the user at start: no fixed User= (nor a user to create in postinst).
! grep -q '^User=' "$unit" || fail "tidings-tracker.service names a fixed User="
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  score=$(systemd-analyze security --offline=yes --root="$root" tidings-tracker.service 2>&1 |
    sed -n 's/.*Overall exposure level for tidings-tracker.service: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || fail "systemd-analyze security gave no score"
  awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || fail "systemd-analyze security: $score > 3.0"
  echo "tests/package.sh: systemd-analyze security --offline=yes: $score"
else
  echo "tests/package.sh: systemd-analyze security --offline is not supported here; score not checked"
fi

# Its settings: root-only (they may hold PGPASSWORD), a conffile, the database in the state dir.
env_file=$root/etc/tidings-tracker/env
[ "$(stat -c '%a %U:%G' "$env_file")" = "640 root:root" ] || fail "/etc/tidings-tracker/env is $(stat -c '%a %U:%G' "$env_file")"
grep -qx 'TIDINGS_TRACKER_DB=sqlite:/var/lib/tidings-tracker/tracker.sqlite3' "$env_file" || fail "env: database not in the state directory"
grep -q '^TRACKER_ARGS=.*--metrics-listen 127.0.0.1:' "$env_file" || fail "env: metrics not kept on localhost"
grep -qx '/etc/tidings-tracker/env' "$root/var/lib/dpkg/info/tidings.conffiles" || fail "env is not a conffile"

# The watcher's user unit runs the same binary.
grep -qx 'ExecStart=/usr/bin/tidings watch' "$root/usr/lib/systemd/user/tidings-watch.service" || fail "tidings-watch.service"

# Removal keeps the edited settings; purge removes them.
dpkg_root -r tidings
[ ! -e "$root/usr/bin/tidings" ] || fail "remove left /usr/bin/tidings"
[ -f "$env_file" ] || fail "remove deleted the settings"
dpkg_root -P tidings
[ ! -e "$env_file" ] || fail "purge left /etc/tidings-tracker/env"
echo "tests/package.sh: ok ($(basename "$deb"))"
