/* memscenario: processes with exactly known memory, for pagelens's live tests
 * and benchmarks.
 *
 *   memscenario MODE ARGS...
 *
 * Every mode builds its memory, prints `key=value` lines (pids in decimal,
 * addresses as 0x-prefixed hex, sizes in bytes or pages as named), then a
 * line `READY`, and then blocks reading stdin. On stdin EOF, SIGTERM, SIGINT,
 * SIGHUP or SIGALRM it kills its own children and exits. Children ask the
 * kernel to kill them when the parent dies (PR_SET_PDEATHSIG), so nothing is
 * left behind even if the parent is killed with SIGKILL.
 * MEMSCENARIO_TIMEOUT=SECONDS (environment) ends the program after that long.
 *
 * Modes (N, M pages; MIB mebibytes):
 *   workload NPROC PRIVATE_MIB SHARED_MIB [SECONDS]
 *       same semantics as bench/workload.c: the parent maps SHARED_MIB of
 *       MAP_SHARED|MAP_ANONYMOUS memory and writes it, forks NPROC children;
 *       each child writes PRIVATE_MIB of private anonymous memory
 *       (MADV_NOHUGEPAGE) and reads every shared page. Prints child=PID per
 *       child (plus shared=ADDR and private.PID=ADDR); READY only once every
 *       child has finished touching. SECONDS, if given, ends it after that long.
 *   private N      N private anonymous pages written (MADV_NOHUGEPAGE).
 *   cow N [M]      N pages written, then fork; the child rewrites the first M.
 *   shared3 N      N pages of MAP_SHARED|MAP_ANONYMOUS written by the parent
 *                  and read by two children: three mappers.
 *   thp MIB [fork] MIB (a multiple of 2) of MADV_HUGEPAGE memory, 2 MiB
 *                  aligned, written. With `fork`: fork, and the child unmaps
 *                  the first 4 KiB page of the first 2 MiB.
 *   zero N         N private anonymous pages only read: zero-page PTEs.
 *   hugezero MIB   MIB of MADV_HUGEPAGE memory only read: huge zero pages.
 *   pageout N [fork [K]]  N pages written, then MADV_PAGEOUT (needs swap); prints
 *                  swapped=K, the number of swap entries pagemap then shows.
 *                  With `fork`, K children (default 1) then inherit the swap
 *                  entries: every slot is referenced by 1 + K page tables.
 *   hugetlb [shared]  one 2 MiB MAP_HUGETLB page, written (needs
 *                  nr_hugepages). With `shared`: MAP_SHARED, and a child
 *                  maps it too.
 *   file PATH N    the first N pages of file PATH mapped twice, MAP_SHARED
 *                  and MAP_PRIVATE, both read: each page cache page has map
 *                  count 2 within one process (shared=ADDR, private=ADDR).
 *   guard N M      N pages written, then MADV_GUARD_INSTALL on the first M
 *                  (Linux 6.13+; prints guard_supported=0 if refused).
 *   vmas N         N one-page private VMAs, each written, separated by
 *                  PROT_NONE pages (first=ADDR, stride=BYTES).
 *   ksm N          N identical pages, MADV_MERGEABLE (KSM merges them once
 *                  /sys/kernel/mm/ksm/run is 1).
 *   sparse GIB     built to break a reader that skips what looks empty
 *                  (PAGEMAP_SCAN): a GIB GiB MAP_NORESERVE reservation,
 *                  2 MiB aligned, holding its first and last pages, pages on
 *                  either side of 2 MiB and 1 GiB boundaries, 6000 pages two
 *                  apart (more regions than one ioctl call returns), 200
 *                  pages spread over all of it, a PMD-mapped THP, 16 read-only
 *                  zero pages and 8 guard pages; all locked on fault
 *                  (MLOCK_ONFAULT) so nothing moves between two reads. Also
 *                  64 pages paged out (if swap is on) in a mapping of their
 *                  own (out=ADDR), and an 8 GiB reservation with 5 pages
 *                  written before it was made PROT_NONE (none=ADDR, a
 *                  V8-style cage). Prints addr=, bytes=, pages= (pages
 *                  written in the reservation, the THP counted 512), thp=.
 *   churn          forks short-lived children without end (each touches a
 *                  few pages, unmaps them and exits within 0.25 s; half
 *                  of them exec /bin/sleep 0.02 or 0.7; about 200 forks a second)
 *                  until stopped; prints forked=K before READY.
 *
 * Private and zero regions are surrounded by PROT_NONE guard pages so the
 * kernel cannot merge them with a neighbouring anonymous mapping: the VMA
 * starting at addr= is exactly the region.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif

#define MIB (1024UL * 1024UL)
#define HPAGE (2UL * MIB)
#define MAX_KIDS 4096

static long psz;
static volatile pid_t kids[MAX_KIDS];
static volatile int nkids;
static pid_t parent_pid;

static void die(const char *what) {
  fprintf(stderr, "memscenario: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Kill every child and leave: async-signal-safe (used from handlers). */
