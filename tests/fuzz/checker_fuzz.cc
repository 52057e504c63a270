// libFuzzer target for the whole of mpp-check: arguments, $MPP_STATE and the
// state file all come from the input, which is
//   ARG \0 ARG \0 ... \0 \0 STATE-FILE-BYTES
// (at most 12 arguments). The clock is fixed near the times the seeds use.
// Besides "no crash", it checks what keepalived and ldirectord rely on.
#include <stdint.h>
#include <string.h>

#include "checkers/checker.h"

namespace {

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  char args[12][256];
  const char* argv[13] = {"mpp-check"};
  int argc = 1;
  while (p < end && argc < 13) {
    const char* nul = static_cast<const char*>(memchr(p, '\0', static_cast<size_t>(end - p)));
    if (nul == nullptr) nul = end;
    size_t n = static_cast<size_t>(nul - p);
    if (n == 0) {  // "\0\0": the file follows
      p = nul + 1;
      break;
    }
    if (n > 255) n = 255;
    memcpy(args[argc - 1], p, n);
    args[argc - 1][n] = '\0';
    argv[argc] = args[argc - 1];
    ++argc;
    p = nul + (nul < end ? 1 : 0);
  }
  if (p > end) p = end;
  mpp::StateInput input;
  input.data = p;
  input.len = static_cast<size_t>(end - p);
  static mpp::CheckOutput out;
  const int64_t now_ms = 1764172800000;
  mpp::RunChecker(argc, argv, "/run/mpp/state", now_ms, input, &out);

  bool nagios_arg = false;
  for (int i = 1; i < argc; ++i) nagios_arg |= strcmp(argv[i], "--nagios") == 0;
  Require(out.exit_code >= 0 && out.exit_code <= 255);
  Require(out.text != nullptr);
  if (out.text != out.line) return 0;  // --help
  // One line, ending in its only newline, inside the buffer.
  Require(out.len < sizeof out.line);
  if (out.len > 0) {
    Require(out.text[out.len - 1] == '\n');
    Require(memchr(out.text, '\n', out.len - 1) == nullptr);
  }
  if (out.to_stdout && memcmp(out.text, "mpp-check ", 10) == 0) return 0;  // --version
  if (out.to_stdout) {
    // Plugin output only when asked for, with a plugin exit code.
    Require(nagios_arg && out.exit_code <= 3 && out.len > 4 && memcmp(out.text, "MPP ", 4) == 0);
  } else if (out.exit_code == 1) {
    // Down and every error: exit 1 and one line naming the cause.
    Require(out.len > 11 && memcmp(out.text, "mpp-check: ", 11) == 0);
  } else {
    // Up (0, or 2 + weight) says nothing.
    Require(out.len == 0);
  }
  return 0;
}
