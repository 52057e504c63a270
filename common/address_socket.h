// Addresses as the socket calls take them (connect, bind), for the programs
// that open sockets; the checker never does.
// Thread-safety: pure functions.
#pragma once

#include <sys/socket.h>

#include "common/address.h"

namespace mpp {

// Fills *ss with addr (IPv4 or IPv6, its port) and returns its length, or 0
// for an address that is not an IP address (a fwmark, none).
socklen_t ToSockaddr(const Address& addr, struct sockaddr_storage* ss);

}  // namespace mpp
