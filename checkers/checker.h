// The whole of mpp-check except the process around it: from the arguments,
// $MPP_STATE, the clock and the state file to an exit code and one line of
// output. main() feeds it the real file and clock; the fuzzer and the unit
// tests feed it bytes. No allocation, no exceptions, no output of its own.
// Thread-safety: reentrant (all state is in the caller's buffers).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mpp {

// Where the state file comes from.
struct StateInput {
  // Bytes of the file, used instead of reading it when data is not null.
  const char* data = nullptr;
  size_t len = 0;
  // Otherwise the file named by the arguments is read into buf (cap bytes;
  // kStateFileMax is the reader's limit).
  char* buf = nullptr;
  size_t cap = 0;
};

constexpr size_t kCheckLineMax = 1024;

struct CheckOutput {
  int exit_code = 1;
  bool to_stdout = false;      // else stderr
  const char* text = nullptr;  // what to print (may be empty), ends with '\n'
  size_t len = 0;
  char line[kCheckLineMax];    // storage for text
};

void RunChecker(int argc, const char* const* argv, const char* env_state, int64_t now_ms,
                const StateInput& input, CheckOutput* out);

}  // namespace mpp
