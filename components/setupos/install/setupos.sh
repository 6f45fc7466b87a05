#!/bin/bash
# The SetupOS installer, run once per boot on the console by setupos.service. In order (as
# IC-OS's setupos.sh): check the config, the hardware and the network, pick the target disk,
# then `icos install-node` writes HostOS, GuestOS and the node's config to it. Kernel command
# line switches (grub.cfg sets them from its grubenv): ic.setupos.check_hardware=0,
# ic.setupos.check_network=0, ic.setupos.perform_installation=0,
# ic.setupos.reboot_after_installation=1. Any failure prints what failed and leaves the target
# without a partition table (install-node writes it last), then powers off after a pause.
set -euo pipefail

ICOS=(node /opt/ic/bin/icos-runtime.mjs)
CONFIG_INI=/config/config.ini
KEYS_DIR=/config/ssh_authorized_keys
DEPLOYMENT=/data/deployment.json
HOSTOS_ARCHIVE=/data/host-os.img.tar.zst
GUESTOS_ARCHIVE=/data/guest-os.img.tar.zst
NODE_LAYOUT=/opt/ic/share/node-layout.json
MEDIUM_ROOT=/dev/disk/by-partuuid/{{layout.partitions.root.uuid}}

say() { echo "SetupOS: $*"; }

fail() {
    say "FAILED: $*"
    say "the target disk was not made bootable; fix the cause and boot this medium again"
    sleep 30
    systemctl poweroff --no-block
    exit 1
}

switch() {
    # switch NAME DEFAULT: the value of ic.setupos.NAME= on the kernel command line.
    local value="$2" arg
    for arg in $(cat /proc/cmdline); do
        case "$arg" in "ic.setupos.$1="*) value="${arg#*=}" ;; esac
    done
    echo "$value"
}

check_network() {
    # The data centre's IPv6 gateway answers from the first wired interface with a carrier.
    local gateway iface tries
    gateway="$(sed -n 's/^[[:space:]]*ipv6_gateway[[:space:]]*=[[:space:]]*//p' "$CONFIG_INI" | tr -d '[:space:]')"
    for tries in $(seq 1 30); do
        iface="$(ip -o link show up | awk -F': ' '$2 ~ /^en|^eth/ && /LOWER_UP/ {print $2; exit}')"
        [ -n "$iface" ] && ping -6 -c 1 -W 2 "$gateway" >/dev/null 2>&1 && { say "network: gateway $gateway answers on $iface"; return 0; }
        sleep 2
    done
    fail "check-network: the IPv6 gateway $gateway of $CONFIG_INI did not answer within 60 s (interface: ${iface:-none with a carrier}); skip with ic.setupos.check_network=0"
}

pick_target() {
    # The first disk that is not this medium and not removable (IC-OS takes the first drive).
    local medium name type removable
    medium="$(lsblk -no PKNAME "$(readlink -f "$MEDIUM_ROOT")" 2>/dev/null || true)"
    while read -r name type removable; do
        [ "$type" = disk ] && [ "$name" != "$medium" ] && [ "$removable" = 0 ] && { echo "/dev/$name"; return 0; }
    done < <(lsblk -dn -o NAME,TYPE,RM)
    return 1
}

main() {
    say "$(cat /opt/ic/share/version.txt 2>/dev/null || echo unknown) starting"
    "${ICOS[@]}" check-node-config --config "$CONFIG_INI" --deployment "$DEPLOYMENT" --keys "$KEYS_DIR" \
        || fail "check-config: the lines above name each bad field of the node configuration"
    say "config: $CONFIG_INI, $DEPLOYMENT and $KEYS_DIR are valid"

    local target
    target="$(pick_target)" || fail "pick-target: no disk other than this medium (lsblk: $(lsblk -dn -o NAME,TYPE,RM,SIZE | tr '\n' ' '))"
    say "target disk: $target ($(lsblk -dn -o SIZE "$target" | tr -d ' '))"

    if [ "$(switch check_hardware 1)" = 0 ]; then
        say "hardware check skipped (ic.setupos.check_hardware=0)"
    else
        "${ICOS[@]}" check-hardware --deployment "$DEPLOYMENT" --target "$target" --archive "$HOSTOS_ARCHIVE" \
            || fail "check-hardware: see above; skip with ic.setupos.check_hardware=0"
    fi
    if [ "$(switch check_network 1)" = 0 ]; then
        say "network check skipped (ic.setupos.check_network=0)"
    else
        check_network
    fi
    if [ "$(switch perform_installation 1)" = 0 ]; then
        say "installation skipped (ic.setupos.perform_installation=0)"
        return 0
    fi

    # The node's config volume gets what setup-hostos-config copies upstream.
    local config_tree=/run/setupos/node-config
    rm -rf "$config_tree"
    mkdir -p "$config_tree"
    cp "$CONFIG_INI" "$DEPLOYMENT" "$config_tree/"
    cp -R "$KEYS_DIR" "$config_tree/ssh_authorized_keys"
    for optional in /config/node_operator_private_key.pem /data/nns_public_key.pem; do
        [ -f "$optional" ] && cp "$optional" "$config_tree/"
    done
    "${ICOS[@]}" install-node --target "$target" --node-layout "$NODE_LAYOUT" \
        --host-archive "$HOSTOS_ARCHIVE" --guest-archive "$GUESTOS_ARCHIVE" --config-tree "$config_tree" \
        || fail "install: see above"
    say "SUCCESS: the node is installed on $target; remove this medium"
}

main
if [ "$(switch reboot_after_installation 0)" = 1 ]; then
    systemctl reboot --no-block
else
    systemctl poweroff --no-block
fi
