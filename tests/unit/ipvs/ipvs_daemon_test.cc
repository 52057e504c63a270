// IpvsDaemon: one reconcile takes destinations down before it brings any up,
// across virtual servers, and a failed down keeps its virtual server's ups
// back until a later reconcile, so no failure between two steps leaves two
// writers up. The kernel is a fake table that records the calls and fails
// the ones a test names; the state file is the project's own writer's.
#include <doctest/doctest.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/address_text.h"
#include "common/paths.h"
#include "config/config.h"
#include "core/evaluation.h"
#include "ipvs/ipvs_daemon.h"
#include "ipvs/ipvs_metrics.h"
#include "ipvs/ipvs_table.h"
#include "mppstate/state_writer.h"
#include "tests/unit/test_util.h"

namespace mpp {
namespace {

using testing::TempDir;

// Services keyed by IpvsServiceText; every call is recorded as
// "set|add|del SERVICE ADDRESS [WEIGHT]", and a call listed in `failing`
// answers EIO without changing anything.
class FakeTable : public IpvsTable {
 public:
  IpvsStatus ListDests(const IpvsServiceKey& svc, std::vector<IpvsDest>* out) override {
    auto it = services.find(IpvsServiceText(svc));
    if (it == services.end()) return IpvsStatus(ESRCH, "no such service");
    *out = it->second;
    return IpvsStatus();
  }
  IpvsStatus SetDest(const IpvsServiceKey& svc, const IpvsDest& d) override {
    std::string call = "set " + IpvsServiceText(svc) + " " + AddressText(d.address) + " " +
                       std::to_string(d.weight);
    if (Fails(call)) return IpvsStatus(EIO, call + ": injected fault");
    for (IpvsDest& have : services[IpvsServiceText(svc)]) {
      if (have.address == d.address) {
        have = d;
        return IpvsStatus();
      }
    }
    return IpvsStatus(ENOENT, "no such destination");
  }
  IpvsStatus AddDest(const IpvsServiceKey& svc, const IpvsDest& d) override {
    std::string call = "add " + IpvsServiceText(svc) + " " + AddressText(d.address) + " " +
                       std::to_string(d.weight);
    if (Fails(call)) return IpvsStatus(EIO, call + ": injected fault");
    services[IpvsServiceText(svc)].push_back(d);
    return IpvsStatus();
  }
  IpvsStatus DelDest(const IpvsServiceKey& svc, const Address& a) override {
    std::string call = "del " + IpvsServiceText(svc) + " " + AddressText(a);
    if (Fails(call)) return IpvsStatus(EIO, call + ": injected fault");
    std::vector<IpvsDest>& dests = services[IpvsServiceText(svc)];
    for (size_t i = 0; i < dests.size(); ++i) {
      if (dests[i].address == a) {
        dests.erase(dests.begin() + static_cast<long>(i));
        return IpvsStatus();
      }
    }
    return IpvsStatus(ENOENT, "no such destination");
  }

  // Adds a destination to a service (creating the service).
  void Put(const std::string& svc, const char* addr, uint32_t weight) {
    IpvsDest d;
    const char* why = nullptr;
    REQUIRE(ParseAddress(addr, strlen(addr), &d.address, &why));
    d.weight = weight;
    services[svc].push_back(d);
  }
  // The weight of a destination, or -1 if it is absent.
  int64_t Weight(const std::string& svc, const char* addr) const {
    auto it = services.find(svc);
    if (it == services.end()) return -1;
    for (const IpvsDest& d : it->second) {
      if (AddressText(d.address) == addr) return d.weight;
    }
    return -1;
  }

  std::map<std::string, std::vector<IpvsDest>> services;
  std::vector<std::string> calls;
  std::set<std::string> failing;