static void finish(int sig) {
  (void)sig;
  if (getpid() != parent_pid) _exit(0);
  for (int i = 0; i < nkids; i++)
    if (kids[i] > 0) kill(kids[i], SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  _exit(0);
}

/* Reap children that die on their own (churn, or killed by a test), so they
 * vanish from /proc; forget their pids so finish() never signals a reused pid. */
static void reap(int sig) {
  (void)sig;
  int saved = errno;
  pid_t p;
  while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
    for (int i = 0; i < nkids; i++)
      if (kids[i] == p) kids[i] = 0;
  errno = saved;
}

static void add_kid(pid_t p) {
  if (nkids < MAX_KIDS) kids[nkids++] = p;
}

/* In a freshly forked child: die with the parent, even if it is SIGKILLed. */
static void child_setup(void) {
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(3);
  if (getppid() != parent_pid) _exit(0); /* the parent died before prctl */
}

/* Fork a child running fn(arg); it reports on `done` when it has built its memory. */
static pid_t spawn(void (*fn)(int done, void *arg), void *arg, int *done_rd) {
  int fds[2];
  if (pipe(fds) != 0) die("pipe");
  fflush(stdout);
  pid_t p = fork();
  if (p < 0) die("fork");
  if (p == 0) {
    child_setup();
    close(fds[0]);
    fn(fds[1], arg);
    for (;;) pause();
  }
  close(fds[1]);
  add_kid(p);
  *done_rd = fds[0];
  return p;
}

/* Wait until the child's pipe delivers `len` bytes (its "done" message). */
static void wait_done(int rd, void *msg, size_t len) {
  char tmp[8];
  if (!msg) msg = tmp, len = 1;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(rd, (char *)msg + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "memscenario: a child died before it was ready\n");
      finish(0);
    }
    got += (size_t)n;
  }
  close(rd);
}

static void send_done(int wr, const void *msg, size_t len) {
  if (!msg) msg = "!", len = 1;
  if (write(wr, msg, len) != (ssize_t)len) _exit(4);
  close(wr);
}

/* N pages of private anonymous memory between two PROT_NONE guard pages. */
static char *guarded(size_t pages) {
  size_t len = (pages + 2) * (size_t)psz;
  char *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) die("mmap");
  char *p = base + psz;
  if (pages && mprotect(p, pages * (size_t)psz, PROT_READ | PROT_WRITE) != 0) die("mprotect");
  if (pages && madvise(p, pages * (size_t)psz, MADV_NOHUGEPAGE) != 0) die("madvise(NOHUGEPAGE)");
  return p;
}

