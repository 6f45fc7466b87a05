/*
 * lseek(SEEK_DATA / SEEK_HOLE) and copy_file_range(2) for Node, which has no binding for them.
 *
 * Why native code: the data map of a 50 GiB image holding 1 GiB must be found
 * without reading 49 GiB of zeros. The map we emit is still defined by content
 * (callers scan every data region for zero blocks); this call only lets them skip
 * regions the filesystem already knows are holes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Throws an Error whose code is errno's name (ENOSPC, EIO, ...), as Node's own fs errors carry,
 * so callers name the cause (a full output file system) instead of a bare "failed". */
static void throw_errno(napi_env env, const char *call) {
  int error = errno;
  char message[160];
  snprintf(message, sizeof message, "%s: %s", call, strerror(error));
  const char *name = strerrorname_np(error);
  napi_throw_error(env, name == NULL ? "EUNKNOWN" : name, message);
}

/* seek(fd, offset, whence) -> next offset, or -1 when there is no more data (ENXIO). */
static napi_value seek(napi_env env, napi_callback_info info, int whence) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  int64_t offset;
  napi_value result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (fd, offset)");
    return NULL;
  }
  off_t found = lseek(fd, (off_t)offset, whence);
  if (found < 0) {
    if (errno == ENXIO) {
      napi_create_int64(env, -1, &result);
      return result;
    }
    throw_errno(env, "lseek");
    return NULL;
  }
  napi_create_int64(env, (int64_t)found, &result);
  return result;
}

/*
 * copyRange(fdIn, offIn, fdOut, offOut, length) -> bytes copied by copy_file_range(2), which stays
 * in the kernel (and can share extents on filesystems that support it). Returns -1 when the
 * kernel or filesystem cannot do it (EXDEV, ENOSYS, EOPNOTSUPP, EINVAL): the caller then copies
 * through user space.
 */
static napi_value copy_range(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd_in, fd_out;
  int64_t off_in, off_out, length;
  napi_value result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd_in) != napi_ok ||
      napi_get_value_int64(env, argv[1], &off_in) != napi_ok ||
      napi_get_value_int32(env, argv[2], &fd_out) != napi_ok ||
      napi_get_value_int64(env, argv[3], &off_out) != napi_ok ||
      napi_get_value_int64(env, argv[4], &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (fdIn, offIn, fdOut, offOut, length)");
    return NULL;
  }
  off64_t in = off_in, out = off_out;
  int64_t done = 0;
  while (done < length) {
    ssize_t copied = copy_file_range(fd_in, &in, fd_out, &out, (size_t)(length - done), 0);
    if (copied < 0) {
      if (errno == EINTR) continue;
      if (done == 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
        napi_create_int64(env, -1, &result);
        return result;
      }
      throw_errno(env, "copy_file_range");
      return NULL;
    }
    if (copied == 0) break; /* end of the source file */
    done += copied;
  }
  napi_create_int64(env, done, &result);
  return result;
}

static napi_value seek_data(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_DATA); }
static napi_value seek_hole(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_HOLE); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_default, NULL},
      {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_default, NULL},
      {"copyRange", NULL, copy_range, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
