#!/bin/sh
# Makes the GuestOS bootloader inside the container build (grub-efi-amd64-bin of the base):
#   /boot/efi/EFI/Boot/bootx64.efi  the EFI image (the ESP's only file)
#   /boot/grub/x86_64-efi/          grub's modules (the grub partition, beside grub.cfg and grubenv)
# grub-mkimage stamps PE images with a fixed time, so the output depends only on the grub
# package and this module list.
set -eu
MODULES="boot linux search normal configfile part_gpt ext2 fat test regexp probe efi_gop all_video
echo read ls cat halt reboot loadenv sleep"

mkdir -p /boot/efi/EFI/Boot /boot/grub
# The prefix is partition 2 (grub) of the disk grub was loaded from: grub.cfg lives there.
grub-mkimage --format=x86_64-efi --prefix='(,gpt{{layout.partitions.grub.number}})/' --output=/boot/efi/EFI/Boot/bootx64.efi $MODULES
rm -rf /boot/grub/x86_64-efi
cp -R /usr/lib/grub/x86_64-efi /boot/grub/x86_64-efi
