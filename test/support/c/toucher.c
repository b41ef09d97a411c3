/*
 * toucher TOTAL HOT PERIOD_MS: map TOTAL private anonymous pages, write and
 * mlock them all (resident, so reclaim and DAMON leave them be), then every
 * PERIOD_MS touch (read and write) exactly the first HOT of them, until
 * stdin closes. For the live test of `pagelens wss`: in any interval longer
 * than PERIOD_MS, exactly HOT pages of the mapping are used and the other
 * TOTAL - HOT are not.
 *
 * The mapping is its own VMA (mmap, with a guard page below it left
 * unmapped), so its per-mapping figure is the buffer's alone. Dies with its
 * parent and ends itself after TOUCHER_TIMEOUT seconds (default 300).
 *
 * Prints: addr=0x..., pages=TOTAL, READY.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: toucher TOTAL_PAGES HOT_PAGES PERIOD_MS\n");
    return 2;
  }
  long total = atol(argv[1]), hot = atol(argv[2]), period = atol(argv[3]);
  if (total <= 0 || hot < 0 || hot > total || period <= 0) {
    fprintf(stderr, "toucher: bad arguments\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const char *t = getenv("TOUCHER_TIMEOUT");
  alarm(t ? (unsigned)atoi(t) : 300);

  long page = sysconf(_SC_PAGESIZE);
  /* One page more, left PROT_NONE below the buffer, so the buffer never merges with a neighbour. */
  char *area = mmap(NULL, (size_t)(total + 1) * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) {
    perror("toucher: mmap");
    return 1;
  }
  volatile char *p = (volatile char *)(area + page);
  if (mprotect((char *)p, (size_t)total * page, PROT_READ | PROT_WRITE) != 0) {
    perror("toucher: mprotect");
    return 1;
  }
  /* No THP: a 2 MiB page would count as 512 used pages for one touch. */
  madvise((char *)p, (size_t)total * page, MADV_NOHUGEPAGE);
  for (long i = 0; i < total; i++) p[i * page] = (char)(i | 1);
  if (mlock((char *)p, (size_t)total * page) != 0) perror("toucher: mlock (continuing)");
  printf("addr=%p\npages=%ld\nREADY\n", (void *)p, total);
  fflush(stdout);

  struct pollfd in = {.fd = 0, .events = POLLIN};
  char buf[256];
  for (;;) {
    for (long i = 0; i < hot; i++) p[i * page] = (char)(p[i * page] + 1);
    int r = poll(&in, 1, (int)period);
    if (r > 0 && read(0, buf, sizeof buf) <= 0) break;
  }
  return 0;
}
