"""Public API of the icos Bazel rules. Load everything from here:

    load("//bazel:defs.bzl", "icos_build")

Most users call `icos_build` once per environment package (envs/<os>/<env>/BUILD.bazel): it walks
the OS's layout (envs/<os>/os.json resolved against its tables, from @icos_oses). The rules are
public for custom images.
"""

load("//bazel/private:boot_args.bzl", _icos_boot_args = "icos_boot_args")
load("//bazel/private:build_macro.bzl", _icos_build = "icos_build")
load("//bazel/private:bundle.bzl", _icos_bundle = "icos_bundle")
load("//bazel/private:container_rootfs.bzl", _icos_container_rootfs = "icos_container_rootfs")
load("//bazel/private:disk.bzl", _icos_disk_image = "icos_disk_image")
load("//bazel/private:ext4.bzl", _icos_ext4_image = "icos_ext4_image")
load("//bazel/private:ext4_inject.bzl", _icos_ext4_inject = "icos_ext4_inject")
load("//bazel/private:grub_loader.bzl", _icos_grub_loader = "icos_grub_loader")
load("//bazel/private:grub_signed.bzl", _icos_grub_signed_image = "icos_grub_signed_image")
load("//bazel/private:layout_file.bzl", _icos_layout_file = "icos_layout_file")
load("//bazel/private:launch.bzl", _icos_launch = "icos_launch")
load("//bazel/private:lvm.bzl", _icos_lvm_image = "icos_lvm_image")
load("//bazel/private:minisign_public_key.bzl", _icos_minisign_public_key = "icos_minisign_public_key")
load("//bazel/private:ovmf_vars.bzl", _icos_ovmf_vars = "icos_ovmf_vars")
load("//bazel/private:providers.bzl", _IcosToolInfo = "IcosToolInfo", _PackedImageInfo = "PackedImageInfo")
load("//bazel/private:release_signature.bzl", _icos_release_signature = "icos_release_signature")
load("//bazel/private:sha256.bzl", _icos_sha256 = "icos_sha256")
load("//bazel/private:tool.bzl", _icos_tool = "icos_tool")
load("//bazel/private:upgrade_image.bzl", _icos_upgrade_image = "icos_upgrade_image")
load("//bazel/private:verity.bzl", _icos_verity_image = "icos_verity_image")
load("//bazel/private:version_file.bzl", _icos_version_file = "icos_version_file")
load("//bazel/private:vfat.bzl", _icos_vfat_image = "icos_vfat_image")
load("//bazel/private:vitest.bzl", _icos_vitest_tests = "icos_vitest_tests")

icos_boot_args = _icos_boot_args
icos_build = _icos_build
icos_bundle = _icos_bundle
icos_container_rootfs = _icos_container_rootfs
icos_disk_image = _icos_disk_image
icos_ext4_image = _icos_ext4_image
icos_ext4_inject = _icos_ext4_inject
icos_grub_loader = _icos_grub_loader
icos_grub_signed_image = _icos_grub_signed_image
icos_layout_file = _icos_layout_file
icos_launch = _icos_launch
icos_lvm_image = _icos_lvm_image
icos_minisign_public_key = _icos_minisign_public_key
icos_ovmf_vars = _icos_ovmf_vars
icos_release_signature = _icos_release_signature
icos_sha256 = _icos_sha256
icos_tool = _icos_tool
icos_upgrade_image = _icos_upgrade_image
icos_verity_image = _icos_verity_image
icos_version_file = _icos_version_file
icos_vfat_image = _icos_vfat_image
icos_vitest_tests = _icos_vitest_tests

IcosToolInfo = _IcosToolInfo
PackedImageInfo = _PackedImageInfo
