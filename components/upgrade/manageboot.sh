#!/bin/bash
# manageboot.sh: A/B upgrades of this node, with IC-OS's subcommands.
#   current                 the running slot (dfinity.system= on the kernel command line: A or B)
#   target                  the other slot, where an upgrade goes
#   upgrade-install FILE    reads the upgrade image FILE (update-img.tar.zst) as a stream: checks
#                           it whole first (its MANIFEST.TXT is signed with the key this root
#                           carries, names this OS, every member is there and fits), then writes
#                           boot.img and root.img into the target slot,
#                           zeroes the head of the target's var, and verifies what it wrote:
#                           boot against the manifest's sha256, root against the verity root hash
#                           in the new boot_args. Nothing is committed.
#   upgrade-commit [--no-reboot]
#                           boot the target slot once (boot_alternative=<target>,
#                           boot_cycle=first_boot), then reboot; needs a verified upgrade-install
#                           of that slot in this boot
#   confirm                 this boot is good: boot_cycle=stable when grubenv names the running slot
# The grubenv transitions are those of tools/src/upgrade/grubenv.ts (commitUpgrade, confirmBoot);
# test/upgrade/manageboot.test.ts holds this script to that module byte for byte. The devices
# and the OS name come from manageboot.conf, rendered from the OS's tables at build time.
set -euo pipefail

CONF="${MANAGEBOOT_CONF:-/opt/ic/share/manageboot.conf}"
# shellcheck source=/dev/null
. "$CONF"
CMDLINE="${CMDLINE:-/proc/cmdline}"
STATE_DIR="${STATE_DIR:-/run/manageboot}"
# veritysetup verify's verdict without hashing every zero block of a mostly empty root (verity_check.c).
VERITY_CHECK="${VERITY_CHECK:-/opt/ic/bin/verity_check}"
# The zeroed head of the target var: its LUKS or file system header, so the new slot starts afresh.
VAR_WIPE_MIB=16
MANIFEST_MAX_BYTES=4096
# An Ed25519 public key's DER (SubjectPublicKeyInfo) before its 32 raw bytes, for OpenSSL.
ED25519_SPKI_PREFIX=302a300506032b6570032100

fail() {
    echo "manageboot: $*" >&2
    exit 1
}

running_slot() {
    local arg slot=A
    for arg in $(cat "$CMDLINE"); do
        case "$arg" in dfinity.system=B) slot=B ;; esac
    done
    echo "$slot"
}

other_slot() {
    if [ "$1" = A ]; then echo B; else echo A; fi
}

# The slot's device of one part (boot, root or var), from manageboot.conf.
device_of() {
    local name="SLOT_$1_${2^^}"
    [ -n "${!name:-}" ] || fail "$CONF: no $name"
    echo "${!name}"
}

size_of() {
    if [ -b "$1" ]; then blockdev --getsize64 "$1"; else stat -c %s "$1"; fi
}

# Sets GRUBENV to the grubenv file: GRUBENV_FILE, or grubenv on the grub partition (mounted here).
# One manageboot.sh at a time (confirm-boot.service may run while an operator types): the lock is
# held until this one exits.
open_grubenv() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 120 9 || fail "another manageboot.sh has held $STATE_DIR/lock for 120 s"
    if [ -n "${GRUBENV_FILE:-}" ]; then
        GRUBENV="$GRUBENV_FILE"
    else
        local mnt="$STATE_DIR/grub"
        mkdir -p "$mnt"
        mountpoint -q "$mnt" || mount -t vfat -o rw,nosuid,nodev,noexec "$GRUB_DEVICE" "$mnt" ||
            fail "cannot mount the grub partition $GRUB_DEVICE"
        trap 'umount "$STATE_DIR/grub" 2>/dev/null || true' EXIT
        GRUBENV="$mnt/grubenv"
    fi
    [ -f "$GRUBENV" ] || fail "$GRUBENV: no grubenv"
    [ "$(stat -c %s "$GRUBENV")" = 1024 ] || fail "$GRUBENV: is $(stat -c %s "$GRUBENV") bytes, not GRUB's 1024-byte environment block"
}

grubenv_get() {
    grub-editenv "$GRUBENV" list | sed -n "s/^$1=//p" | tail -n 1
}

grubenv_set() {
    grub-editenv "$GRUBENV" set "$@"
    sync "$GRUBENV"
}

# GRUB boots A for anything but "B".
grubenv_alternative() {
    if [ "$(grubenv_get boot_alternative)" = B ]; then echo B; else echo A; fi
}

