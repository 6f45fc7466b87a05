#!/bin/sh
# Reports, on the console and in the journal, which parts of the node configuration SetupOS puts
# on the config volume are missing. HostOS boots without any of them (the firewall then admits
# nothing on IPv6, SSH has no keys, the hostname comes from the first NIC), so this never fails.
set -u
CONFIG=/boot/config

missing=0
report() { # report PATH WHAT
    echo "HostOS: $1 is missing: $2"
    missing=$((missing + 1))
}

[ -f "$CONFIG/config.ini" ] || report "$CONFIG/config.ini" "no IPv6 prefix, so the firewall admits no IPv6 source"
if [ ! -f "$CONFIG/deployment.json" ]; then
    report "$CONFIG/deployment.json" "no deployment name or management MAC (the hostname uses the first NIC's MAC)"
elif ! jq -e 'type == "object" and (.deployment | type == "object")' "$CONFIG/deployment.json" >/dev/null 2>&1; then
    echo "HostOS: $CONFIG/deployment.json is not a JSON object with a \"deployment\" object: it is ignored"
    missing=$((missing + 1))
fi
for user in admin readonly backup; do
    [ -s "$CONFIG/ssh_authorized_keys/$user" ] || report "$CONFIG/ssh_authorized_keys/$user" "no SSH login as $user"
done

if [ "$missing" -eq 0 ]; then
    echo "HostOS: node configuration in $CONFIG is complete"
else
    echo "HostOS: $missing part(s) of the node configuration in $CONFIG missing; booting without them"
fi
exit 0
