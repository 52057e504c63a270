#include "common/address_text.h"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace mpp {

std::string AddressText(const Address& a) {
  char buf[kAddressTextMax];
  return FormatAddress(a, buf);
}

std::string IpText(const Address& a) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (a.kind == Address::kInet4) inet_ntop(AF_INET, a.ip, buf, sizeof buf);
  if (a.kind == Address::kInet6) inet_ntop(AF_INET6, a.ip, buf, sizeof buf);
  return buf;
}

}  // namespace mpp
