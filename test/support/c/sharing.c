/* sharing: processes that share memory in known ways, for the live tests of
 * `pagelens libs` and `pagelens shares`.
 *
 * Built twice from this one file:
 *   cc -O2 -o sharing sharing.c -ldl                      the program
 *   cc -O2 -shared -fPIC -DSHARING_LIB -o libX.so sharing.c   the library
 *
 *   sharing lib SOPATH   the parent forks two children; each of the three
 *                        dlopen()s SOPATH and reads one byte of every page of
 *                        every readable mapping of it. Prints
 *                        text_start=ADDR, text_pages=T (the executable PT_LOAD
 *                        segment, page-rounded, from the ELF program headers)
 *                        and vma_pages=V (pages of the readable mappings of
 *                        SOPATH, all touched).
 *   sharing shm N        N pages of MAP_SHARED|MAP_ANONYMOUS memory written by
 *                        the parent, then read by two children: each page
 *                        has three mappers.
 *   sharing cow N        N pages of private anonymous memory (MADV_NOHUGEPAGE,
 *                        between PROT_NONE guard pages so the VMA is exactly
 *                        the region) written by the parent, which then forks
 *                        two children that never write: each page is mapped
 *                        copy-on-write by three processes.
 *
 * Every mode prints key=value lines (child=PID per child, addresses in 0x
 * hex), then READY once the children have finished touching, then blocks
 * reading stdin. On EOF (or SIGTERM/SIGINT/SIGHUP, or after
 * SHARING_TIMEOUT seconds, default 300) it kills its children and exits.
 * Children die with the parent (PR_SET_PDEATHSIG).
 */
#ifdef SHARING_LIB

/* 40 pages of code-segment bytes, so the executable mapping is large and
 * known: the test expects every one of its pages to be mapped three times. */
__asm__(".text\n.balign 4096\n.globl sharing_lib_text\nsharing_lib_text:\n.fill 40*4096, 1, 0xc3\n");

int sharing_lib_answer(void) { return 42; }

#else

#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static long psz;
static pid_t kids[2];
static int nkids;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void kill_kids(void) {
  for (int i = 0; i < nkids; i++)
    if (kids[i] > 0) kill(kids[i], SIGKILL);
  for (int i = 0; i < nkids; i++)
    if (kids[i] > 0) waitpid(kids[i], NULL, 0);
}

static void on_signal(int sig) {
  (void)sig;
  kill_kids();
  _exit(0);
}

/* Fork a child that runs fn(arg), then tells the parent through a pipe and waits to be killed. */
static void spawn(void (*fn)(void *), void *arg) {
  int fds[2];
  if (pipe(fds) != 0) die("pipe");
  pid_t parent = getpid();
  pid_t p = fork();
  if (p < 0) die("fork");
  if (p == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    close(fds[0]);
    signal(SIGTERM, SIG_DFL);
    fn(arg);
    char c = 1;
    if (write(fds[1], &c, 1) != 1) _exit(3);
    for (;;) pause();
  }
  close(fds[1]);
  char c;
  if (read(fds[0], &c, 1) != 1) die("child did not finish");
  close(fds[0]);
  kids[nkids++] = p;
}

static void read_pages(const volatile char *p, size_t n) {
  char sink = 0;
  for (size_t i = 0; i < n; i++) sink += p[i * (size_t)psz];
  (void)sink;
}

/* ---- lib ---- */
static const char *so_path;
static uintptr_t text_start;
static size_t text_pages;

static int find_text(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  if (strcmp(info->dlpi_name, so_path) != 0) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(psz - 1);
    uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + psz - 1) & ~(uintptr_t)(psz - 1);
    text_start = start;
    text_pages = (end - start) / (size_t)psz;
    return 1;
  }
  return 0;
}

/* Load the library and read every page of its readable mappings; returns the number of pages read. */
static size_t load_and_touch(void) {
  void *h = dlopen(so_path, RTLD_NOW);
  if (!h) {
    fprintf(stderr, "dlopen %s: %s\n", so_path, dlerror());
    exit(1);
  }
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) die("/proc/self/maps");
  char line[4096];
  size_t pages = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char perms[5];
    int name_at = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &s, &e, perms, &name_at) < 3 || name_at == 0) continue;
    char *name = line + name_at;
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, so_path) != 0 || perms[0] != 'r') continue;
    read_pages((const char *)s, (e - s) / (size_t)psz);
    pages += (e - s) / (size_t)psz;
  }
  fclose(f);
  return pages;
}

static void lib_child(void *arg) {
  (void)arg;
  load_and_touch();
}

static void mode_lib(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: sharing lib SOPATH\n");
    exit(2);
  }
  so_path = argv[2];
  spawn(lib_child, NULL);
  spawn(lib_child, NULL);
  size_t pages = load_and_touch();
  dl_iterate_phdr(find_text, NULL);
  if (text_pages == 0) {
    fprintf(stderr, "no executable segment found in %s\n", so_path);
    exit(1);
  }
  printf("text_start=0x%lx\ntext_pages=%zu\nvma_pages=%zu\n", (unsigned long)text_start, text_pages, pages);
}

/* ---- shm ---- */
struct region {
  char *p;
  size_t n;
};

static void shm_child(void *arg) {
  struct region *r = arg;
  read_pages(r->p, r->n);
}

static void mode_shm(size_t n) {
  char *p = mmap(NULL, n * (size_t)psz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  for (size_t i = 0; i < n; i++) p[i * (size_t)psz] = (char)(i | 1);
  struct region r = {p, n};
  spawn(shm_child, &r);
  spawn(shm_child, &r);
  printf("addr=%p\npages=%zu\n", (void *)p, n);
}

/* ---- cow ---- */
static void cow_child(void *arg) {
  (void)arg; /* never writes: every page stays shared copy-on-write */
}

static void mode_cow(size_t n) {
  size_t bytes = n * (size_t)psz;
  char *base = mmap(NULL, bytes + 2 * (size_t)psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) die("mmap");
  char *p = base + psz;
  if (mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) die("mprotect");
  madvise(p, bytes, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < n; i++) p[i * (size_t)psz] = (char)(i | 1);
  spawn(cow_child, NULL);
  spawn(cow_child, NULL);
  printf("addr=%p\npages=%zu\n", (void *)p, n);
}

int main(int argc, char **argv) {
  psz = sysconf(_SC_PAGESIZE);
  if (argc < 2) {
    fprintf(stderr, "usage: sharing lib SOPATH | shm N | cow N\n");
    return 2;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGHUP, on_signal);
  signal(SIGALRM, on_signal);
  const char *t = getenv("SHARING_TIMEOUT");
  alarm(t ? (unsigned)atoi(t) : 300);
  const char *mode = argv[1];
  size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0;
  if (strcmp(mode, "lib") == 0) mode_lib(argc, argv);
  else if (strcmp(mode, "shm") == 0 && n > 0) mode_shm(n);
  else if (strcmp(mode, "cow") == 0 && n > 0) mode_cow(n);
  else {
    fprintf(stderr, "sharing: bad mode or size: %s\n", mode);
    return 2;
  }
  for (int i = 0; i < nkids; i++) printf("child=%d\n", (int)kids[i]);
  printf("READY\n");
  fflush(stdout);
  char buf[256];
  while (read(0, buf, sizeof buf) > 0) {
  }
  kill_kids();
  return 0;
}

#endif
