// What mpp-ipvs knows about the kernel's IPVS tables: a virtual service key,
// a real server (destination) with every field SET_DEST needs, and the error
// value the netlink layer returns. No libnl here, so the reconcile plan
// (ipvs_plan.h) and its unit tests do not link it.
// Thread-safety: value types.
#pragma once

#include <stdint.h>

#include <string>

#include "common/address.h"

namespace mpp {

// The result of one IPVS operation. code is a positive errno, with the
// kernel's meaning kept exactly: ESRCH no such service, ENOENT no such
// destination, EEXIST already there, EPERM no CAP_NET_ADMIN.
class IpvsStatus {
 public:
  IpvsStatus() = default;
  IpvsStatus(int code, std::string message) : code_(code), message_(std::move(message)) {}
  bool ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  int code_ = 0;
  std::string message_;
};

enum class IpvsProto : uint16_t { kTcp = 6, kUdp = 17 };

// A virtual service as the kernel keys it: (family, protocol, address, port)
// or (family, firewall mark).
struct IpvsServiceKey {
  Address address;  // kInet4, kInet6 or kFwmark
  IpvsProto protocol = IpvsProto::kTcp;  // unused for a fwmark service
  int family = 0;   // AF_INET or AF_INET6; for fwmark services, chosen by the caller
};

// Forwarding methods as IPVS encodes them (IP_VS_CONN_F_*).
enum class IpvsFwd : uint32_t { kMasq = 0, kLocal = 1, kTunnel = 2, kDirect = 3, kBypass = 4 };

struct IpvsDest {
  Address address;  // kInet4 or kInet6 with port
  IpvsFwd fwd = IpvsFwd::kMasq;
  uint32_t weight = 0;
  uint32_t upper_threshold = 0;
  uint32_t lower_threshold = 0;
  // Tunnel settings (kernel 5.3+): sent back unchanged when present.
  bool has_tunnel = false;
  uint8_t tun_type = 0;
  uint16_t tun_port = 0;  // host byte order
  uint16_t tun_flags = 0;
  // Read-only counters, for --status.
  uint32_t active_conns = 0;
  uint32_t inactive_conns = 0;
};

const char* IpvsFwdName(IpvsFwd f);
// "TCP 192.0.2.10:3306", "FWM 7 (IPv6)".
std::string IpvsServiceText(const IpvsServiceKey& k);

}  // namespace mpp