# An upgrade needs the running slot confirmed: otherwise the other slot is the one to fall back to.
check_running_is_confirmed() {
    local running alternative cycle
    running="$(running_slot)"
    alternative="$(grubenv_get boot_alternative)"
    cycle="$(grubenv_get boot_cycle)"
    if [ "$(grubenv_alternative)" != "$running" ] || [ "$cycle" != stable ]; then
        fail "$GRUBENV: boot_alternative=${alternative:-(unset)} boot_cycle=${cycle:-(unset)} while slot $running runs: an upgrade needs the running slot confirmed (stable); let the present boot confirm itself (manageboot.sh confirm) first"
    fi
}

# One small member from the head of FILE: tar stops reading once it has it, so a foreign image is
# refused without reading on (and zstd's broken pipe then is no error). -O writes a regular
# member's bytes only (a link member gives nothing).
read_head_member() {
    { zstd -dcq -- "$1" 2>/dev/null || true; } | tar -xO --occurrence=1 "$2" 2>/dev/null | head -c "$MANIFEST_MAX_BYTES" || true
}

# The bytes of hex text, without xxd (not in every image).
hex_to_bytes() {
    printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"
}

# Line N of a minisign file, base64-decoded, as hex ("" when it is not base64).
minisign_line_hex() {
    sed -n "$2p" "$1" | tr -d '\r' | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n' || true
}

# A key id as minisign prints it: the 8 bytes as a little-endian number, upper-case hex.
key_id_text() {
    sed 's/../& /g' <<<"$1" | tr ' ' '\n' | grep . | tac | tr -d '\n' | tr a-f A-F
}

# Checks the minisign signature MANIFEST.TXT.minisig of the manifest in $dir/manifest against
# UPGRADE_KEY: the prehashed form (Ed25519 over BLAKE2b-512), the key id, and the global signature
# over the trusted comment, as `minisign -V` does. OpenSSL 3 checks the Ed25519 signatures.
verify_manifest_signature() {
    local file="$1" dir="$2" key sig signer trusted global
    [ -n "${UPGRADE_KEY:-}" ] || fail "$CONF: no UPGRADE_KEY: this node cannot check an upgrade image's signature"
    [ -r "$UPGRADE_KEY" ] || fail "$UPGRADE_KEY: no upgrade key: this node cannot check an upgrade image's signature"
    read_head_member "$file" MANIFEST.TXT.minisig >"$dir/minisig"
    [ -s "$dir/minisig" ] || fail "$file: no MANIFEST.TXT.minisig: an unsigned upgrade image: refused"
    key="$(minisign_line_hex "$UPGRADE_KEY" 2)"
    [[ "$key" =~ ^4564[0-9a-f]{80}$ ]] || fail "$UPGRADE_KEY: line 2: not an Ed25519 minisign public key"
    sig="$(minisign_line_hex "$dir/minisig" 2)"
    [[ "$sig" =~ ^4544[0-9a-f]{144}$ ]] ||
        fail "$file: MANIFEST.TXT.minisig: line 2: not a prehashed (ED) Ed25519 minisign signature: refused"
    signer="${sig:4:16}"
    [ "$signer" = "${key:4:16}" ] ||
        fail "$file: signed by key $(key_id_text "$signer"), not by this node's upgrade key $(key_id_text "${key:4:16}") ($UPGRADE_KEY): refused"
    hex_to_bytes "$ED25519_SPKI_PREFIX${key:20:64}" >"$dir/key.der"
    hex_to_bytes "${sig:20:128}" >"$dir/signature"
    openssl dgst -blake2b512 -binary "$dir/manifest" >"$dir/digest"
    openssl pkeyutl -verify -pubin -keyform DER -inkey "$dir/key.der" -rawin -in "$dir/digest" -sigfile "$dir/signature" >/dev/null 2>&1 ||
        fail "$file: MANIFEST.TXT does not match its signature by key $(key_id_text "$signer") (changed since signing): refused"
    trusted="$(sed -n '3s/^trusted comment: //p' "$dir/minisig" | tr -d '\r')"
    global="$(minisign_line_hex "$dir/minisig" 4)"
    [[ "$global" =~ ^[0-9a-f]{128}$ ]] || fail "$file: MANIFEST.TXT.minisig: line 4: not a minisign global signature: refused"
    { cat "$dir/signature"; printf '%s' "$trusted"; } >"$dir/comment"
    hex_to_bytes "$global" >"$dir/global"
    openssl pkeyutl -verify -pubin -keyform DER -inkey "$dir/key.der" -rawin -in "$dir/comment" -sigfile "$dir/global" >/dev/null 2>&1 ||
        fail "$file: MANIFEST.TXT.minisig: the trusted comment was changed since signing: refused"
}

manifest_value() {
    sed -n "s/^$1=//p" <<<"$MANIFEST" | tail -n 1
}

