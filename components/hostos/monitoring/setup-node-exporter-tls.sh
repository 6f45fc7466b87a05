#!/bin/sh
# node_exporter serves TLS with a self-signed certificate made on first boot and kept on the
# config volume (so it survives reboots and upgrades); the key is readable only by
# node_exporter. A half-written pair is replaced as a whole.
set -eu
DIR=/boot/config/node_exporter
CERT="$DIR/node_exporter.crt"
KEY="$DIR/node_exporter.key"

if [ ! -s "$CERT" ] || [ ! -s "$KEY" ]; then
    echo "setup-node-exporter-tls: first boot: making a self-signed certificate in $DIR"
    rm -rf "$DIR.new"
    mkdir -m 0750 "$DIR.new"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR.new/node_exporter.key")
    openssl req -new -x509 -key "$DIR.new/node_exporter.key" -days 3650 -subj "/CN=hostos-node-exporter" \
        -addext "subjectAltName=DNS:localhost" -out "$DIR.new/node_exporter.crt"
    chmod 0644 "$DIR.new/node_exporter.crt"
    rm -rf "$DIR"
    mv "$DIR.new" "$DIR"
    sync
fi
# Every boot: the owner by name, since the uid belongs to this image.
chown -R root:node_exporter "$DIR"
chmod 0750 "$DIR"
chown node_exporter:node_exporter "$KEY"
chmod 0600 "$KEY"
echo "setup-node-exporter-tls: certificate $CERT"
