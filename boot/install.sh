#!/bin/sh
# Install the lane daemon as a systemd service, on a Jetson (JetPack 6) or any Linux box.
# Run as root from the checkout:  sudo boot/install.sh [--jetson]
# It installs into /opt/anpr (a virtual environment with the package), the configuration into
# /etc/anpr/anpr.toml (kept if already there), udev rules for stable device names, the unit,
# and a system user anpr; then enables and starts the service. Run it again to upgrade.
set -eu
JETSON=0
[ "${1:-}" = "--jetson" ] && JETSON=1
HERE=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/anpr

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo boot/install.sh)" >&2; exit 2; }
command -v systemctl >/dev/null || { echo "install.sh: needs systemd" >&2; exit 2; }

id anpr >/dev/null 2>&1 || useradd --system --home-dir /var/lib/anpr --shell /usr/sbin/nologin anpr
usermod -a -G dialout,video anpr

mkdir -p "$PREFIX"
cp -a "$HERE/." "$PREFIX/"
if [ "$JETSON" = 1 ]; then
    # JetPack's TensorRT and pycuda bindings live in the system Python: let the venv see them
    python3 -m venv --system-site-packages "$PREFIX/.venv"
    "$PREFIX/.venv/bin/pip" install --quiet -e "$PREFIX[jetson]"
else
    python3 -m venv "$PREFIX/.venv"
    "$PREFIX/.venv/bin/pip" install --quiet -e "$PREFIX"
fi
touch "$PREFIX/.venv/.installed"  # installed above: make must not build another venv over it
make -C "$PREFIX" models VENV="$PREFIX/.venv"

mkdir -p /etc/anpr /var/lib/anpr
[ -f /etc/anpr/anpr.toml ] || sed 's#^path = .*#path = "/var/lib/anpr/events.db"#' "$PREFIX/boot/anpr.toml" > /etc/anpr/anpr.toml
chown -R anpr:anpr /var/lib/anpr
"$PREFIX/.venv/bin/anpr" run --help >/dev/null

install -m 0644 "$PREFIX/boot/99-anpr.rules" /etc/udev/rules.d/99-anpr.rules
udevadm control --reload-rules && udevadm trigger || true
install -m 0644 "$PREFIX/boot/anpr.service" /etc/systemd/system/anpr.service
install -m 0644 "$PREFIX/boot/anpr-web.service" /etc/systemd/system/anpr-web.service
systemd-analyze verify /etc/systemd/system/anpr.service /etc/systemd/system/anpr-web.service
systemctl daemon-reload
systemctl enable --now anpr.service
if grep -Eq '^password_hash = ".+"' /etc/anpr/anpr.toml; then
    systemctl enable --now anpr-web.service
else
    echo "the operator's page is not started: run '$PREFIX/.venv/bin/anpr web password', put the line it prints"
    echo "into [web] of /etc/anpr/anpr.toml (and web.listen = this box's site-network address), then"
    echo "systemctl enable --now anpr-web"
fi
echo "installed: systemctl status anpr; journalctl -u anpr -f; configuration in /etc/anpr/anpr.toml"