/* `bytes` of private anonymous memory aligned to 2 MiB, nothing else in its VMA. */
static char *aligned_2m(size_t bytes) {
  size_t len = bytes + 2 * HPAGE;
  char *raw = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) die("mmap");
  char *p = (char *)(((uintptr_t)raw + HPAGE + HPAGE - 1) & ~(HPAGE - 1));
  if (mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) die("mprotect");
  return p;
}

static void write_pages(char *p, size_t pages, int seed) {
  for (size_t i = 0; i < pages; i++) {
    char *pg = p + i * (size_t)psz;
    memset(pg, 0x5a, (size_t)psz);
    /* distinct contents per page: nothing for KSM or zswap's same-filled path to fold */
    *(uint64_t *)pg = (uint64_t)i * 2654435761u + (uint64_t)seed;
  }
}

static void read_pages(const char *p, size_t pages) {
  volatile char sink = 0;
  for (size_t i = 0; i < pages; i++) sink += ((volatile const char *)p)[i * (size_t)psz];
  (void)sink;
}

static long arg_long(int argc, char **argv, int i, const char *name) {
  if (i >= argc) {
    fprintf(stderr, "memscenario: missing %s\n", name);
    exit(2);
  }
  char *end;
  errno = 0;
  long v = strtol(argv[i], &end, 10);
  if (errno || *end || v < 0) {
    fprintf(stderr, "memscenario: bad %s: %s\n", name, argv[i]);
    exit(2);
  }
  return v;
}

/* ---- workload ---- */
struct workload_arg {
  size_t priv;
  const char *sh;
  size_t shared;
  int index;
};

static void workload_child(int done, void *a) {
  struct workload_arg *w = a;
  uintptr_t addr = 0;
  if (w->priv) {
    char *pv = mmap(NULL, w->priv, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pv == MAP_FAILED) _exit(1);
    madvise(pv, w->priv, MADV_NOHUGEPAGE);
    memset(pv, w->index + 2, w->priv);
    addr = (uintptr_t)pv;
  }
  read_pages(w->sh, w->shared / (size_t)psz);
  send_done(done, &addr, sizeof addr);
}

static void mode_workload(int argc, char **argv) {
  long n = arg_long(argc, argv, 2, "NPROC");
  size_t priv = (size_t)arg_long(argc, argv, 3, "PRIVATE_MIB") * MIB;
  size_t shared = (size_t)arg_long(argc, argv, 4, "SHARED_MIB") * MIB;
  if (argc > 5) alarm((unsigned)arg_long(argc, argv, 5, "SECONDS"));
  if (n > MAX_KIDS) n = MAX_KIDS;
  char *sh = NULL;
  if (shared) {
    sh = mmap(NULL, shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) die("mmap");
    memset(sh, 1, shared);
  }
  printf("shared=%p\nshared_bytes=%zu\nprivate_bytes=%zu\n", (void *)sh, shared, priv);
  int *rd = calloc((size_t)n, sizeof *rd);
  pid_t *pids = calloc((size_t)n, sizeof *pids);
  struct workload_arg *args = calloc((size_t)n, sizeof *args);
  for (long i = 0; i < n; i++) {
    args[i] = (struct workload_arg){priv, sh, shared, (int)i};
    pids[i] = spawn(workload_child, &args[i], &rd[i]);
    printf("child=%d\n", pids[i]);
  }
  for (long i = 0; i < n; i++) {
    uintptr_t addr = 0;
    wait_done(rd[i], &addr, sizeof addr);
    printf("private.%d=0x%lx\n", pids[i], (unsigned long)addr);
  }
}

/* ---- private, zero ---- */
static void mode_private(int argc, char **argv, int write) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_PAGES");
  char *p = guarded(n);
  if (write) write_pages(p, n, 1);
  else read_pages(p, n);
  printf("addr=%p\npages=%zu\n", (void *)p, n);
}

