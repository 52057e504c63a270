#include "ipvs/ipvs_netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include <string>

#include "common/address_text.h"

namespace mpp {
namespace {

// The kernel copies addresses into a 16-byte union whatever the family.
constexpr int kAddrLen = 16;

int FamilyOf(const Address& a) { return a.kind == Address::kInet6 ? AF_INET6 : AF_INET; }

bool PutService(nl_msg* msg, const IpvsServiceKey& svc) {
  nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
  if (nest == nullptr) return false;
  int rc = nla_put_u16(msg, IPVS_SVC_ATTR_AF, static_cast<uint16_t>(svc.family));
  if (svc.address.kind == Address::kFwmark) {
    rc = rc ?: nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, svc.address.fwmark);
  } else {
    rc = rc ?: nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(svc.protocol));
    rc = rc ?: nla_put(msg, IPVS_SVC_ATTR_ADDR, kAddrLen, svc.address.ip);
    rc = rc ?: nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(svc.address.port));
  }
  if (rc != 0) return false;
  nla_nest_end(msg, nest);
  return true;
}

// full: NEW_DEST and SET_DEST need every field; DEL_DEST only the address.
bool PutDest(nl_msg* msg, const IpvsDest& d, bool full) {
  nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
  if (nest == nullptr) return false;
  int rc = nla_put(msg, IPVS_DEST_ATTR_ADDR, kAddrLen, d.address.ip);
  rc = rc ?: nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(d.address.port));
  rc = rc ?: nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY,
                         static_cast<uint16_t>(FamilyOf(d.address)));
  if (full) {
    rc = rc ?: nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, static_cast<uint32_t>(d.fwd));
    rc = rc ?: nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, d.weight);
    rc = rc ?: nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
    rc = rc ?: nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
    if (d.has_tunnel) {
      rc = rc ?: nla_put_u8(msg, IPVS_DEST_ATTR_TUN_TYPE, d.tun_type);
      rc = rc ?: nla_put_u16(msg, IPVS_DEST_ATTR_TUN_PORT, htons(d.tun_port));
      rc = rc ?: nla_put_u16(msg, IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags);
    }
  }
  if (rc != 0) return false;
  nla_nest_end(msg, nest);
  return true;
}

uint32_t U32(nlattr* a) { return a != nullptr && nla_len(a) >= 4 ? nla_get_u32(a) : 0; }
uint16_t U16(nlattr* a) { return a != nullptr && nla_len(a) >= 2 ? nla_get_u16(a) : 0; }

bool ParseDest(nlattr* nest, int service_family, IpvsDest* out) {
  nlattr* a[IPVS_DEST_ATTR_MAX + 1];
  if (nla_parse_nested(a, IPVS_DEST_ATTR_MAX, nest, nullptr) != 0) return false;
  if (a[IPVS_DEST_ATTR_ADDR] == nullptr || a[IPVS_DEST_ATTR_PORT] == nullptr) return false;
  int family = a[IPVS_DEST_ATTR_ADDR_FAMILY] ? U16(a[IPVS_DEST_ATTR_ADDR_FAMILY]) : service_family;
  IpvsDest d;
  d.address.kind = family == AF_INET6 ? Address::kInet6 : Address::kInet4;
  int len = nla_len(a[IPVS_DEST_ATTR_ADDR]);
  memcpy(d.address.ip, nla_data(a[IPVS_DEST_ATTR_ADDR]), len < kAddrLen ? len : kAddrLen);
  if (family != AF_INET6) memset(d.address.ip + 4, 0, kAddrLen - 4);
  d.address.port = ntohs(U16(a[IPVS_DEST_ATTR_PORT]));
  d.fwd = static_cast<IpvsFwd>(U32(a[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK);
  d.weight = U32(a[IPVS_DEST_ATTR_WEIGHT]);
  d.upper_threshold = U32(a[IPVS_DEST_ATTR_U_THRESH]);
  d.lower_threshold = U32(a[IPVS_DEST_ATTR_L_THRESH]);
  d.active_conns = U32(a[IPVS_DEST_ATTR_ACTIVE_CONNS]);
  d.inactive_conns = U32(a[IPVS_DEST_ATTR_INACT_CONNS]);
  if (a[IPVS_DEST_ATTR_TUN_TYPE] != nullptr) {
    d.has_tunnel = true;
    d.tun_type = nla_get_u8(a[IPVS_DEST_ATTR_TUN_TYPE]);
    d.tun_port = ntohs(U16(a[IPVS_DEST_ATTR_TUN_PORT]));
    d.tun_flags = U16(a[IPVS_DEST_ATTR_TUN_FLAGS]);
  }
  *out = d;
  return true;
}

int OnValid(nl_msg* msg, void* arg) {
  auto* ex = static_cast<IpvsNetlink::Exchange*>(arg);
  ex->replies++;
  if (ex->dests == nullptr) return NL_OK;
  nlattr* tb[IPVS_CMD_ATTR_MAX + 1];
  if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, IPVS_CMD_ATTR_MAX, nullptr) != 0) return NL_OK;
  IpvsDest d;
  if (tb[IPVS_CMD_ATTR_DEST] != nullptr && ParseDest(tb[IPVS_CMD_ATTR_DEST], ex->family, &d)) {
    ex->dests->push_back(d);
  }
  return NL_OK;
}

