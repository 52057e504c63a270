// Addresses as std::string, for the programs that allocate (the checker
// uses FormatAddress with its own buffer instead).
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "common/address.h"

namespace mpp {

// The canonical text FormatAddress writes: "192.0.2.1:3306",
// "[2001:db8::1]:3306", "fwmark:7".
std::string AddressText(const Address& a);

// The IP alone, IPv6 without brackets ("2001:db8::1"); "" for a fwmark.
std::string IpText(const Address& a);

}  // namespace mpp
