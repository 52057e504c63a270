// The IPVS generic netlink client: one socket, the family resolved once, and
// the few operations mpp-ipvs needs (get a service, dump its destinations,
// change one destination, add and delete one). Every error keeps the
// kernel's errno (libnl would fold ESRCH and ENOENT into one code).
// Thread-safety: not thread-safe; one owner.
#pragma once

#include <stdint.h>

#include <vector>

#include "ipvs/ipvs_table.h"
#include "ipvs/ipvs_types.h"

struct nl_sock;
struct nl_cb;
struct nl_msg;

namespace mpp {

class IpvsNetlink : public IpvsTable {
 public:
  IpvsNetlink() = default;
  ~IpvsNetlink() override;
  IpvsNetlink(const IpvsNetlink&) = delete;
  IpvsNetlink& operator=(const IpvsNetlink&) = delete;

  // Connects, resolves the IPVS family and asks the kernel for its IPVS
  // version, which also proves the privilege. Errors: EAFNOSUPPORT when the
  // kernel has no IPVS (module not loaded or not built), EPERM without
  // CAP_NET_ADMIN.
  IpvsStatus Open();
  bool is_open() const { return sock_ != nullptr; }

  // ESRCH if the kernel has no such service.
  IpvsStatus GetService(const IpvsServiceKey& svc);

  // Replaces *out with the service's destinations. ESRCH if there is no
  // such service (a dump alone would answer with an empty list).
  IpvsStatus ListDests(const IpvsServiceKey& svc, std::vector<IpvsDest>* out) override;

  // Sets the whole destination d (the kernel wants every field). ESRCH,
  // ENOENT as above.
  IpvsStatus SetDest(const IpvsServiceKey& svc, const IpvsDest& d) override;

  // EEXIST if it is there already.
  IpvsStatus AddDest(const IpvsServiceKey& svc, const IpvsDest& d) override;
  IpvsStatus DelDest(const IpvsServiceKey& svc, const Address& dest) override;

  // For tests and benchmarks, which build their own services.
  IpvsStatus AddService(const IpvsServiceKey& svc, const char* scheduler);
  IpvsStatus DelService(const IpvsServiceKey& svc);

  // Set by the callbacks of one exchange.
  struct Exchange {
    int error = 0;  // positive errno from the kernel
    bool done = false;
    int replies = 0;
    int family = 0;  // of the service, for destinations without their own
    std::vector<IpvsDest>* dests = nullptr;
  };

 private:
  nl_msg* NewMessage(uint8_t cmd, int flags);
  // One destination command: the service, and the destination's address
  // (full: with every field SET/NEW_DEST need).
  IpvsStatus DestCommand(uint8_t cmd, const IpvsServiceKey& svc, const IpvsDest& d, bool full,
                         const char* what);
  // Sends msg (taking it) and reads until the ACK, the end of the dump or
  // an error.
  IpvsStatus Transact(nl_msg* msg, const char* what, Exchange* ex);

  nl_sock* sock_ = nullptr;
  nl_cb* cb_ = nullptr;
  int family_id_ = -1;
};

}  // namespace mpp
