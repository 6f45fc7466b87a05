/* The version a stand-in reports: /opt/ic/share/version.txt of the image (late-injected beside
 * the binaries), or "unknown" when the file is missing. */
#ifndef GUESTOS_STAND_IN_VERSION_H
#define GUESTOS_STAND_IN_VERSION_H

#include <stdio.h>
#include <string.h>

#define VERSION_FILE "/opt/ic/share/version.txt"

static void read_version(char *out, size_t size) {
  FILE *file = fopen(VERSION_FILE, "r");
  snprintf(out, size, "unknown");
  if (file == NULL) return;
  if (fgets(out, (int)size, file) == NULL) snprintf(out, size, "unknown");
  out[strcspn(out, "\r\n")] = '\0';
  fclose(file);
}

#endif
