#!/usr/bin/env bash
# Installs gigs-relay as a systemd service: the binary, deploy/gigs-relay.service and .socket, a configuration in
# /etc/gigs-relay/ with the mail templates, and a root-only credentials folder.
#
# Never overwrites what an operator edited: when an installed configuration or template differs from
# the shipped one, the shipped version is written beside it as NAME.new.
#
# Usage: deploy/install.sh [--binary PATH]      (without --binary it builds the release binary)
# Environment: DESTDIR stages everything under a folder (for packaging; systemctl is not called),
#              PREFIX is where the binary goes (default /usr/local).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH]" >&2; exit 64 ;;
    esac
done
dest="${DESTDIR:-}"
prefix="${PREFIX:-/usr/local}"

if [ -z "$binary" ]; then
    deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev
    swift build -c release --product gigs-relay
    binary="$(swift build -c release --show-bin-path)/gigs-relay"
fi

# install_keep SOURCE TARGET: installs SOURCE as TARGET (0644) unless TARGET exists with other content;
# then SOURCE goes to TARGET.new and TARGET is left alone.
install_keep() {
    if [ -e "$2" ] && ! cmp -s "$1" "$2"; then
        install -m 0644 "$1" "$2.new"
        echo "kept $2 (it differs from the shipped version, which is in $2.new)"
    else
        install -D -m 0644 "$1" "$2"
    fi
}

install -D -m 0755 "$binary" "$dest$prefix/bin/gigs-relay"
unit="$(mktemp)"
trap 'rm -f "$unit"' EXIT
sed "s|/usr/local/bin/gigs-relay|$prefix/bin/gigs-relay|" deploy/gigs-relay.service > "$unit"
install -D -m 0644 "$unit" "$dest/etc/systemd/system/gigs-relay.service"
install -D -m 0644 deploy/gigs-relay.socket "$dest/etc/systemd/system/gigs-relay.socket"

install -d -m 0755 "$dest/etc/gigs-relay"
install_keep deploy/gigs-relay.toml "$dest/etc/gigs-relay/gigs-relay.toml"
for template in config/templates/*/*.mustache; do
    install_keep "$template" "$dest/etc/gigs-relay/templates/${template#config/templates/}"
done
install -d -m 0700 "$dest/etc/gigs-relay/credentials"
for name in webhook-secret gigs-api-token smtp-password; do
    [ -e "$dest/etc/gigs-relay/credentials/$name" ] || install -m 0600 /dev/null "$dest/etc/gigs-relay/credentials/$name"
done
# The operator console's and API's token (admin.token): random, made once, kept on reinstall.
if [ ! -s "$dest/etc/gigs-relay/credentials/admin-token" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' > "$dest/etc/gigs-relay/credentials/admin-token")
fi

if [ -z "$dest" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
cat <<NEXT
Installed gigs-relay $("$dest$prefix/bin/gigs-relay" --version).
Next:
  1. Put the endpoint's whsec_… secret in $dest/etc/gigs-relay/credentials/webhook-secret (and the Gigs API
     token and SMTP password beside it if you use them).
  2. Edit $dest/etc/gigs-relay/gigs-relay.toml and check it:
     CREDENTIALS_DIRECTORY=/etc/gigs-relay/credentials gigs-relay config check --config /etc/gigs-relay/gigs-relay.toml
  3. systemctl enable --now gigs-relay (or gigs-relay.socket for socket activation);
     put deploy/nginx/gigs-relay.conf in /etc/nginx/conf.d/.
  4. The operator console is https://YOUR-HOST/relay/console through that site; sign in with the token in
     $dest/etc/gigs-relay/credentials/admin-token.
NEXT