int OnDone(nl_msg*, void* arg) {
  static_cast<IpvsNetlink::Exchange*>(arg)->done = true;
  return NL_STOP;
}

// Our own error callback: libnl's default turns the kernel's errno into its
// own codes, where ESRCH and ENOENT become the same NLE_OBJ_NOTFOUND.
int OnError(sockaddr_nl*, nlmsgerr* e, void* arg) {
  auto* ex = static_cast<IpvsNetlink::Exchange*>(arg);
  ex->error = -e->error;
  ex->done = true;
  return NL_STOP;
}

}  // namespace

IpvsNetlink::~IpvsNetlink() {
  if (cb_ != nullptr) nl_cb_put(cb_);
  if (sock_ != nullptr) nl_socket_free(sock_);
}

IpvsStatus IpvsNetlink::Open() {
  if (sock_ != nullptr) return IpvsStatus();
  nl_sock* sock = nl_socket_alloc();
  nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
  if (sock == nullptr || cb == nullptr) {
    if (sock != nullptr) nl_socket_free(sock);
    if (cb != nullptr) nl_cb_put(cb);
    return IpvsStatus(ENOMEM, "netlink: out of memory");
  }
  int rc = genl_connect(sock);
  if (rc < 0) {
    nl_socket_free(sock);
    nl_cb_put(cb);
    return IpvsStatus(EIO, std::string("netlink: cannot connect: ") + nl_geterror(rc));
  }
  int id = genl_ctrl_resolve(sock, IPVS_GENL_NAME);
  if (id < 0) {
    nl_socket_free(sock);
    nl_cb_put(cb);
    return IpvsStatus(EAFNOSUPPORT,
                      "the kernel has no IPVS (generic netlink family \"IPVS\" not found; "
                      "modprobe ip_vs)");
  }
  sock_ = sock;
  cb_ = cb;
  family_id_ = id;
  // Every IPVS command, even a read, needs CAP_NET_ADMIN: ask once now so a
  // missing privilege is reported at start, not at the first failover.
  Exchange ex;
  nl_msg* msg = NewMessage(IPVS_CMD_GET_INFO, 0);
  IpvsStatus st = Transact(msg, "IPVS info", &ex);
  if (!st.ok()) {
    nl_cb_put(cb_);
    nl_socket_free(sock_);
    cb_ = nullptr;
    sock_ = nullptr;
    if (st.code() == EPERM) {
      return IpvsStatus(EPERM, "IPVS needs CAP_NET_ADMIN (run as root or grant the capability)");
    }
  }
  return st;
}

nl_msg* IpvsNetlink::NewMessage(uint8_t cmd, int flags) {
  nl_msg* msg = nlmsg_alloc();
  if (msg == nullptr) return nullptr;
  if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_id_, 0, flags, cmd, IPVS_GENL_VERSION) ==
      nullptr) {
    nlmsg_free(msg);
    return nullptr;
  }
  return msg;
}

IpvsStatus IpvsNetlink::Transact(nl_msg* msg, const char* what, Exchange* ex) {
  if (sock_ == nullptr) {
    if (msg != nullptr) nlmsg_free(msg);
    return IpvsStatus(ENOTCONN, std::string(what) + ": netlink socket not open");
  }
  if (msg == nullptr) return IpvsStatus(ENOMEM, std::string(what) + ": cannot build the message");
  nl_cb_set(cb_, NL_CB_VALID, NL_CB_CUSTOM, OnValid, ex);
  nl_cb_set(cb_, NL_CB_FINISH, NL_CB_CUSTOM, OnDone, ex);
  nl_cb_set(cb_, NL_CB_ACK, NL_CB_CUSTOM, OnDone, ex);
  nl_cb_err(cb_, NL_CB_CUSTOM, OnError, ex);
  int rc = nl_send_auto(sock_, msg);
  nlmsg_free(msg);
  if (rc < 0) return IpvsStatus(EIO, std::string(what) + ": send failed: " + nl_geterror(rc));
  while (!ex->done) {
    rc = nl_recvmsgs(sock_, cb_);
    if (rc < 0 && !ex->done) {
      return IpvsStatus(EIO, std::string(what) + ": receive failed: " + nl_geterror(rc));
    }
  }
  if (ex->error != 0) return IpvsStatus(ex->error, std::string(what) + ": " + strerror(ex->error));
  return IpvsStatus();
}

