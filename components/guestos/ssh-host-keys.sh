#!/bin/sh
# Makes the SSH host keys of this machine on first boot: the image is the same for every VM,
# so it must not carry keys of its own.
set -eu
ssh-keygen -A
