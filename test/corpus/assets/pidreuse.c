/* Runs a command under a given pid (as a recycled pid would be), by setting ns_last_pid just below
 * it and forking; retries while other processes take the pid first. Needs root.
 * usage: pidreuse PID CMD [ARGS...] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int want = atoi(argv[1]);
  for (int i = 0; i < 200; i++) {
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!f) { perror("ns_last_pid"); return 1; }
    fprintf(f, "%d", want - 1);
    fclose(f);
    pid_t p = fork();
    if (p == 0) {
      if (getpid() != want) _exit(99);
      execvp(argv[2], argv + 2);
      _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    if (p == want) return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  fprintf(stderr, "pid %d not obtained\n", want);
  return 1;
}
