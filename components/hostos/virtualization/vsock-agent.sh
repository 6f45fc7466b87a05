#!/bin/sh
# The VSOCK host agent: socat listens on the VSOCK port and hands each connection to
# `icos-runtime.mjs vsock-agent --stdio` (socat passes the peer's CID in SOCAT_PEERADDR); the agent
# answers only the guest VM's CID (from the VM description) and logs every request to the journal.
set -eu
VM=/opt/ic/share/guestos-vm.json
PORT=19090
cid="$(jq -r .vsockCid "$VM")"
echo "vsock-agent: listening on VSOCK port $PORT for CID $cid"
# A client shuts its sending side after the request; socat would close the connection 0.5 s later
# (its default -t), before the agent (a node process) has answered: -t waits for the answer, -T
# ends a connection idle that long. Under emulation, while the GuestOS VM starts, the agent once
# took over 30 s to start and answer.
exec socat -t 120 -T 180 "VSOCK-LISTEN:$PORT,reuseaddr,fork" \
    "EXEC:node /opt/ic/bin/icos-runtime.mjs vsock-agent --stdio --guest-cid $cid --version-file /opt/ic/share/version.txt"
