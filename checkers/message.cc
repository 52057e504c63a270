#include "checkers/message.h"

#include <string.h>

namespace mpp {

Message::Message(char* buf, size_t cap) : buf_(buf), cap_(cap) { buf_[0] = '\0'; }

Message& Message::Add(const char* s, size_t n) {
  size_t room = cap_ - 1 - len_;
  if (n > room) n = room;
  memcpy(buf_ + len_, s, n);
  len_ += n;
  buf_[len_] = '\0';
  return *this;
}

Message& Message::Add(const char* s) { return Add(s, strlen(s)); }

Message& Message::Add(int64_t v) {
  char digits[24];
  size_t i = sizeof digits;
  // Work on the magnitude as unsigned so INT64_MIN does not overflow.
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    digits[--i] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) digits[--i] = '-';
  return Add(digits + i, sizeof digits - i);
}

Message& Message::AddSeconds(int64_t ms) {
  if (ms < 0) {
    Add("-", 1);
    ms = ms == INT64_MIN ? INT64_MAX : -ms;
  }
  Add(ms / 1000);
  char frac[4] = {'.', static_cast<char>('0' + ms / 100 % 10), static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10)};
  return Add(frac, sizeof frac);
}

Message& Message::AddUntrusted(const char* s, size_t n, size_t max) {
  bool cut = n > max;
  if (cut) n = max;
  for (size_t i = 0; i < n && len_ < cap_ - 1; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    buf_[len_++] = (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  buf_[len_] = '\0';
  if (cut) Add("...", 3);
  return *this;
}

}  // namespace mpp
