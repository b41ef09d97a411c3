/* pagelens bench: one process holding a huge, almost empty reservation, as V8,
 * Go, the JVM and sanitizers make them.
 * usage: sparse-reserve GIB PAGES [SECONDS]
 * Maps GIB GiB of MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE memory (no
 * commitment: the kernel only reserves address space), writes PAGES pages
 * spread evenly over it and mlocks each, so that exactly PAGES pages are
 * present whatever a memory reclaimer (DAMON) does to idle memory. Prints its
 * own pid, then READY, then waits until stdin is closed or SECONDS pass. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <poll.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s GIB PAGES [SECONDS]\n", argv[0]); return 2; }
  size_t size = (size_t)strtoull(argv[1], NULL, 10) << 30;
  size_t pages = strtoull(argv[2], NULL, 10);
  int secs = argc > 3 ? atoi(argv[3]) : 3600;
  long psz = sysconf(_SC_PAGESIZE);
  if (size == 0 || pages == 0 || pages > size / psz) { fprintf(stderr, "bad size or page count\n"); return 2; }
  char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  /* One 4 KiB page per write, even where THP is "always". */
  madvise(p, size, MADV_NOHUGEPAGE);
  size_t stride = (size / pages) & ~(size_t)(psz - 1);
  for (size_t i = 0; i < pages; i++) {
    char *q = p + i * stride;
    q[0] = (char)(i + 1);
    if (mlock(q, psz) != 0) { perror("mlock"); return 1; }
  }
  printf("%d\nREADY\n", (int)getpid());
  fflush(stdout);
  /* Wait for stdin to close (the bench's stop()) or the lifetime to run out. */
  struct pollfd pfd = { .fd = 0, .events = POLLIN };
  char buf[64];
  for (int left = secs * 1000; left > 0; left -= 1000) {
    int r = poll(&pfd, 1, 1000);
    if (r > 0 && read(0, buf, sizeof buf) <= 0) break;
  }
  return 0;
}
