// A fixed-size, NUL-terminated line under construction: what mpp-check prints.
// No allocation and no printf, so building a message costs a few hundred
// instructions and can never fail. Text that does not fit is cut off.
// Thread-safety: value type.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mpp {

class Message {
 public:
  Message(char* buf, size_t cap);  // REQUIRES: cap >= 1

  Message& Add(const char* s);
  Message& Add(const char* s, size_t n);
  Message& Add(int64_t v);
  // Milliseconds as seconds with three decimals ("1.250").
  Message& AddSeconds(int64_t ms);
  // Text from outside (arguments, file content): control characters become
  // '?' so the message stays one line, and more than max bytes become "...".
  Message& AddUntrusted(const char* s, size_t n, size_t max);

  const char* data() const { return buf_; }
  size_t size() const { return len_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
};

// Longest quoted argument and longest reason from the state file in a
// message (the Perl checker uses the same limits).
constexpr size_t kMaxQuotedArg = 64;
constexpr size_t kMaxReason = 200;

}  // namespace mpp
