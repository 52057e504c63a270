#include "common/address.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/decimal.h"

namespace mpp {
namespace {

// Digits only, within [lo, hi] (ports and firewall marks are never negative).
bool ParseNumber(const char* s, size_t len, uint64_t lo, uint64_t hi, uint64_t* out) {
  int64_t v;
  if (!ParseDecimal(s, len, static_cast<int64_t>(lo), static_cast<int64_t>(hi), &v)) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

// Dotted quad, exactly as glibc's inet_pton(AF_INET) accepts it (four
// decimal parts of at most 255, no leading zeros), without its copy: the
// checker parses one per line of the state file.
bool ParseIp4(const char* s, size_t len, uint8_t* ip) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= len || s[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (i > start && v == 0) return false;  // leading zero
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      if (v > 255) return false;
      ++i;
    }
    if (i == start) return false;
    ip[part] = static_cast<uint8_t>(v);
  }
  return i == len;
}

bool ParseIp(const char* s, size_t len, bool want_v6, Address* out) {
  if (!want_v6) {
    if (!ParseIp4(s, len, out->ip)) return false;
    out->kind = Address::kInet4;
    return true;
  }
  char buf[INET6_ADDRSTRLEN + 1];
  // A NUL inside the text would end the copy early and accept a prefix.
  if (len == 0 || len >= sizeof buf || memchr(s, '\0', len) != nullptr) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET6, buf, out->ip) == 1) {
    out->kind = Address::kInet6;
    return true;
  }
  return false;
}

}  // namespace

bool Address::operator==(const Address& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case kNone: return true;
    case kFwmark: return fwmark == o.fwmark;
    case kInet4: return port == o.port && memcmp(ip, o.ip, 4) == 0;
    case kInet6: return port == o.port && memcmp(ip, o.ip, 16) == 0;
  }
  return false;
}

bool ParseAddress(const char* text, size_t len, Address* out, const char** why) {
  Address a;
  static const char kFw[] = "fwmark:";
  if (len >= sizeof kFw - 1 && memcmp(text, kFw, sizeof kFw - 1) == 0) {
    uint64_t mark;
    if (!ParseNumber(text + sizeof kFw - 1, len - (sizeof kFw - 1), 1, 0xffffffffu, &mark)) {
      *why = "firewall mark must be a number from 1 to 4294967295";
      return false;
    }
    a.kind = Address::kFwmark;
    a.fwmark = static_cast<uint32_t>(mark);
    *out = a;
    return true;
  }
  const char* colon = static_cast<const char*>(memrchr(text, ':', len));
  if (colon == nullptr) {
    *why = "expected IPv4:port, [IPv6]:port or fwmark:N";
    return false;
  }
  const char* host = text;
  size_t host_len = static_cast<size_t>(colon - text);
  bool v6 = false;
  if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
    ++host;
    host_len -= 2;
    v6 = true;
  } else if (memchr(host, ':', host_len) != nullptr) {
    *why = "an IPv6 address needs brackets: [IPv6]:port";
    return false;
  }
  if (!ParseIp(host, host_len, v6, &a)) {
    *why = v6 ? "not an IPv6 address" : "not an IPv4 address (host names are not accepted)";
    return false;
  }
  uint64_t port;
  if (!ParseNumber(colon + 1, len - host_len - (v6 ? 2 : 0) - 1, 1, 65535, &port)) {
    *why = "port must be a number from 1 to 65535";
    return false;
  }
  a.port = static_cast<uint16_t>(port);
  *out = a;
  return true;
}

bool ParseAddressPair(const char* host, const char* port, Address* out, const char** why) {
  size_t host_len = strlen(host);
  size_t port_len = strlen(port);
  Address a;
  uint64_t number;
  if (ParseNumber(host, host_len, 1, 0xffffffffu, &number)) {
    if (!(port_len == 1 && port[0] == '0')) {
      *why = "a firewall mark goes with port 0";
      return false;
    }
    a.kind = Address::kFwmark;
    a.fwmark = static_cast<uint32_t>(number);
    *out = a;
    return true;
  }
  if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
    ++host;
    host_len -= 2;
  }
  if (!ParseIp(host, host_len, false, &a) && !ParseIp(host, host_len, true, &a)) {
    *why = "not an IP address or firewall mark";
    return false;
  }
  if (!ParseNumber(port, port_len, 1, 65535, &number)) {
    *why = "port must be a number from 1 to 65535";
    return false;
  }
  a.port = static_cast<uint16_t>(number);
  *out = a;
  return true;
}

char* FormatAddress(const Address& addr, char* buf) {
  char ip[INET6_ADDRSTRLEN];
  switch (addr.kind) {
    case Address::kNone:
      snprintf(buf, kAddressTextMax, "-");
      break;
    case Address::kFwmark:
      snprintf(buf, kAddressTextMax, "fwmark:%u", addr.fwmark);
      break;
    case Address::kInet4:
      inet_ntop(AF_INET, addr.ip, ip, sizeof ip);
      snprintf(buf, kAddressTextMax, "%s:%u", ip, addr.port);
      break;
    case Address::kInet6:
      inet_ntop(AF_INET6, addr.ip, ip, sizeof ip);
      snprintf(buf, kAddressTextMax, "[%s]:%u", ip, addr.port);
      break;
  }
  return buf;
}

}  // namespace mpp