static void mode_hugezero(int argc, char **argv) {
  size_t mib = (size_t)arg_long(argc, argv, 2, "MIB");
  size_t bytes = (mib + 1) / 2 * HPAGE;
  char *p = aligned_2m(bytes);
  if (madvise(p, bytes, MADV_HUGEPAGE) != 0) die("madvise(HUGEPAGE)");
  read_pages(p, bytes / (size_t)psz);
  printf("addr=%p\nbytes=%zu\n", (void *)p, bytes);
}

/* ---- cow ---- */
struct cow_arg {
  char *p;
  size_t m;
};

static void cow_child(int done, void *a) {
  struct cow_arg *c = a;
  write_pages(c->p, c->m, 7);
  send_done(done, NULL, 0);
}

static void mode_cow(int argc, char **argv) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_PAGES");
  size_t m = argc > 3 ? (size_t)arg_long(argc, argv, 3, "WRITE_M") : 0;
  if (m > n) m = n;
  char *p = guarded(n);
  write_pages(p, n, 1);
  struct cow_arg a = {p, m};
  int rd;
  pid_t kid = spawn(cow_child, &a, &rd);
  wait_done(rd, NULL, 0);
  printf("addr=%p\npages=%zu\nwritten=%zu\nchild=%d\n", (void *)p, n, m, kid);
}

/* ---- shared3 ---- */
struct shared_arg {
  char *p;
  size_t n;
};

static void shared_child(int done, void *a) {
  struct shared_arg *s = a;
  read_pages(s->p, s->n);
  send_done(done, NULL, 0);
}

static void mode_shared3(int argc, char **argv) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_PAGES");
  char *p = mmap(NULL, n * (size_t)psz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  write_pages(p, n, 3);
  struct shared_arg a = {p, n};
  int rd1, rd2;
  pid_t k1 = spawn(shared_child, &a, &rd1);
  pid_t k2 = spawn(shared_child, &a, &rd2);
  wait_done(rd1, NULL, 0);
  wait_done(rd2, NULL, 0);
  printf("addr=%p\npages=%zu\nchild=%d\nchild=%d\n", (void *)p, n, k1, k2);
}

/* ---- thp ---- */
static void thp_child(int done, void *a) {
  char *p = a;
  if (munmap(p, (size_t)psz) != 0) _exit(5);
  send_done(done, NULL, 0);
}

static void mode_thp(int argc, char **argv) {
  size_t mib = (size_t)arg_long(argc, argv, 2, "MIB");
  int do_fork = argc > 3 && strcmp(argv[3], "fork") == 0;
  size_t bytes = (mib + 1) / 2 * HPAGE;
  if (bytes == 0) bytes = HPAGE;
  char *p = aligned_2m(bytes);
  if (madvise(p, bytes, MADV_HUGEPAGE) != 0) die("madvise(HUGEPAGE)");
  write_pages(p, bytes / (size_t)psz, 5);
  printf("addr=%p\nbytes=%zu\n", (void *)p, bytes);
  if (do_fork) {
    int rd;
    pid_t kid = spawn(thp_child, p, &rd);
    wait_done(rd, NULL, 0);
    printf("child=%d\nchild_unmapped=%p\n", kid, (void *)p);
  }
}

/* ---- pageout ---- */
static void idle_child(int done, void *a) {
  (void)a;
  send_done(done, NULL, 0);
}

static size_t count_swapped(const char *p, size_t n) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) die("open pagemap");
  uint64_t *e = calloc(n ? n : 1, 8);
  ssize_t got = pread(fd, e, n * 8, (off_t)((uintptr_t)p / (uintptr_t)psz * 8));
  close(fd);
  size_t k = 0;
  for (ssize_t i = 0; i < got / 8; i++)
    if (((e[i] >> 62) & 3) == 1) k++; /* swap bit, not present */
  free(e);
  return k;
}

