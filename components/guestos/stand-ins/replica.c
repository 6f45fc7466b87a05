/* Stand-in for the IC replica: an HTTP server that answers every request with its version.
 * Built with -DMALICIOUS_REPLICA it says so (the dev-malicious image injects that build).
 * Usage: replica [--port N] | replica --version */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "version.h"

#ifdef MALICIOUS_REPLICA
#define FLAVOUR " (malicious behaviour enabled)"
#else
#define FLAVOUR ""
#endif

static int listen_on(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  int off = 0, on = 1;
  struct sockaddr_in6 address = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port)};
  if (fd < 0) return -1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off); /* IPv4 too */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  address.sin6_addr = in6addr_any;
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int main(int argc, char **argv) {
  char version[128], body[256], response[512], request[1024];
  int port = 8080;
  read_version(version, sizeof version);
  snprintf(body, sizeof body, "replica %s%s\n", version, FLAVOUR);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--version") == 0) {
      fputs(body, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else {
      fprintf(stderr, "replica: unknown argument \"%s\"\n", argv[i]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  int server = listen_on(port);
  if (server < 0) {
    perror("replica: cannot listen");
    return 1;
  }
  printf("replica %s%s listening on port %d\n", version, FLAVOUR, port);
  fflush(stdout);
  int length = snprintf(response, sizeof response,
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                        strlen(body), body);
  for (;;) {
    int client = accept(server, NULL, NULL);
    if (client < 0) continue;
    /* One read is enough for a stand-in: the answer does not depend on the request. */
    if (read(client, request, sizeof request) >= 0) {
      if (write(client, response, (size_t)length) < 0) perror("replica: write");
    }
    close(client);
  }
}
