/* A stand-in health check for the kernel tests: exits with the number held
 * in a file, so a test steers keepalived's MISC_CHECK and ldirectord's
 * external check by writing files.
 *
 *   check_exit FILE                  exit code from FILE
 *   check_exit VIP VPORT RIP RPORT   exit code from DIR/RIP:RPORT
 *   check_exit [--dynamic] [--state F] --vs VS --node NODE
 *                                    exit code from DIR/VS/NODE
 *
 * DIR is /run/mpp-test/exit. The last two forms are mpp-check's, so the
 * generated configs (keepalived/examples) run unchanged with this program
 * installed as /usr/sbin/mpp-check.
 *
 * A missing or unreadable file exits 1 (down). The word "abort" makes it
 * die by SIGABRT, to observe how the caller counts a crashed check.
 * Built static so the guest needs no libraries for it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_DIR "/run/mpp-test/exit"

int main(int argc, char **argv) {
  char path[512];
  const char *vs = NULL, *node = NULL;
  for (int i = 1; i + 1 < argc; ++i) {
    if (strcmp(argv[i], "--vs") == 0) vs = argv[++i];
    else if (strcmp(argv[i], "--node") == 0) node = argv[++i];
  }
  if (vs != NULL && node != NULL) {
    snprintf(path, sizeof path, "%s/%s/%s", EXIT_DIR, vs, node);
  } else if (argc == 2) {
    snprintf(path, sizeof path, "%s", argv[1]);
  } else if (argc == 5) {
    snprintf(path, sizeof path, "%s/%s:%s", EXIT_DIR, argv[3], argv[4]);
  } else {
    fputs("usage: check_exit FILE | VIP VPORT RIP RPORT | --vs VS --node NODE\n", stderr);
    return 1;
  }
  FILE *f = fopen(path, "r");
  if (f == NULL) return 1;
  char buf[32] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  if (strncmp(buf, "abort", 5) == 0) abort();
  char *end;
  long code = strtol(buf, &end, 10);
  if (end == buf || code < 0 || code > 255) return 1;
  return (int)code;
}
