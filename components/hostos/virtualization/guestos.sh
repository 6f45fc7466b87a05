#!/bin/sh
# The GuestOS VM's lifecycle under guestos.service, reported on the console and in the journal.
#   run   define the domain generate-guestos-config wrote and start it, then watch it: when it is
#         neither running nor paused (an operator's `virsh suspend`), exit 1 so systemd starts it
#         again (Restart=always).
#   stop  shut it down gracefully (ACPI power button), waiting up to STOP_TIMEOUT seconds, then
#         force it off: HostOS stops this unit before it reboots or powers off.
set -eu
# The domain's name is the VM description's (icos guest-vm writes /run/ic-node/<name>.xml).
NAME="$(jq -r .name /opt/ic/share/guestos-vm.json)"
DOMAIN=/run/ic-node/$NAME.xml
STOP_TIMEOUT=${STOP_TIMEOUT:-120}
export LIBVIRT_DEFAULT_URI=qemu:///system

# The domain's state (running, paused, shut off, ...), or "undefined" when libvirt does not know it.
state() {
    current="$(virsh domstate "$NAME" 2>/dev/null | head -n 1)" || true
    echo "${current:-undefined}"
}

# Running or paused: the VM exists and holds its memory; starting it again would fail.
alive() {
    case "$(state)" in running | paused) return 0 ;; *) return 1 ;; esac
}

case "${1:-}" in
    run)
        if [ ! -f "$DOMAIN" ]; then
            echo "guestos: $DOMAIN does not exist (no node config?): nothing to run"
            # Not a failure to restart from: wait until the unit is stopped.
            exec sleep infinity
        fi
        virsh define "$DOMAIN" >/dev/null
        if ! alive; then
            virsh start "$NAME" >/dev/null
        fi
        echo "guestos: VM $NAME defined from $DOMAIN and $(state)"
        while alive; do
            sleep 5
        done
        echo "guestos: VM $NAME is $(state): restarting it"
        exit 1
        ;;
    stop)
        current="$(state)"
        if [ "$current" = "paused" ]; then
            # A paused guest cannot answer the power button.
            echo "guestos: VM $NAME is paused: forcing it off"
            virsh destroy "$NAME" >/dev/null || true
            exit 0
        fi
        if [ "$current" != "running" ]; then
            echo "guestos: VM $NAME is $current: nothing to shut down"
            exit 0
        fi
        echo "guestos: shutting VM $NAME down (up to $STOP_TIMEOUT s)"
        virsh shutdown "$NAME" >/dev/null || true
        waited=0
        while [ "$(state)" = "running" ] && [ "$waited" -lt "$STOP_TIMEOUT" ]; do
            sleep 1
            waited=$((waited + 1))
        done
        if [ "$(state)" = "running" ]; then
            echo "guestos: VM $NAME did not shut down in $STOP_TIMEOUT s: forcing it off"
            virsh destroy "$NAME" >/dev/null || true
        else
            echo "guestos: VM $NAME shut down after $waited s"
        fi
        ;;
    *)
        echo "usage: guestos.sh run|stop" >&2
        exit 2
        ;;
esac
