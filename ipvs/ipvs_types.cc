#include "ipvs/ipvs_types.h"

#include <sys/socket.h>

namespace mpp {

const char* IpvsFwdName(IpvsFwd f) {
  switch (f) {
    case IpvsFwd::kMasq: return "masq";
    case IpvsFwd::kLocal: return "local";
    case IpvsFwd::kTunnel: return "tun";
    case IpvsFwd::kDirect: return "dr";
    case IpvsFwd::kBypass: return "bypass";
  }
  return "?";
}

std::string IpvsServiceText(const IpvsServiceKey& k) {
  if (k.address.kind == Address::kFwmark) {
    return "FWM " + std::to_string(k.address.fwmark) + (k.family == AF_INET6 ? " (IPv6)" : "");
  }
  char buf[kAddressTextMax];
  return std::string(k.protocol == IpvsProto::kUdp ? "UDP " : "TCP ") + FormatAddress(k.address, buf);
}

}  // namespace mpp