static void mode_pageout(int argc, char **argv) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_PAGES");
  char *p = guarded(n);
  write_pages(p, n, 11);
  size_t k = 0;
  for (int tries = 0; tries < 50; tries++) {
    if (madvise(p, n * (size_t)psz, MADV_PAGEOUT) != 0) die("madvise(PAGEOUT)");
    k = count_swapped(p, n);
    if (k == n) break;
    usleep(20000);
  }
  printf("addr=%p\npages=%zu\nswapped=%zu\n", (void *)p, n, k);
  if (argc > 3 && strcmp(argv[3], "fork") == 0) {
    /* Each child inherits the swap entries: every slot is then referenced 1 + K times. */
    long nchildren = argc > 4 ? arg_long(argc, argv, 4, "CHILDREN") : 1;
    for (long c = 0; c < nchildren; c++) {
      int rd;
      pid_t kid = spawn(idle_child, NULL, &rd);
      wait_done(rd, NULL, 0);
      printf("child=%d\n", kid);
    }
  }
}

/* ---- vmas ---- */
static void mode_vmas(int argc, char **argv) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_VMAS");
  /* 2N+1 pages PROT_NONE; every odd page becomes its own one-page RW VMA, written. */
  char *base = mmap(NULL, (2 * n + 1) * (size_t)psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) die("mmap");
  for (size_t i = 0; i < n; i++) {
    char *pg = base + (2 * i + 1) * (size_t)psz;
    if (mprotect(pg, (size_t)psz, PROT_READ | PROT_WRITE) != 0) die("mprotect");
    write_pages(pg, 1, (int)i);
  }
  printf("first=%p\nstride=%ld\nvmas=%zu\n", (void *)(base + psz), 2 * psz, n);
}

/* ---- ksm ---- */
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
static void mode_ksm(int argc, char **argv) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_PAGES");
  char *p = guarded(n);
  for (size_t i = 0; i < n; i++) memset(p + i * (size_t)psz, 0x6b, (size_t)psz); /* all identical, not zero */
  if (madvise(p, n * (size_t)psz, MADV_MERGEABLE) != 0) die("madvise(MERGEABLE)");
  printf("addr=%p\npages=%zu\n", (void *)p, n);
}

/* ---- hugetlb ---- */
static void hugetlb_child(int done, void *a) {
  read_pages(a, 1);
  send_done(done, NULL, 0);
}

static void mode_hugetlb(int argc, char **argv) {
  int shared = argc > 2 && strcmp(argv[2], "shared") == 0;
  char *p = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
  if (p == MAP_FAILED) die("mmap(MAP_HUGETLB)");
  memset(p, 0x33, HPAGE);
  printf("addr=%p\nbytes=%lu\n", (void *)p, HPAGE);
  if (shared) {
    int rd;
    pid_t kid = spawn(hugetlb_child, p, &rd);
    wait_done(rd, NULL, 0);
    printf("child=%d\n", kid);
  }
}

/* ---- file ---- */
static void mode_file(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "memscenario: file PATH N_PAGES\n");
    exit(2);
  }
  size_t n = (size_t)arg_long(argc, argv, 3, "N_PAGES");
  int fd = open(argv[2], O_RDONLY);
  if (fd < 0) die("open");
  char *sh = mmap(NULL, n * (size_t)psz, PROT_READ, MAP_SHARED, fd, 0);
  if (sh == MAP_FAILED) die("mmap(file, MAP_SHARED)");
  char *pv = mmap(NULL, n * (size_t)psz, PROT_READ, MAP_PRIVATE, fd, 0);
  if (pv == MAP_FAILED) die("mmap(file, MAP_PRIVATE)");
  close(fd);
  read_pages(sh, n);
  read_pages(pv, n);
  printf("shared=%p\nprivate=%p\npages=%zu\n", (void *)sh, (void *)pv, n);
}

