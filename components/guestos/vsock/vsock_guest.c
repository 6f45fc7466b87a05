/* vsock_guest: the GuestOS side of the GuestOS -> HostOS VSOCK protocol.
 *
 * Sends one JSON request {"sender_cid": N, "message": M} (plus a newline) to the host agent
 * (CID 2, port 19090), shuts its write side, reads the one-line JSON response and prints its
 * result. Arguments are checked here with the host's rules so a mistake is reported before
 * anything is sent; the host checks everything again and trusts none of it.
 *
 * Plain C99 and Linux headers, no libraries: it is linked statically into the GuestOS image. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define HOST_PORT 19090
#define MAX_REQUEST (64 * 1024)
#define MAX_RESPONSE (64 * 1024)
#define MAX_NOTIFY_CHARS 2048
#define MAX_NOTIFY_COUNT 100
#define TIMEOUT_SECONDS 30

/* Client command names and the JSON message variant each sends (same table as protocol.ts). */
struct command {
  const char *name;
  const char *variant;
  int min_args, max_args;
  const char *args;
};

static const struct command COMMANDS[] = {
    {"get-hostos-version", "GetHostOSVersion", 0, 0, ""},
    {"notify", "Notify", 1, 2, " MESSAGE [COUNT]"},
    {"upgrade", "Upgrade", 2, 2, " URL SHA256"},
    {"start-upgrade-guest-vm", "StartUpgradeGuestVM", 0, 0, ""},
    {"attach-hsm", "AttachHSM", 0, 0, ""},
    {"detach-hsm", "DetachHSM", 0, 0, ""},
};
#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out) {
  fprintf(out,
          "Usage: vsock_guest COMMAND [ARGS]\n"
          "Sends one request to the HostOS agent (VSOCK CID 2, port %d) and prints its answer.\n"
          "\n"
          "Commands:\n"
          "  get-hostos-version      print the HostOS version\n"
          "  notify MESSAGE [COUNT]  write MESSAGE COUNT times (1 to %d, default 1) to the host's journal\n"
          "                          and console; at most %d characters\n"
          "  upgrade URL SHA256      upgrade HostOS from an https:// or http:// URL (SHA256: 64 lower-case hex)\n"
          "  start-upgrade-guest-vm  start the GuestOS upgrade VM\n"
          "  attach-hsm, detach-hsm  attach or detach the host's HSM\n"
          "  --help                  show this text\n"
          "\n"
          "Exit status: 0 answered, 1 refused by the host or connection failed, 2 bad arguments.\n"
          "\n"
          "Loopback transport for tests: when VSOCK_GUEST_UNIX=/path/to/socket is set, the request goes\n"
          "to that Unix socket instead of VSOCK, and the sender CID is taken from VSOCK_GUEST_CID instead\n"
          "of /dev/vsock (IOCTL_VM_SOCKETS_GET_LOCAL_CID).\n",
          HOST_PORT, MAX_NOTIFY_COUNT, MAX_NOTIFY_CHARS);
}

static void fail(int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("vsock_guest: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(status);
}

/* ---- request ---- */

struct buffer {
  char data[MAX_REQUEST + 1];
  size_t length;
  int overflow;
};

static void put_bytes(struct buffer *b, const char *bytes, size_t length) {
  if (length > MAX_REQUEST - b->length) {
    b->overflow = 1;
    return;
  }
  memcpy(b->data + b->length, bytes, length);
  b->length += length;
}

static void put(struct buffer *b, const char *text) { put_bytes(b, text, strlen(text)); }

/* A JSON string: quote, backslash and every control character escaped; UTF-8 passes as is
 * (validated before). */
static void put_json_string(struct buffer *b, const char *text) {
  put(b, "\"");
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    char escape[8];
    switch (*p) {
      case '"': put(b, "\\\""); break;
      case '\\': put(b, "\\\\"); break;
      case '\n': put(b, "\\n"); break;
      case '\r': put(b, "\\r"); break;
      case '\t': put(b, "\\t"); break;
      case '\b': put(b, "\\b"); break;
      case '\f': put(b, "\\f"); break;
      default:
        if (*p < 0x20 || *p == 0x7f) {
          snprintf(escape, sizeof escape, "\\u%04x", *p);
          put(b, escape);
        } else {
          put_bytes(b, (const char *)p, 1);
        }
    }
  }
  put(b, "\"");
}

/* Code points in a UTF-8 string, or -1 when it is not valid UTF-8 (overlong forms, surrogates
 * and values past U+10FFFF included): the host decodes strictly and would refuse it. */
