/* Stand-in for the IC orchestrator: reports its version, then stays up like the real service.
 * Usage: orchestrator | orchestrator --version */
#include <unistd.h>

#include "version.h"

int main(int argc, char **argv) {
  char version[128];
  read_version(version, sizeof version);
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("orchestrator %s\n", version);
    return 0;
  }
  if (argc > 1) {
    fprintf(stderr, "orchestrator: unknown argument \"%s\"\n", argv[1]);
    return 2;
  }
  printf("orchestrator %s running\n", version);
  fflush(stdout);
  for (;;) pause();
}
