#!/bin/sh
# First boot only (the unit's condition is the CONFIGURED marker): copies what ic-bootstrap.tar
# holds to where the node keeps it. Known members, all optional:
#   accounts_ssh_authorized_keys/<user>  -> /boot/config/accounts_ssh_authorized_keys/<user>
#   ic_crypto/                           -> /var/lib/ic/crypto/
#   ic_state/, ic_registry_local_store/  -> /var/lib/ic/data/
#   nns_public_key.pem                   -> /var/lib/ic/data/nns_public_key.pem
set -eu
BOOTSTRAP=/mnt/config/ic-bootstrap.tar
MARKER=/boot/config/CONFIGURED

[ -f "$BOOTSTRAP" ] || { echo "bootstrap-ic-node: $BOOTSTRAP not found on the config device" >&2; exit 1; }
work="$(mktemp -d /tmp/ic-bootstrap.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tar -xf "$BOOTSTRAP" -C "$work" --no-same-owner --no-same-permissions

if [ -d "$work/accounts_ssh_authorized_keys" ]; then
    rm -rf /boot/config/accounts_ssh_authorized_keys
    mkdir -m 0755 /boot/config/accounts_ssh_authorized_keys
    for keys in "$work"/accounts_ssh_authorized_keys/*; do
        [ -f "$keys" ] && install -m 0644 "$keys" /boot/config/accounts_ssh_authorized_keys/
    done
fi
if [ -d "$work/ic_crypto" ]; then
    cp -R "$work/ic_crypto/." /var/lib/ic/crypto/
    chmod -R go-rwx /var/lib/ic/crypto
fi
for member in ic_state ic_registry_local_store nns_public_key.pem; do
    [ -e "$work/$member" ] && cp -R "$work/$member" /var/lib/ic/data/
done
sync
touch "$MARKER"
echo "bootstrap-ic-node: unpacked $BOOTSTRAP"
