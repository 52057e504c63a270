#include "common/control_protocol.h"

#include <ctype.h>

namespace mpp {

std::string FormatRequest(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out + "\n";
}

std::vector<std::string> RequestWords(const std::string& line) {
  std::vector<std::string> out;
  auto blank = [&line](size_t i) { return isspace(static_cast<unsigned char>(line[i])) != 0; };
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(i)) ++i;
    size_t start = i;
    while (i < line.size() && !blank(i)) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string FormatReply(bool ok, const std::string& body) {
  return std::string(ok ? kReplyOk : kReplyError) + "\n" + body;
}

bool ParseReply(const std::string& reply, bool* ok, std::string* body) {
  size_t nl = reply.find('\n');
  if (nl == std::string::npos) return false;
  std::string first = reply.substr(0, nl);
  if (first != kReplyOk && first != kReplyError) return false;
  *ok = first == kReplyOk;
  *body = reply.substr(nl + 1);
  return true;
}

}  // namespace mpp