# The whole archive, before anything is written: complete (zstd and tar read it to its end),
# exactly the members IC-OS's upgrade images have, and images that fit the target slot.
check_archive() {
    local file="$1" target="$2" listing errors names boot_bytes root_bytes
    errors="$(mktemp)"
    if ! listing="$(zstd -dcq -- "$file" 2>>"$errors" | tar -tv --numeric-owner 2>>"$errors")"; then
        local why
        why="$(tr '\n' ' ' <"$errors")"
        rm -f "$errors"
        fail "$file: not a complete upgrade image (truncated or damaged): ${why% }"
    fi
    rm -f "$errors"
    names="$(awk '{ print $6 }' <<<"$listing" | xargs)"
    [ "$names" = "MANIFEST.TXT MANIFEST.TXT.minisig boot.img root.img VERSION.TXT" ] ||
        fail "$file: members \"$names\": expected MANIFEST.TXT MANIFEST.TXT.minisig boot.img root.img VERSION.TXT"
    boot_bytes="$(awk '$6 == "boot.img" { print $3 }' <<<"$listing")"
    root_bytes="$(awk '$6 == "root.img" { print $3 }' <<<"$listing")"
    [ "$boot_bytes" = "$(manifest_value boot.img.bytes)" ] || fail "$file: boot.img is $boot_bytes bytes, MANIFEST.TXT says $(manifest_value boot.img.bytes)"
    [ "$root_bytes" = "$(manifest_value root.img.bytes)" ] || fail "$file: root.img is $root_bytes bytes, MANIFEST.TXT says $(manifest_value root.img.bytes)"
    local part bytes device
    for part in boot root; do
        bytes="$(manifest_value "$part.img.bytes")"
        device="$(device_of "$target" "$part")"
        [ "$bytes" -le "$(size_of "$device")" ] ||
            fail "$file: $part.img is $bytes bytes, more than the $(size_of "$device") of slot $target's $part ($device)"
    done
}

# Zeroes a slot device, so that the holes of a sparse image read as zeros there.
zero_device() {
    if [ -b "$1" ]; then
        # wipefs first: blkdiscard objects to a device that holds a file system ("Use the -f option
        # to override", seen on a slot upgraded before), and -f would also drop its exclusive open.
        wipefs -aq "$1"
        blkdiscard -z "$1"
    else
        # A regular file stands in for the device (tests): the same zeroed bytes, kept size.
        fallocate --punch-hole --offset 0 --length "$(size_of "$1")" "$1"
    fi
}

# Writes one member of the image into its zeroed device. With the device as its (seekable)
# output, GNU tar seeks over a sparse member's holes instead of writing zeros; --occurrence stops
# it at the member's end, and 1 MiB records (-b 2048) keep the writes few: under emulation each
# system call and each extra pipe costs more than the bytes (a tee to a second tar did).
write_member() {
    local file="$1" member="$2" device="$3" errors="$STATE_DIR/tar.err" statuses
    set +e +o pipefail
    zstd -dcq -- "$file" | tar -b 2048 -xO --occurrence "$member" 1<>"$device" 2>"$errors"
    statuses="${PIPESTATUS[*]}"
    set -e -o pipefail
    # A member that ends in a hole makes tar extend its output with ftruncate, which a block device
    # refuses ("Cannot truncate"): only a warning, and the zeroed device already ends that way.
    grep -v 'Warning: Cannot truncate' "$errors" >&2 || true
    rm -f "$errors"
    # zstd may die of SIGPIPE (141) once tar has its member and stops reading.
    [[ "$statuses" =~ ^(0|141)\ 0$ ]] || fail "$file: writing $member to $device failed (zstd, tar: $statuses)"
}

# The sha256 of the first BYTES of a device; without a pipe when that is all of it.
sha256_of_head() {
    local device="$1" bytes="$2"
    if [ "$bytes" = "$(size_of "$device")" ]; then
        sha256sum <"$device"
    else
        dd if="$device" bs=1M iflag=count_bytes count="$bytes" status=none | sha256sum
    fi | cut -d' ' -f1
}

