/*
 * alloc N: malloc N MiB, write every byte, say where, then hold the memory
 * until stdin closes. For the live test of `pagelens system`: the memory
 * mapped by processes must grow by about N MiB while this runs.
 *
 * Every byte is written (not just one per page) so that each page is a
 * fresh private anonymous page, never the shared zero page; the value is
 * non-zero for the same reason. It dies with its parent and ends itself
 * after ALLOC_TIMEOUT seconds (default 300), whatever happens to the test.
 *
 * Prints: addr=0x..., bytes=N, READY.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: alloc MIB\n");
    return 2;
  }
  char *end;
  unsigned long mib = strtoul(argv[1], &end, 10);
  if (*end != '\0' || mib == 0) {
    fprintf(stderr, "alloc: %s is not a positive number of MiB\n", argv[1]);
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const char *t = getenv("ALLOC_TIMEOUT");
  alarm(t ? (unsigned)atoi(t) : 300);

  size_t bytes = (size_t)mib << 20;
  char *p = malloc(bytes);
  if (p == NULL) {
    perror("alloc: malloc");
    return 1;
  }
  memset(p, 0x5a, bytes);
  printf("addr=%p\nbytes=%zu\nREADY\n", (void *)p, bytes);
  fflush(stdout);

  char buf[256];
  while (read(0, buf, sizeof buf) > 0) {
  }
  /* Read the memory once more so the compiler cannot drop the memset. */
  unsigned long sum = 0;
  for (size_t i = 0; i < bytes; i += 4096) sum += (unsigned char)p[i];
  free(p);
  return sum == 0 ? 1 : 0;
}
