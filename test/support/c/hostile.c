/*
 * A process with hostile names, for the terminal-safety test:
 *   hostile DIR COMM
 * sets its comm to COMM (prctl PR_SET_NAME: any bytes, 15 at most), creates
 * in DIR a file whose name holds a newline, an escape sequence and a bidi
 * override, maps it shared and touches it, writes some private memory,
 * forks one child that shares both (the child keeps the same comm and dies
 * with its parent), mlocks everything (a DAMON monitor may page out idle
 * memory), prints both pids, then READY, and sleeps until killed (at most
 * an hour). The file's name is fixed: the caller knows it.
 * The argv[0] it is started with is the caller's business (exec -a).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define FILE_PAGES 4
#define ANON_PAGES 8

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: hostile DIR COMM\n"); return 2; }
  if (prctl(PR_SET_NAME, argv[2], 0, 0, 0) != 0) { perror("prctl"); return 1; }
  char path[4096];
  snprintf(path, sizeof path, "%s/lib\n\033[2J\033]0;pwned\007\xe2\x80\xae" "os.so", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 1; }
  long page = sysconf(_SC_PAGESIZE);
  char *buf = malloc(page);
  memset(buf, 'x', page);
  for (int i = 0; i < FILE_PAGES; i++)
    if (write(fd, buf, page) != page) { perror("write"); return 1; }
  char *f = mmap(NULL, FILE_PAGES * page, PROT_READ, MAP_SHARED, fd, 0);
  char *a = mmap(NULL, ANON_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (f == MAP_FAILED || a == MAP_FAILED) { perror("mmap"); return 1; }
  volatile char sink = 0;
  for (int i = 0; i < FILE_PAGES; i++) sink += f[i * page];
  memset(a, 7, ANON_PAGES * page);
  mlockall(MCL_CURRENT);
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    mlockall(MCL_CURRENT);
    sleep(3600);
    _exit(0);
  }
  printf("%d\n%d\nREADY\n", (int)getpid(), (int)child);
  fflush(stdout);
  sleep(3600);
  return 0;
}