static long utf8_chars(const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  long count = 0;
  while (*p != '\0') {
    unsigned long cp;
    int extra;
    if (*p < 0x80) { cp = *p; extra = 0; }
    else if ((*p & 0xe0) == 0xc0) { cp = *p & 0x1f; extra = 1; }
    else if ((*p & 0xf0) == 0xe0) { cp = *p & 0x0f; extra = 2; }
    else if ((*p & 0xf8) == 0xf0) { cp = *p & 0x07; extra = 3; }
    else return -1;
    p++;
    for (int i = 0; i < extra; i++, p++) {
      if ((*p & 0xc0) != 0x80) return -1;
      cp = (cp << 6) | (*p & 0x3f);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return -1;
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return -1;
    count++;
  }
  return count;
}

/* A whole decimal number in [min, max], or -1. */
static long parse_decimal(const char *text, long min, long max) {
  long value = 0;
  if (*text == '\0' || strlen(text) > 10) return -1;
  for (const char *p = text; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return -1;
    value = value * 10 + (*p - '0');
  }
  return value >= min && value <= max ? value : -1;
}

static int is_sha256(const char *text) {
  size_t i;
  for (i = 0; text[i] != '\0'; i++) {
    if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'))) return 0;
  }
  return i == 64;
}

/* The scheme and something after it, no spaces or control characters; the host parses it fully. */
static int plausible_url(const char *text) {
  size_t skip;
  if (strncasecmp(text, "https://", 8) == 0) skip = 8;
  else if (strncasecmp(text, "http://", 7) == 0) skip = 7;
  else return 0;
  if (text[skip] == '\0') return 0;
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (*p <= 0x20 || *p == 0x7f) return 0;
  }
  return 1;
}

static void build_message(struct buffer *b, const struct command *command, int argc, char **argv) {
  char number[24];
  if (command->max_args == 0) {
    put_json_string(b, command->variant);
  } else if (strcmp(command->variant, "Notify") == 0) {
    long chars = utf8_chars(argv[0]);
    long count = 1;
    if (chars < 0) fail(2, "notify: MESSAGE is not valid UTF-8");
    if (chars > MAX_NOTIFY_CHARS) fail(2, "notify: MESSAGE has %ld characters, more than %d", chars, MAX_NOTIFY_CHARS);
    if (argc == 2 && (count = parse_decimal(argv[1], 1, MAX_NOTIFY_COUNT)) < 0) {
      fail(2, "notify: COUNT \"%s\" must be a whole number from 1 to %d", argv[1], MAX_NOTIFY_COUNT);
    }
    snprintf(number, sizeof number, "%ld", count);
    put(b, "{\"Notify\":{\"message\":");
    put_json_string(b, argv[0]);
    put(b, ",\"count\":");
    put(b, number);
    put(b, "}}");
  } else {
    if (!plausible_url(argv[0])) fail(2, "upgrade: URL \"%s\" must be an https:// or http:// URL", argv[0]);
    if (!is_sha256(argv[1])) fail(2, "upgrade: SHA256 \"%s\" must be 64 lower-case hex digits", argv[1]);
    put(b, "{\"Upgrade\":{\"url\":");
    put_json_string(b, argv[0]);
    put(b, ",\"target_hash\":");
    put_json_string(b, argv[1]);
    put(b, "}}");
  }
}

/* ---- transport ---- */

/* Our CID: from the loopback environment, or asked of the vsock driver. */
static unsigned int local_cid(const char *unix_path) {
  unsigned int cid = 0;
  int fd;
  if (unix_path != NULL) {
    const char *text = getenv("VSOCK_GUEST_CID");
    long value;
    if (text == NULL) fail(2, "VSOCK_GUEST_UNIX is set but VSOCK_GUEST_CID is not: give the CID to send");
    /* parse_decimal is limited to long: CIDs above 2^31 are not needed for tests. */
    if ((value = parse_decimal(text, 0, 0x7fffffffL)) < 0) fail(2, "VSOCK_GUEST_CID \"%s\" is not a CID (decimal)", text);
    return (unsigned int)value;
  }
  fd = open("/dev/vsock", O_RDONLY);
  if (fd < 0) fail(1, "cannot open /dev/vsock to learn this VM's CID: %s", strerror(errno));
  if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0) fail(1, "cannot learn this VM's CID from /dev/vsock: %s", strerror(errno));
  close(fd);
  return cid;
}

