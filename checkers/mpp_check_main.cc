// mpp-check: the checker keepalived (MISC_CHECK), ldirectord (external) and
// Nagios run. See checkers/README.md. Started once per real server per
// delay_loop, so it does nothing but read one file and leaves without any
// teardown.
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "checkers/checker.h"
#include "common/state_reader.h"

namespace {

// In .bss: costs nothing until the file is read into it.
char g_state_buf[mpp::kStateFileMax];

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;  // nothing sensible to do: the exit code says it all
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now_ms = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;

  mpp::StateInput input;
  input.buf = g_state_buf;
  input.cap = sizeof g_state_buf;
  static mpp::CheckOutput out;
  mpp::RunChecker(argc, argv, getenv("MPP_STATE"), now_ms, input, &out);
  WriteAll(out.to_stdout ? 1 : 2, out.text, out.len);
  _exit(out.exit_code);
}
