/* A tiny native binary injected late into the example and GuestOS dev root images. */
#include <stdio.h>

#define HELLO_MESSAGE "icos-hello 1"

int main(void) {
  puts(HELLO_MESSAGE);
  return 0;
}