static int connect_host(const char *unix_path) {
  struct timeval timeout = {.tv_sec = TIMEOUT_SECONDS, .tv_usec = 0};
  int fd, result;
  if (unix_path != NULL) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(unix_path) >= sizeof address.sun_path) fail(2, "VSOCK_GUEST_UNIX \"%s\": path too long for a Unix socket", unix_path);
    strcpy(address.sun_path, unix_path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    result = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&address, sizeof address);
    if (result != 0) {
      fail(1, "cannot connect to CID %d port %d (loopback Unix socket %s): %s", VMADDR_CID_HOST, HOST_PORT, unix_path, strerror(errno));
    }
  } else {
    struct sockaddr_vm address;
    memset(&address, 0, sizeof address);
    address.svm_family = AF_VSOCK;
    address.svm_cid = VMADDR_CID_HOST;
    address.svm_port = HOST_PORT;
    fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    result = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&address, sizeof address);
    if (result != 0) fail(1, "cannot connect to CID %d port %d: %s", VMADDR_CID_HOST, HOST_PORT, strerror(errno));
  }
  /* A host that never answers must not hang the caller forever. */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

/* Sends everything; returns 0, or the errno of the failure. MSG_NOSIGNAL: a closed peer is an
 * error to report, not a SIGPIPE. */
static int send_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += sent;
    length -= (size_t)sent;
  }
  return 0;
}

/* Reads up to the first newline (or EOF). Returns the line length; exits on errors. A reset after
 * the line arrived does not matter: the host may close without reading the rest. */
static size_t receive_line(int fd, char *line, int send_error) {
  size_t length = 0;
  for (;;) {
    ssize_t got;
    char *newline;
    if (length == MAX_RESPONSE) fail(1, "the response from CID %d port %d is over %d bytes", VMADDR_CID_HOST, HOST_PORT, MAX_RESPONSE);
    got = recv(fd, line + length, MAX_RESPONSE - length, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      fail(1, "no answer from CID %d port %d within %d s", VMADDR_CID_HOST, HOST_PORT, TIMEOUT_SECONDS);
    }
    if (got < 0 && length == 0) {
      fail(1, "cannot %s CID %d port %d: %s", send_error ? "send the request to" : "read the answer from", VMADDR_CID_HOST, HOST_PORT,
           strerror(send_error ? send_error : errno));
    }
    if (got <= 0) break;
    newline = memchr(line + length, '\n', (size_t)got);
    length += (size_t)got;
    if (newline != NULL) return (size_t)(newline - line);
  }
  if (length == 0) {
    if (send_error) fail(1, "cannot send the request to CID %d port %d: %s", VMADDR_CID_HOST, HOST_PORT, strerror(send_error));
    fail(1, "CID %d port %d closed the connection without an answer", VMADDR_CID_HOST, HOST_PORT);
  }
  return length;
}

/* ---- response ---- */

/* The host answers with one flat object of string members: {"status":"ok","result":"..."} or
 * {"status":"refused","reason":"..."}. This scanner reads exactly that shape, strictly. */
struct scanner {
  const char *p, *end;
};

static void skip_space(struct scanner *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n')) s->p++;
}

static int hex4(const char *p, unsigned long *value) {
  *value = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return 0;
    *value = *value * 16 + (unsigned long)digit;
  }
  return 1;
}