cmd_upgrade_install() {
    [ $# -eq 1 ] || fail "usage: manageboot.sh upgrade-install FILE"
    local file="$1" running target boot_dev root_dev var_dev boot_sha root_hash boot_args
    [ -f "$file" ] || [ -b "$file" ] || fail "$file: no such upgrade image (expected a file)"
    open_grubenv
    check_running_is_confirmed
    running="$(running_slot)"
    target="$(other_slot "$running")"
    rm -f "$STATE_DIR/installed"

    local checks="$STATE_DIR/signature"
    rm -rf "$checks"
    mkdir -p "$checks"
    read_head_member "$file" MANIFEST.TXT >"$checks/manifest"
    [ -s "$checks/manifest" ] || fail "$file: no MANIFEST.TXT at its head: not an icos upgrade image"
    # Nothing of the manifest is believed before its signature is checked.
    verify_manifest_signature "$file" "$checks"
    MANIFEST="$(cat "$checks/manifest")"
    rm -rf "$checks"
    local os version
    os="$(manifest_value os)"
    version="$(manifest_value version)"
    [ "$os" = "$OS" ] || fail "$file: an upgrade image of ${os:-an unnamed OS}, not of $OS: refused"
    [[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$ ]] || fail "$file: MANIFEST.TXT: version \"$version\" is not a version"
    [[ "$(manifest_value boot.img.sha256)" =~ ^[0-9a-f]{64}$ ]] || fail "$file: MANIFEST.TXT: no boot.img.sha256"
    check_archive "$file" "$target"

    boot_dev="$(device_of "$target" boot)"
    root_dev="$(device_of "$target" root)"
    var_dev="$(device_of "$target" var)"
    echo "manageboot: installing $OS $version into slot $target (running: slot $running)"
    zero_device "$boot_dev"
    zero_device "$root_dev"
    write_member "$file" boot.img "$boot_dev"
    write_member "$file" root.img "$root_dev"
    dd if=/dev/zero of="$var_dev" bs=1M count="$VAR_WIPE_MIB" conv=notrunc status=none
    # fsync of the three only (a global sync would wait for every other disk's writes too).
    sync "$boot_dev" "$root_dev" "$var_dev"

    boot_sha="$(sha256_of_head "$boot_dev" "$(manifest_value boot.img.bytes)")"
    [ "$boot_sha" = "$(manifest_value boot.img.sha256)" ] ||
        fail "slot $target: boot ($boot_dev) reads back with sha256 $boot_sha, MANIFEST.TXT says $(manifest_value boot.img.sha256): not committed"
    boot_args="$(debugfs -R 'cat /boot_args' "$boot_dev" 2>/dev/null)" || fail "slot $target: boot ($boot_dev) has no /boot_args: not committed"
    root_hash="$(sed -n "s/^BOOT_ARGS_$target=.*root_hash=\([0-9a-f]\{64\}\).*/\1/p" <<<"$boot_args")"
    [ -n "$root_hash" ] || fail "slot $target: boot_args names no root_hash for BOOT_ARGS_$target: not committed"
    "$VERITY_CHECK" "$root_dev" "$root_hash" "$HASH_OFFSET" ||
        fail "slot $target: root ($root_dev) does not match the root hash $root_hash of the new boot_args (verity_check failed): not committed"
    mkdir -p "$STATE_DIR"
    echo "$target $version" >"$STATE_DIR/installed"
    echo "manageboot: slot $target holds $OS $version, verified; manageboot.sh upgrade-commit boots it"
}

cmd_upgrade_commit() {
    local reboot=1
    case "${1:-}" in --no-reboot) reboot=0 ;; "") ;; *) fail "usage: manageboot.sh upgrade-commit [--no-reboot]" ;; esac
    open_grubenv
    check_running_is_confirmed
    local target installed
    target="$(other_slot "$(running_slot)")"
    installed="$(cat "$STATE_DIR/installed" 2>/dev/null || true)"
    [ "${installed%% *}" = "$target" ] || fail "no verified upgrade-install of slot $target in this boot: nothing to commit"
    grubenv_set boot_alternative="$target" boot_cycle=first_boot
    echo "manageboot: slot $target (${installed#* }) boots next, once; it must confirm itself or GRUB falls back"
    if [ "$reboot" = 1 ]; then reboot; fi
}

cmd_confirm() {
    open_grubenv
    local running cycle
    running="$(running_slot)"
    cycle="$(grubenv_get boot_cycle)"
    if [ "$(grubenv_alternative)" != "$running" ]; then
        # A committed upgrade waits for its first boot: confirming now would cancel it.
        echo "manageboot: grubenv boots slot $(grubenv_alternative) next ($cycle): slot $running is not confirmed"
    elif [ "$cycle" = stable ]; then
        echo "manageboot: slot $running is already confirmed (stable)"
    else
        grubenv_set boot_alternative="$running" boot_cycle=stable
        echo "manageboot: slot $running confirmed (boot_cycle $cycle -> stable)"
    fi
}

case "${1:-}" in
    current) running_slot ;;
    target) other_slot "$(running_slot)" ;;
    upgrade-install) shift; cmd_upgrade_install "$@" ;;
    upgrade-commit) shift; cmd_upgrade_commit "$@" ;;
    confirm) shift; cmd_confirm "$@" ;;
    *) fail "usage: manageboot.sh current | target | upgrade-install FILE | upgrade-commit [--no-reboot] | confirm" ;;
esac