 private:
  bool Fails(const std::string& call) {
    calls.push_back(call);
    return failing.count(call) != 0;
  }
};

const char kWriter[] = "TCP 192.0.2.10:3306";
const char kWriterX[] = "TCP 192.0.2.10:33060";
const char kDb1[] = "192.0.2.11:3306";
const char kDb2[] = "192.0.2.12:3306";

// Pool main (db1, db2) behind two rw services, as a site with the classic
// and the X protocol port has.
Config MakeConfig(const std::string& dir, const std::string& on_down = "quiesce") {
  std::string text = "[global]\nstate_dir = " + dir +
                     "\n"
                     "[pool main]\nnodes = db1, db2\n"
                     "[node db1]\naddress = 192.0.2.11:3306\nweight = 5\n"
                     "[node db2]\naddress = 192.0.2.12:3306\n"
                     "[vs writer]\naddress = 192.0.2.10:3306\npool = main\nrole = rw\n"
                     "[vs writerx]\naddress = 192.0.2.10:33060\npool = main\nrole = rw\n"
                     "[ipvs]\non_down = " +
                     on_down + "\n";
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(text, "test.ini", &cfg, &errors));
  return cfg;
}

// Writes a state file in which both services want node `up` (0 or 1 in the
// pool) up with weight w and the other down. Returns its time.
int64_t WriteState(const Config& cfg, int up, int w1 = 5, int w2 = 1) {
  Evaluation ev;
  ev.seq = 1;
  ev.time_ms = 1700000000000;
  ev.nodes.resize(cfg.nodes.size());
  ev.pools.resize(cfg.pools.size());
  ev.decisions.assign(cfg.vss.size(), std::vector<Decision>(2));
  for (std::vector<Decision>& vs : ev.decisions) {
    vs[0].up = up == 0 || up == 2;
    vs[0].weight = vs[0].up ? w1 : 0;
    vs[1].up = up == 1 || up == 2;
    vs[1].weight = vs[1].up ? w2 : 0;
  }
  std::string err;
  REQUIRE(WriteFileAtomic(StateFilePath(cfg.state_dir), FormatStateFile(cfg, ev, getpid()), 0644, &err));
  return ev.time_ms;
}

struct Fixture {
  TempDir dir;
  FakeTable kernel;
  std::vector<std::string> log;
  IpvsDaemon daemon{&kernel, [this](const std::string& m) { log.push_back(m); }};

  int Count(const std::string& part) const {
    int n = 0;
    for (const std::string& l : log) n += l.find(part) != std::string::npos;
    return n;
  }
};

TEST_CASE("IpvsDaemon: on a failback the old writer goes down before the new one comes up") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path());
  f.daemon.SetConfig(cfg);
  f.kernel.Put(kWriter, kDb1, 0);
  f.kernel.Put(kWriter, kDb2, 1);
  int64_t now = WriteState(cfg, 0);

  CHECK(f.daemon.Reconcile(now) == 2);
  std::vector<std::string> want = {std::string("set ") + kWriter + " " + kDb2 + " 0",
                                   std::string("set ") + kWriter + " " + kDb1 + " 5"};
  CHECK(f.kernel.calls == want);
  CHECK(f.kernel.Weight(kWriter, kDb1) == 5);
  CHECK(f.kernel.Weight(kWriter, kDb2) == 0);
}

