/*
 * vigil-pageout: asks the kernel to reclaim the pages one process holds in the given address ranges,
 * with process_madvise(2) and MADV_PAGEOUT (Linux 5.10 or later; CAP_SYS_NICE and ptrace read access
 * to the target, so root).
 *
 * Why: bpftrace 0.17 compiles its program with LLVM and clang inside the long-running process, and
 * the compiler's text (about 70 MiB of libLLVM and libclang) stays resident for the process's whole
 * life although nothing runs it after the probes attach. Node has no way to make this system call,
 * so the sensor runs this helper once per bpftrace start, on the ranges it picked from
 * /proc/PID/maps. Pages the target touches again fault back in; pages another process also maps are
 * left alone by the kernel.
 *
 * Usage:   vigil-pageout PID START-END [START-END ...]    (hex addresses, as in /proc/PID/maps)
 * Output:  the number of bytes advised, on stdout; errors on stderr, exit status 1 (usage: 2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static int parse_range(const char *s, unsigned long *start, unsigned long *end) {
  char *dash;
  errno = 0;
  *start = strtoul(s, &dash, 16);
  if (errno || dash == s || *dash != '-') return -1;
  char *rest;
  *end = strtoul(dash + 1, &rest, 16);
  if (errno || rest == dash + 1 || *rest != '\0' || *end <= *start) return -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PID START-END [START-END ...]\n", argv[0]);
    return 2;
  }
  char *end;
  long pid = strtol(argv[1], &end, 10);
  if (*end != '\0' || pid <= 0) {
    fprintf(stderr, "vigil-pageout: not a pid: %s\n", argv[1]);
    return 2;
  }
  int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) {
    fprintf(stderr, "vigil-pageout: pidfd_open(%ld): %s\n", pid, strerror(errno));
    return 1;
  }
  unsigned long long advised = 0;
  for (int i = 2; i < argc; i++) {
    unsigned long start, stop;
    if (parse_range(argv[i], &start, &stop) < 0) {
      fprintf(stderr, "vigil-pageout: not a range: %s\n", argv[i]);
      return 2;
    }
    struct iovec range = { .iov_base = (void *)start, .iov_len = stop - start };
    long n = syscall(SYS_process_madvise, fd, &range, 1, MADV_PAGEOUT, 0);
    if (n < 0) {
      /* The mapping went away (the target exited or unmapped it): nothing left to reclaim there. */
      if (errno == ENOMEM || errno == ESRCH) continue;
      fprintf(stderr, "vigil-pageout: process_madvise(%ld, %s): %s\n", pid, argv[i], strerror(errno));
      return 1;
    }
    advised += (unsigned long long)n;
  }
  printf("%llu\n", advised);
  return 0;
}
