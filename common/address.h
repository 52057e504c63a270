// Addresses of nodes and virtual servers: "192.0.2.11:3306", "[2001:db8::1]:3306"
// or "fwmark:N" (an IPVS firewall-mark service). Plain data, no allocation, so
// the checker can use it.
// Thread-safety: value type.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mpp {

struct Address {
  enum Kind : uint8_t { kNone = 0, kInet4, kInet6, kFwmark };
  Kind kind = kNone;
  uint8_t ip[16] = {};  // network byte order; 4 bytes used for kInet4
  uint16_t port = 0;
  uint32_t fwmark = 0;

  bool operator==(const Address& o) const;
  bool operator!=(const Address& o) const { return !(*this == o); }
};

// Longest text FormatAddress writes, with its terminating NUL.
constexpr size_t kAddressTextMax = 64;

// Parses "IPv4:port", "[IPv6]:port" or "fwmark:N" (N 1..4294967295), the whole
// string [text, text+len). Ports are 1..65535. Host names are refused: IPVS
// routes to addresses. On error returns false and sets *why to a constant
// message.
bool ParseAddress(const char* text, size_t len, Address* out, const char** why);

// Parses the (address, port) pair of ldirectord's and keepalived's check
// arguments: an IPv4 address, an IPv6 address with or without brackets, or a
// firewall mark number with port "0".
bool ParseAddressPair(const char* host, const char* port, Address* out, const char** why);

// Writes the canonical text of addr into buf (kAddressTextMax bytes) and
// returns buf.
char* FormatAddress(const Address& addr, char* buf);

}  // namespace mpp