IpvsStatus IpvsNetlink::GetService(const IpvsServiceKey& svc) {
  nl_msg* msg = NewMessage(IPVS_CMD_GET_SERVICE, 0);
  if (msg != nullptr && !PutService(msg, svc)) {
    nlmsg_free(msg);
    msg = nullptr;
  }
  Exchange ex;
  IpvsStatus st = Transact(msg, "get service", &ex);
  if (st.code() == ESRCH) return IpvsStatus(ESRCH, "no service " + IpvsServiceText(svc));
  return st;
}

IpvsStatus IpvsNetlink::ListDests(const IpvsServiceKey& svc, std::vector<IpvsDest>* out) {
  out->clear();
  IpvsStatus st = GetService(svc);
  if (!st.ok()) return st;
  nl_msg* msg = NewMessage(IPVS_CMD_GET_DEST, NLM_F_DUMP);
  if (msg != nullptr && !PutService(msg, svc)) {
    nlmsg_free(msg);
    msg = nullptr;
  }
  Exchange ex;
  ex.dests = out;
  ex.family = svc.family;
  return Transact(msg, "list destinations", &ex);
}

IpvsStatus IpvsNetlink::DestCommand(uint8_t cmd, const IpvsServiceKey& svc, const IpvsDest& d,
                                    bool full, const char* what) {
  nl_msg* msg = NewMessage(cmd, 0);
  if (msg != nullptr && (!PutService(msg, svc) || !PutDest(msg, d, full))) {
    nlmsg_free(msg);
    msg = nullptr;
  }
  Exchange ex;
  return Transact(msg, what, &ex);
}

IpvsStatus IpvsNetlink::SetDest(const IpvsServiceKey& svc, const IpvsDest& d) {
  return DestCommand(IPVS_CMD_SET_DEST, svc, d, true, "set destination");
}

IpvsStatus IpvsNetlink::AddDest(const IpvsServiceKey& svc, const IpvsDest& d) {
  return DestCommand(IPVS_CMD_NEW_DEST, svc, d, true, "add destination");
}

IpvsStatus IpvsNetlink::DelDest(const IpvsServiceKey& svc, const Address& dest) {
  IpvsDest d;
  d.address = dest;
  return DestCommand(IPVS_CMD_DEL_DEST, svc, d, false, "delete destination");
}

IpvsStatus IpvsNetlink::AddService(const IpvsServiceKey& svc, const char* scheduler) {
  nl_msg* msg = NewMessage(IPVS_CMD_NEW_SERVICE, 0);
  bool ok = msg != nullptr;
  if (ok) {
    nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
    ok = nest != nullptr;
    int rc = ok ? nla_put_u16(msg, IPVS_SVC_ATTR_AF, static_cast<uint16_t>(svc.family)) : -1;
    if (svc.address.kind == Address::kFwmark) {
      rc = rc ?: nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, svc.address.fwmark);
    } else {
      rc = rc ?: nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(svc.protocol));
      rc = rc ?: nla_put(msg, IPVS_SVC_ATTR_ADDR, kAddrLen, svc.address.ip);
      rc = rc ?: nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(svc.address.port));
    }
    ip_vs_flags flags = {0, ~0u};
    uint32_t mask = svc.family == AF_INET6 ? 128 : 0xffffffff;
    rc = rc ?: nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, scheduler);
    rc = rc ?: nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof flags, &flags);
    rc = rc ?: nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, 0);
    rc = rc ?: nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, mask);
    ok = ok && rc == 0;
    if (ok) nla_nest_end(msg, nest);
  }
  if (!ok && msg != nullptr) {
    nlmsg_free(msg);
    msg = nullptr;
  }
  Exchange ex;
  return Transact(msg, "add service", &ex);
}

IpvsStatus IpvsNetlink::DelService(const IpvsServiceKey& svc) {
  nl_msg* msg = NewMessage(IPVS_CMD_DEL_SERVICE, 0);
  if (msg != nullptr && !PutService(msg, svc)) {
    nlmsg_free(msg);
    msg = nullptr;
  }
  Exchange ex;
  return Transact(msg, "delete service", &ex);
}

}  // namespace mpp
