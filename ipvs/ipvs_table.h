// The IPVS operations one reconcile of mpp-ipvs makes: list a service's
// destinations, change, add or delete one. IpvsNetlink implements them
// against the kernel; the daemon sees only this interface, so its unit tests
// can inject a failure between two steps without libnl or a kernel.
// Thread-safety: as the implementation's.
#pragma once

#include <vector>

#include "ipvs/ipvs_types.h"

namespace mpp {

class IpvsTable {
 public:
  virtual ~IpvsTable() = default;

  // Replaces *out with the service's destinations. ESRCH if there is no
  // such service.
  virtual IpvsStatus ListDests(const IpvsServiceKey& svc, std::vector<IpvsDest>* out) = 0;
  // Sets the whole destination d. ESRCH, ENOENT.
  virtual IpvsStatus SetDest(const IpvsServiceKey& svc, const IpvsDest& d) = 0;
  // EEXIST if it is there already.
  virtual IpvsStatus AddDest(const IpvsServiceKey& svc, const IpvsDest& d) = 0;
  virtual IpvsStatus DelDest(const IpvsServiceKey& svc, const Address& dest) = 0;
};

}  // namespace mpp