TEST_CASE("IpvsDaemon: a failed down keeps its virtual server's ups back until a reconcile where it succeeds") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path());
  f.daemon.SetConfig(cfg);
  f.kernel.Put(kWriter, kDb1, 0);
  f.kernel.Put(kWriter, kDb2, 1);
  int64_t now = WriteState(cfg, 0);
  std::string down = std::string("set ") + kWriter + " " + kDb2 + " 0";
  std::string up = std::string("set ") + kWriter + " " + kDb1 + " 5";
  f.kernel.failing.insert(down);

  CHECK(f.daemon.Reconcile(now) == 0);
  CHECK(f.kernel.calls == std::vector<std::string>{down});
  CHECK(f.kernel.Weight(kWriter, kDb1) == 0);  // never two writers up
  CHECK(f.kernel.Weight(kWriter, kDb2) == 1);
  CHECK(f.Count("writer db2 192.0.2.12:3306: weight 1 -> 0 (down): failed") == 1);
  CHECK(f.Count("writer db1 192.0.2.11:3306: weight 0 -> 5 (up): held back") == 1);

  // Still failing: tried again, still held back, nothing logged twice.
  f.kernel.calls.clear();
  CHECK(f.daemon.Reconcile(now) == 0);
  CHECK(f.kernel.calls == std::vector<std::string>{down});
  CHECK(f.kernel.Weight(kWriter, kDb1) == 0);
  CHECK(f.Count("(down): failed") == 1);
  CHECK(f.Count("held back") == 1);

  // The down succeeds: the up follows in the same reconcile, and neither is
  // mistaken for drift.
  f.kernel.failing.clear();
  f.kernel.calls.clear();
  CHECK(f.daemon.Reconcile(now) == 2);
  CHECK(f.kernel.calls == std::vector<std::string>{down, up});
  CHECK(f.kernel.Weight(kWriter, kDb1) == 5);
  CHECK(f.kernel.Weight(kWriter, kDb2) == 0);
  CHECK(f.Count("drift") == 0);
  CHECK(f.log.back() == "writer db1 192.0.2.11:3306: weight 0 -> 5 (up)");
}

TEST_CASE("IpvsDaemon: the downs of every virtual server come before any up") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path());
  f.daemon.SetConfig(cfg);
  for (const char* svc : {kWriter, kWriterX}) {
    f.kernel.Put(svc, kDb1, 0);
    f.kernel.Put(svc, kDb2, 1);
  }
  int64_t now = WriteState(cfg, 0);

  CHECK(f.daemon.Reconcile(now) == 4);
  std::vector<std::string> want = {std::string("set ") + kWriter + " " + kDb2 + " 0",
                                   std::string("set ") + kWriterX + " " + kDb2 + " 0",
                                   std::string("set ") + kWriter + " " + kDb1 + " 5",
                                   std::string("set ") + kWriterX + " " + kDb1 + " 5"};
  CHECK(f.kernel.calls == want);
}

TEST_CASE("IpvsDaemon: a failed down holds back only its own virtual server's ups") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path());
  f.daemon.SetConfig(cfg);
  for (const char* svc : {kWriter, kWriterX}) {
    f.kernel.Put(svc, kDb1, 0);
    f.kernel.Put(svc, kDb2, 1);
  }
  int64_t now = WriteState(cfg, 0);
  f.kernel.failing.insert(std::string("set ") + kWriterX + " " + kDb2 + " 0");

  CHECK(f.daemon.Reconcile(now) == 2);
  CHECK(f.kernel.Weight(kWriter, kDb1) == 5);
  CHECK(f.kernel.Weight(kWriter, kDb2) == 0);
  CHECK(f.kernel.Weight(kWriterX, kDb1) == 0);
  CHECK(f.kernel.Weight(kWriterX, kDb2) == 1);
  CHECK(f.Count("writerx db1 192.0.2.11:3306: weight 0 -> 5 (up): held back") == 1);
}

TEST_CASE("IpvsDaemon: with on_down = remove the old writer is deleted before the new one is added") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path(), "remove");
  f.daemon.SetConfig(cfg);
  f.kernel.Put(kWriter, kDb2, 1);
  f.kernel.Put(kWriterX, kDb1, 5);  // already in line
  int64_t now = WriteState(cfg, 0);

  CHECK(f.daemon.Reconcile(now) == 2);
  std::vector<std::string> want = {std::string("del ") + kWriter + " " + kDb2,
                                   std::string("add ") + kWriter + " " + kDb1 + " 5"};
  CHECK(f.kernel.calls == want);

  // A failed delete: the add waits (a fresh daemon and kernel, the same state file).
  Fixture g;
  g.daemon.SetConfig(cfg);
  g.kernel.Put(kWriter, kDb2, 1);
  g.kernel.Put(kWriterX, kDb1, 5);
  g.kernel.failing.insert(std::string("del ") + kWriter + " " + kDb2);
  CHECK(g.daemon.Reconcile(now) == 0);
  CHECK(g.kernel.Weight(kWriter, kDb1) == -1);
  CHECK(g.kernel.Weight(kWriter, kDb2) == 1);
}

