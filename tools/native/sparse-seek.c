/*
 * lseek(SEEK_DATA / SEEK_HOLE) for Node, which has no binding for it.
 *
 * Why native code: the data map of a 50 GiB image holding 1 GiB must be found
 * without reading 49 GiB of zeros. The map we emit is still defined by content
 * (callers scan every data region for zero blocks); this call only lets them skip
 * regions the filesystem already knows are holes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <unistd.h>

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
    napi_throw_error(env, NULL, "lseek failed");
    return NULL;
  }
  napi_create_int64(env, (int64_t)found, &result);
  return result;
}

static napi_value seek_data(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_DATA); }
static napi_value seek_hole(napi_env env, napi_callback_info info) { return seek(env, info, SEEK_HOLE); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_default, NULL},
      {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
