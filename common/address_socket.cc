#include "common/address_socket.h"

#include <netinet/in.h>
#include <string.h>

namespace mpp {

socklen_t ToSockaddr(const Address& addr, struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  if (addr.kind == Address::kInet4) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(addr.port);
    memcpy(&sin->sin_addr, addr.ip, 4);
    return sizeof *sin;
  }
  if (addr.kind == Address::kInet6) {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(addr.port);
    memcpy(&sin6->sin6_addr, addr.ip, 16);
    return sizeof *sin6;
  }
  return 0;
}

}  // namespace mpp