TEST_CASE("IpvsDaemon: a lower weight is applied before a higher one") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path());
  f.daemon.SetConfig(cfg);
  f.kernel.Put(kWriter, kDb1, 1);
  f.kernel.Put(kWriter, kDb2, 5);
  f.kernel.Put(kWriterX, kDb1, 5);
  f.kernel.Put(kWriterX, kDb2, 1);
  int64_t now = WriteState(cfg, 2, 5, 1);  // both up: db1 5, db2 1

  CHECK(f.daemon.Reconcile(now) == 2);
  std::vector<std::string> want = {std::string("set ") + kWriter + " " + kDb2 + " 1",
                                   std::string("set ") + kWriter + " " + kDb1 + " 5"};
  CHECK(f.kernel.calls == want);
}

TEST_CASE("IpvsDaemon: the counters show reconciles, kernel changes, drift repairs, netlink errors, a usable state") {
  Fixture f;
  Config cfg = MakeConfig(f.dir.path());
  f.daemon.SetConfig(cfg);
  CHECK_FALSE(f.daemon.counters().state_usable);
  f.kernel.Put(kWriter, kDb1, 0);
  f.kernel.Put(kWriter, kDb2, 1);
  // No state file yet: a reconcile that changes nothing.
  CHECK(f.daemon.Reconcile(1700000000000) == 0);
  CHECK(f.daemon.counters().reconciles == 1);
  CHECK_FALSE(f.daemon.counters().state_usable);
  int64_t now = WriteState(cfg, 0);
  // writerx is not in the kernel: one netlink error; writer's two changes.
  CHECK(f.daemon.Reconcile(now) == 2);
  IpvsDaemon::Counters c = f.daemon.counters();
  CHECK(c.reconciles == 2);
  CHECK(c.state_usable);
  CHECK(c.kernel_changes == 2);
  CHECK(c.drift_repairs == 0);
  CHECK(c.netlink_errors == 1);
  // Someone sets db1's weight back to 0: the next full pass repairs it.
  f.kernel.services[kWriter][0].weight = 0;
  CHECK(f.daemon.Reconcile(now) == 1);
  c = f.daemon.counters();
  CHECK(c.kernel_changes == 3);
  CHECK(c.drift_repairs == 1);
  CHECK(c.netlink_errors == 2);
  // A refused change is a netlink error too.
  f.kernel.services[kWriter][0].weight = 0;
  f.kernel.failing.insert(std::string("set ") + kWriter + " " + kDb1 + " 5");
  CHECK(f.daemon.Reconcile(now) == 0);
  CHECK(f.daemon.counters().netlink_errors == 4);
  std::string page = RenderIpvsMetrics(f.daemon.counters(), MetricsEndpoint::Counters(), 1700000000000);
  for (const char* line : {"mpp_build_info{program=\"mpp-ipvs\",version=\"" MPP_VERSION "\"} 1",
                           "mpp_ipvs_reconciles_total 4", "mpp_ipvs_kernel_changes_total 3",
                           "mpp_ipvs_drift_repairs_total 1", "mpp_ipvs_netlink_errors_total 4",
                           "mpp_ipvs_state_usable 1", "process_start_time_seconds 1700000000"})
    CHECK_MESSAGE(page.find(std::string("\n") + line + "\n") != std::string::npos, line);
}

}  // namespace
}  // namespace mpp
