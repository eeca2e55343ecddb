/*
 * storm: the workloads of the overhead benchmarks. Prints the calls per second it achieved, then the
 * user and system CPU seconds the storm's processes (itself and its children) used per call.
 *   storm exec N [PATH]     fork+exec /bin/true (or PATH) N times
 *   storm connect N         N TCP connects to a loopback listener (accepted by a child)
 *   storm ioctl PATH N      N NVIDIA-shaped ioctls (RM_ALLOC with an NVOS21) on PATH
 *   storm fionread N        N FIONREAD ioctls on a pipe (a typical non-GPU ioctl)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static double secs(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

/* CPU seconds used so far by this process and its waited-for children: [0] user, [1] system. */
static void cpu(double out[2]) {
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  out[0] = secs(self.ru_utime) + secs(kids.ru_utime);
  out[1] = secs(self.ru_stime) + secs(kids.ru_stime);
}

static double t0, c0[2];
static void start(void) { cpu(c0); t0 = now(); }
static void report(long n) {
  double t = now() - t0, c1[2];
  cpu(c1);
  printf("%.1f %.9f %.9f\n", n / t, (c1[0] - c0[0]) / n, (c1[1] - c0[1]) / n);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: storm exec|connect N | storm ioctl PATH N\n"); return 2; }
  if (!strcmp(argv[1], "exec")) {
    long n = atol(argv[2]);
    const char *path = argc > 3 ? argv[3] : "/bin/true";
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    start();
    for (long i = 0; i < n; i++) {
      pid_t p = fork();
      if (p == 0) { execl(path, name, (char *)0); _exit(127); }
      waitpid(p, 0, 0);
    }
    report(n);
  } else if (!strcmp(argv[1], "connect")) {
    long n = atol(argv[2]);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 4096);
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    pid_t acceptor = fork();
    if (acceptor == 0) { for (;;) { int c = accept(ls, 0, 0); if (c >= 0) close(c); } }
    start();
    for (long i = 0; i < n; i++) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      connect(s, (struct sockaddr *)&a, sizeof a);
      close(s);
    }
    report(n);
    kill(acceptor, SIGKILL);
    waitpid(acceptor, 0, 0);
  } else if (!strcmp(argv[1], "ioctl") && argc > 3) {
    long n = atol(argv[3]);
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) { perror(argv[2]); return 1; }
    struct { uint32_t hRoot, hParent, hNew, hClass; uint64_t p; uint32_t size, status; } a = { 1, 2, 3, 0xc86f, 0, 0, 0 };
    unsigned long req = _IOC(_IOC_READ | _IOC_WRITE, 'F', 0x2b, sizeof a);
    start();
    for (long i = 0; i < n; i++) ioctl(fd, req, &a);
    report(n);
  } else if (!strcmp(argv[1], "fionread")) {
    long n = atol(argv[2]);
    int fds[2];
    if (pipe(fds)) return 1;
    int avail = 0;
    start();
    for (long i = 0; i < n; i++) ioctl(fds[0], FIONREAD, &avail);
    report(n);
  } else {
    return 2;
  }
  return 0;
}