/* ---- guard ---- */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
static void mode_guard(int argc, char **argv) {
  size_t n = (size_t)arg_long(argc, argv, 2, "N_PAGES");
  size_t m = (size_t)arg_long(argc, argv, 3, "GUARD_M");
  if (m > n) m = n;
  char *p = guarded(n);
  write_pages(p, n, 13);
  int ok = madvise(p, m * (size_t)psz, MADV_GUARD_INSTALL) == 0;
  printf("addr=%p\npages=%zu\nguard_pages=%zu\nguard_supported=%d\n", (void *)p, n, ok ? m : 0, ok);
  if (!ok) printf("guard_error=%s\n", strerror(errno));
}

/* ---- sparse ---- */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
static void mode_sparse(int argc, char **argv) {
  size_t gib = (size_t)arg_long(argc, argv, 2, "GIB");
  if (gib < 4) gib = 4;
  size_t len = gib << 30;
  char *raw = mmap(NULL, len + HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) die("mmap(sparse)");
  char *p = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(HPAGE - 1));
  /* Keep exactly [p, p + len): the rest is unmapped, so the VMA is the reservation. */
  if (p > raw) munmap(raw, (size_t)(p - raw));
  if (raw + len + HPAGE > p + len) munmap(p + len, (size_t)(raw + len + HPAGE - (p + len)));
  size_t ps = (size_t)psz, pages = 0;
  madvise(p, len, MADV_NOHUGEPAGE);
  /* A THP: its own 2 MiB-aligned VMA piece with MADV_HUGEPAGE, written whole first
   * (a page faulted in before would keep its block from being PMD-mapped); TOUCH skips its pages. */
  char *thp = p + (2UL << 30);
  madvise(thp, HPAGE, MADV_HUGEPAGE);
  memset(thp, 0x33, HPAGE);
  pages += HPAGE / ps;
