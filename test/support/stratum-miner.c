/*
 * A miner stand-in for the ROME chain: run as `NAME -o stratum+tcp://HOST:PORT -u WALLET -p x`, it
 * connects to the pool, logs in (stratum JSON-RPC, one line), reads the answer, closes, waits a second
 * and connects again, five times in all. A pool that counts its connections tells how many it made
 * before something stopped it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *url = NULL, *user = "x";
  for (int i = 1; i + 1 < argc; i++) {
    if (strcmp(argv[i], "-o") == 0) url = argv[i + 1];
    if (strcmp(argv[i], "-u") == 0) user = argv[i + 1];
  }
  if (!url) return 2;
  const char *hp = strstr(url, "://") ? strstr(url, "://") + 3 : url;
  char host[64];
  const char *colon = strrchr(hp, ':');
  if (!colon || colon - hp >= (long)sizeof host) return 2;
  memcpy(host, hp, colon - hp);
  host[colon - hp] = 0;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return 2;
  char line[512];
  snprintf(line, sizeof line,
           "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"%s\",\"pass\":\"x\",\"agent\":\"XMRig/6.21.0\"}}\n",
           user);
  for (int round = 0; round < 5; round++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
      if (write(s, line, strlen(line)) > 0) {
        char reply[1024];
        (void)read(s, reply, sizeof reply);
      }
    }
    if (s >= 0) close(s);
    sleep(1);
  }
  return 0;
}