static size_t put_utf8(char *out, unsigned long cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xc0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Decodes one JSON string into out (never longer than its encoding, so the caller's buffer of
 * the line's size is enough). Returns 0 on malformed input. */
static int scan_string(struct scanner *s, char *out, size_t *length) {
  size_t n = 0;
  if (s->p >= s->end || *s->p != '"') return 0;
  s->p++;
  while (s->p < s->end && *s->p != '"') {
    unsigned char c = (unsigned char)*s->p++;
    unsigned long cp, low;
    if (c < 0x20) return 0;
    if (c != '\\') { out[n++] = (char)c; continue; }
    if (s->p >= s->end) return 0;
    switch (*s->p++) {
      case '"': out[n++] = '"'; break;
      case '\\': out[n++] = '\\'; break;
      case '/': out[n++] = '/'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u':
        if (s->end - s->p < 4 || !hex4(s->p, &cp)) return 0;
        s->p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' && hex4(s->p + 2, &low) &&
            low >= 0xdc00 && low <= 0xdfff) {
          s->p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
          cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
        }
        n += put_utf8(out + n, cp);
        break;
      default: return 0;
    }
  }
  if (s->p >= s->end) return 0;
  s->p++;
  *length = n;
  return 1;
}

struct response {
  int ok;
  char *text; /* result or reason */
  size_t length;
};

static int parse_response(const char *line, size_t length, struct response *response) {
  struct scanner s = {line, line + length};
  char *key = malloc(length + 1), *value = malloc(length + 1), *status = malloc(length + 1), *text = malloc(length + 1);
  size_t key_length, value_length, status_length = 0, text_length = 0;
  int have_status = 0, have_result = 0, have_reason = 0, good = 0;
  if (key == NULL || value == NULL || status == NULL || text == NULL) fail(1, "out of memory");
  skip_space(&s);
  if (s.p >= s.end || *s.p++ != '{') goto done;
  for (;;) {
    skip_space(&s);
    if (!scan_string(&s, key, &key_length)) goto done;
    skip_space(&s);
    if (s.p >= s.end || *s.p++ != ':') goto done;
    skip_space(&s);
    if (!scan_string(&s, value, &value_length)) goto done;
    if (key_length == 6 && memcmp(key, "status", 6) == 0) {
      memcpy(status, value, value_length);
      status_length = value_length;
      have_status = 1;
    } else if (key_length == 6 && (memcmp(key, "result", 6) == 0 || memcmp(key, "reason", 6) == 0)) {
      if (memcmp(key, "result", 6) == 0) have_result = 1;
      else have_reason = 1;
      memcpy(text, value, value_length);
      text_length = value_length;
    }
    skip_space(&s);
    if (s.p < s.end && *s.p == ',') { s.p++; continue; }
    if (s.p < s.end && *s.p == '}') { s.p++; break; }
    goto done;
  }
  skip_space(&s);
  if (s.p != s.end || !have_status) goto done;
  if (status_length == 2 && memcmp(status, "ok", 2) == 0 && have_result && !have_reason) response->ok = 1;
  else if (status_length == 7 && memcmp(status, "refused", 7) == 0 && have_reason && !have_result) response->ok = 0;
  else goto done;
  response->text = text;
  response->length = text_length;
  text = NULL;
  good = 1;
done:
  free(key);
  free(value);
  free(status);
  free(text);
  return good;
}

int main(int argc, char **argv) {
  static struct buffer request;
  static char line[MAX_RESPONSE];
  const struct command *command = NULL;
  const char *unix_path = getenv("VSOCK_GUEST_UNIX");
  char prefix[64];
  struct response response;
  size_t length;
  int fd, send_error;

  if (argc < 2) {
    usage(stderr);
    fail(2, "missing COMMAND");
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < COMMAND_COUNT; i++) {
    if (strcmp(argv[1], COMMANDS[i].name) == 0) command = &COMMANDS[i];
  }
  if (command == NULL) fail(2, "unknown command \"%s\" (see vsock_guest --help)", argv[1]);
  if (argc - 2 < command->min_args || argc - 2 > command->max_args) {
    fail(2, "%s: expected %s%s, got %d argument%s", command->name, command->name, command->args, argc - 2, argc - 2 == 1 ? "" : "s");
  }
  if (unix_path != NULL && unix_path[0] == '\0') unix_path = NULL;

  /* Everything the user typed is checked before the CID is asked for or anything is sent. */
  static struct buffer message;
  build_message(&message, command, argc - 2, argv + 2);
  snprintf(prefix, sizeof prefix, "{\"sender_cid\":%u,\"message\":", local_cid(unix_path));
  put(&request, prefix);
  put_bytes(&request, message.data, message.length);
  put(&request, "}\n");
  if (message.overflow || request.overflow) fail(2, "%s: arguments too long: a request is at most %d bytes", command->name, MAX_REQUEST);

  fd = connect_host(unix_path);
  send_error = send_all(fd, request.data, request.length);
  shutdown(fd, SHUT_WR);
  /* Even when sending failed the host may have answered (a refusal before reading): show it. */
  length = receive_line(fd, line, send_error);
  close(fd);
  if (!parse_response(line, length, &response)) fail(1, "malformed answer from CID %d port %d", VMADDR_CID_HOST, HOST_PORT);
  if (!response.ok) {
    fputs("vsock_guest: refused: ", stderr);
    fwrite(response.text, 1, response.length, stderr);
    fputc('\n', stderr);
    return 1;
  }
  if (response.length > 0) {
    fwrite(response.text, 1, response.length, stdout);
    fputc('\n', stdout);
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
