/*
 * ptrace-hold <pid>: attaches to a process as its tracer and holds it in a tracing stop until killed.
 * SIGCONT does not end a tracing stop (only the tracer can), so this is a stall the sensor cannot undo
 * by itself; SIGKILL still ends the tracee.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: ptrace-hold <pid>\n"); return 2; }
  pid_t pid = (pid_t)atoi(argv[1]);
  if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) { perror("ptrace(PTRACE_ATTACH)"); return 1; }
  if (waitpid(pid, NULL, __WALL) != pid) { perror("waitpid"); return 1; }
  puts("attached");
  fflush(stdout);
  for (;;) pause();
}