#define TOUCH(off) do { size_t o_ = (off); if (o_ < len && p[o_] == 0) { p[o_] = 1; *(uint64_t *)(p + o_ + 8) = o_ * 2654435761u + 7; pages++; } } while (0)
  TOUCH(0);
  TOUCH(len - ps);
  for (size_t b = 1; b < 8; b++) { TOUCH(b * HPAGE - ps); TOUCH(b * HPAGE); }
  for (size_t g = 1; g < gib; g++) { TOUCH((g << 30) - ps); TOUCH(g << 30); TOUCH((g << 30) + ps); }
  char *dense = p + (1UL << 30) + 64 * HPAGE;
  for (size_t i = 0; i < 6000; i++) TOUCH((size_t)(dense - p) + 2 * i * ps);
  for (size_t i = 0; i < 200; i++) TOUCH((len / 200) * i + 5 * ps);
  volatile char sink = 0;
  char *zero = p + (3UL << 30) + 7 * ps;
  for (size_t i = 0; i < 16; i++) sink += zero[i * ps];
  (void)sink;
  char *guard = p + (3UL << 30) + HPAGE;
  int guarded_ok = madvise(guard, 8 * ps, MADV_GUARD_INSTALL) == 0;
  int locked = mlock2(p, len, MLOCK_ONFAULT) == 0;
  /* Paged out (needs swap): a mapping of its own, not locked. */
  char *out = mmap(NULL, 64 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (out == MAP_FAILED) die("mmap(pageout)");
  madvise(out, 64 * ps, MADV_NOHUGEPAGE);
  write_pages(out, 64, 21);
  madvise(out, 64 * ps, MADV_PAGEOUT);
  /* A V8-style cage: written, then PROT_NONE (its pages stay present). */
  size_t nlen = 8UL << 30;
  char *none = mmap(NULL, nlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (none == MAP_FAILED) die("mmap(none)");
  madvise(none, nlen, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < 5; i++) none[(nlen / 5) * i + 3 * ps] = 9;
  mlock2(none, nlen, MLOCK_ONFAULT);
  if (mprotect(none, nlen, PROT_NONE) != 0) die("mprotect(none)");
  printf("addr=%p\nbytes=%zu\npages=%zu\nthp=%p\nguard_supported=%d\nlocked=%d\nout=%p\nnone=%p\n", (void *)p, len, pages, (void *)thp, guarded_ok, locked, (void *)out, (void *)none);
}

/* ---- churn ---- */
static unsigned long forked;

static pid_t churn_one(void) {
  pid_t p = fork();
  if (p < 0) return -1;
  if (p == 0) {
    child_setup();
    if ((getpid() & 1) == 0) {
      execl("/bin/sleep", "sleep", (getpid() & 2) ? "0.02" : "0.7", (char *)NULL);
      _exit(0);
    }
    size_t n = 16 + (size_t)(getpid() % 48);
    char *q = mmap(NULL, n * (size_t)psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q != MAP_FAILED) write_pages(q, n, 9);
    usleep((useconds_t)(getpid() % 7 * 40000)); /* 0 to 240 ms */
    if (q != MAP_FAILED) munmap(q, n * (size_t)psz); /* change the mappings while a scan may be reading them */
    usleep((useconds_t)(getpid() % 5000));
    _exit(0);
  }
  forked++;
  return p;
}

static void mode_churn(void) {
  /* Children are not tracked in kids[]: they exit on their own and are reaped by SIGCHLD. */
  for (int i = 0; i < 8; i++) churn_one();
  printf("forked=%lu\nREADY\n", forked);
  fflush(stdout);
  for (;;) {
    struct pollfd pfd = {0, POLLIN, 0};
    int r = poll(&pfd, 1, 5);
    if (r > 0) {
      char buf[256];
      ssize_t n = read(0, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) finish(0);
    }
    churn_one();
  }
}

int main(int argc, char **argv) {
  psz = sysconf(_SC_PAGESIZE);
  parent_pid = getpid();
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  struct sigaction sa = {0};
  sa.sa_handler = finish;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sc = {0};
  sc.sa_handler = reap;
  sigemptyset(&sc.sa_mask);
  sc.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sc, NULL);
  const char *t = getenv("MEMSCENARIO_TIMEOUT");
  if (t && atoi(t) > 0) alarm((unsigned)atoi(t));
  if (argc < 2) {
    fprintf(stderr, "usage: %s workload|private|cow|shared3|thp|zero|hugezero|pageout|hugetlb|file|guard|ksm|vmas|sparse|churn ARGS...\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  printf("pid=%d\npage_size=%ld\n", getpid(), psz);
  if (strcmp(mode, "workload") == 0) mode_workload(argc, argv);
  else if (strcmp(mode, "private") == 0) mode_private(argc, argv, 1);
  else if (strcmp(mode, "zero") == 0) mode_private(argc, argv, 0);
  else if (strcmp(mode, "hugezero") == 0) mode_hugezero(argc, argv);
  else if (strcmp(mode, "cow") == 0) mode_cow(argc, argv);
  else if (strcmp(mode, "shared3") == 0) mode_shared3(argc, argv);
  else if (strcmp(mode, "thp") == 0) mode_thp(argc, argv);
  else if (strcmp(mode, "pageout") == 0) mode_pageout(argc, argv);
  else if (strcmp(mode, "hugetlb") == 0) mode_hugetlb(argc, argv);
  else if (strcmp(mode, "file") == 0) mode_file(argc, argv);
  else if (strcmp(mode, "sparse") == 0) mode_sparse(argc, argv);
  else if (strcmp(mode, "guard") == 0) mode_guard(argc, argv);
  else if (strcmp(mode, "ksm") == 0) mode_ksm(argc, argv);
  else if (strcmp(mode, "vmas") == 0) mode_vmas(argc, argv);
  else if (strcmp(mode, "churn") == 0) mode_churn();
  else {
    fprintf(stderr, "memscenario: unknown mode %s\n", mode);
    return 2;
  }
  printf("READY\n");
  fflush(stdout);
  /* Block until stdin reaches EOF (or a signal ends us in finish()). */
  char buf[256];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) break;
  }
  finish(0);
  return 0;
}
