// IpvsPlan: the state file's decisions against the kernel's destinations
// give exactly the operations mpp-ipvs must make, and nothing for what it
// does not manage.
#include <doctest/doctest.h>
#include <string.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "common/state_reader.h"
#include "config/config.h"
#include "ipvs/ipvs_plan.h"

namespace mpp {
namespace {

Config MakeConfig(const std::string& ipvs) {
  std::string text =
      "[global]\nstate_dir = /tmp\n"
      "[pool main]\nnodes = db1, db2\n"
      "[node db1]\naddress = 192.0.2.11:3306\nweight = 5\n"
      "[node db2]\naddress = 192.0.2.12:3306\n"
      "[vs writer]\naddress = 192.0.2.10:3306\npool = main\nrole = rw\n"
      "forward = dr\nupper_threshold = 200\nlower_threshold = 20\n"
      "[vs marks]\naddress = fwmark:7\npool = main\nrole = ro\nprotocol = udp\n" +
      ipvs;
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(text, "test.ini", &cfg, &errors));
  return cfg;
}

Address Addr(const char* s) {
  Address a;
  const char* why = nullptr;
  REQUIRE(ParseAddress(s, strlen(s), &a, &why));
  return a;
}

IpvsDest Kernel(const char* addr, uint32_t weight, IpvsFwd fwd = IpvsFwd::kMasq) {
  IpvsDest d;
  d.address = Addr(addr);
  d.weight = weight;
  d.fwd = fwd;
  d.upper_threshold = 100;
  d.lower_threshold = 10;
  return d;
}

std::vector<DestDecision> Want(bool up1, uint32_t w1, bool up2, uint32_t w2) {
  DestDecision a, b;
  a.known = b.known = true;
  a.up = up1;
  a.weight = w1;
  b.up = up2;
  b.weight = w2;
  return {a, b};
}

TEST_CASE("IpvsPlan: an up node gets its weight and keeps the kernel's forwarding and thresholds") {
  Config cfg = MakeConfig("[ipvs]\n");
  auto acts = PlanService(cfg, 0, Want(true, 5, false, 0),
                          {Kernel("192.0.2.11:3306", 0, IpvsFwd::kTunnel), Kernel("192.0.2.12:3306", 0)});
  REQUIRE(acts.size() == 1);
  CHECK(acts[0].kind == IpvsActionKind::kSetWeight);
  CHECK(acts[0].dest.weight == 5);
  CHECK(acts[0].old_weight == 0);
  CHECK(acts[0].dest.fwd == IpvsFwd::kTunnel);
  CHECK(acts[0].dest.upper_threshold == 100);
  CHECK(acts[0].dest.lower_threshold == 10);
  CHECK(DescribeAction(cfg, acts[0]) == "writer db1 192.0.2.11:3306: weight 0 -> 5 (up)");
}

TEST_CASE("IpvsPlan: quiesce sets a down node to weight 0 and re-adds a missing one at 0") {
  Config cfg = MakeConfig("[ipvs]\non_down = quiesce\n");
  auto acts = PlanService(cfg, 0, Want(false, 0, false, 0), {Kernel("192.0.2.11:3306", 5)});
  REQUIRE(acts.size() == 2);
  CHECK(acts[0].kind == IpvsActionKind::kSetWeight);
  CHECK(acts[0].dest.weight == 0);
  CHECK(acts[1].kind == IpvsActionKind::kAdd);
  CHECK(acts[1].dest.address == Addr("192.0.2.12:3306"));
  CHECK(acts[1].dest.weight == 0);
}

TEST_CASE("IpvsPlan: remove deletes a down node and re-adds an up one from the config") {
  Config cfg = MakeConfig("[ipvs]\non_down = remove\n");
  auto acts = PlanService(cfg, 0, Want(false, 0, true, 1), {Kernel("192.0.2.11:3306", 5)});
  REQUIRE(acts.size() == 2);
  CHECK(acts[0].kind == IpvsActionKind::kDelete);
  CHECK(acts[0].dest.address == Addr("192.0.2.11:3306"));
  CHECK(acts[1].kind == IpvsActionKind::kAdd);
  CHECK(acts[1].dest.fwd == IpvsFwd::kDirect);
  CHECK(acts[1].dest.upper_threshold == 200);
  CHECK(acts[1].dest.lower_threshold == 20);
  CHECK(acts[1].dest.weight == 1);
  // Already absent and down: nothing to do.
  CHECK(PlanService(cfg, 0, Want(false, 0, true, 1), {Kernel("192.0.2.12:3306", 1)}).empty());
}

TEST_CASE("IpvsPlan: downs and lower weights are down steps; ups and higher weights are not") {
  Config quiesce = MakeConfig("[ipvs]\n");
  Config remove = MakeConfig("[ipvs]\non_down = remove\n");
  // Quiesce a node, re-add a missing one at 0, delete one: all down steps.
  auto acts = PlanService(quiesce, 0, Want(false, 0, false, 0), {Kernel("192.0.2.11:3306", 5)});
  REQUIRE(acts.size() == 2);
  CHECK(IsDownStep(acts[0]));
  CHECK(IsDownStep(acts[1]));
  acts = PlanService(remove, 0, Want(false, 0, true, 1), {Kernel("192.0.2.11:3306", 5)});
  REQUIRE(acts.size() == 2);
  CHECK(IsDownStep(acts[0]));        // deleted
  CHECK_FALSE(IsDownStep(acts[1]));  // added with weight 1
  // Both up: the lower weight is a down step, the higher one is not.
  acts = PlanService(quiesce, 0, Want(true, 5, true, 1),
                     {Kernel("192.0.2.11:3306", 1), Kernel("192.0.2.12:3306", 5)});
  REQUIRE(acts.size() == 2);
  CHECK_FALSE(IsDownStep(acts[0]));
  CHECK(IsDownStep(acts[1]));
}

TEST_CASE("IpvsPlan: a kernel in line needs nothing; foreign destinations are never touched") {
  Config cfg = MakeConfig("[ipvs]\n");
  std::vector<IpvsDest> kernel = {Kernel("192.0.2.99:3306", 9), Kernel("192.0.2.11:3306", 5),
                                  Kernel("192.0.2.12:3306", 0)};
  CHECK(PlanService(cfg, 0, Want(true, 5, false, 0), kernel).empty());
  for (const IpvsAction& a : PlanService(cfg, 0, Want(false, 0, true, 1), kernel)) {
    CHECK(a.dest.address != Addr("192.0.2.99:3306"));
  }
}

TEST_CASE("IpvsPlan: an unknown decision leaves the destination alone") {
  Config cfg = MakeConfig("[ipvs]\non_down = remove\n");
  std::vector<DestDecision> want(2);
  CHECK(PlanService(cfg, 0, want, {Kernel("192.0.2.11:3306", 5)}).empty());
}

TEST_CASE("IpvsPlan: service keys follow the config (protocol, fwmark family)") {
  Config cfg = MakeConfig("[ipvs]\n");
  IpvsServiceKey w = ServiceKeyOf(cfg, 0);
  CHECK(w.family == AF_INET);
  CHECK(w.protocol == IpvsProto::kTcp);
  CHECK(IpvsServiceText(w) == "TCP 192.0.2.10:3306");
  IpvsServiceKey m = ServiceKeyOf(cfg, 1);
  CHECK(m.address.kind == Address::kFwmark);
  CHECK(m.family == AF_INET);
  CHECK(IpvsServiceText(m) == "FWM 7");
}

TEST_CASE("IpvsPlan: decisions are read by name; an address the config disagrees with is left alone") {
  Config cfg = MakeConfig("[ipvs]\n");
  std::string text =
      "mpp-state 1\npid 1\nseq 1\ntime_ms 1000\ninterval_ms 1000\nstale_after_ms 30000\n"
      "pool main ok -\n"
      "node main db1 PRIMARY ACTIVE OK 192.0.2.11:3306 - 0 -\n"
      "node main db2 SECONDARY STANDBY OK 192.0.2.12:3306 0 0 -\n"
      "vs writer rw main 192.0.2.10:3306\n"
      "dest writer db1 192.0.2.11:3306 up 5\n"
      "dest writer db2 192.0.2.12:3306 down 0\n"
      "vs marks ro main fwmark:8\n"
      "dest marks db1 192.0.2.11:3306 down 0\n"
      "dest marks db2 192.0.2.12:3306 up 1\n"
      "vs other rw main 192.0.2.50:3306\n"
      "dest other db1 192.0.2.11:3306 up 1\n"
      "dest other db2 192.0.2.12:3306 up 1\n"
      "end\n";
  StateFile f;
  const char* why = nullptr;
  REQUIRE(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kOk);
  Decisions d;
  std::vector<std::string> notes;
  REQUIRE(ReadDecisions(cfg, f, &d, &notes, &why));
  REQUIRE(d.size() == 2);
  CHECK(d[0][0].known);
  CHECK(d[0][0].up);
  CHECK(d[0][0].weight == 5);
  CHECK(d[0][1].known);
  CHECK_FALSE(d[0][1].up);
  CHECK_FALSE(d[1][0].known);  // fwmark:8 in the file, fwmark:7 in the config
  CHECK_FALSE(d[1][1].known);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "vs marks: the state file has address fwmark:8, the config fwmark:7: left alone");
}

TEST_CASE("IpvsPlan: the status table shows desired and kernel side by side") {
  Config cfg = MakeConfig("[ipvs]\n");
  std::string s = FormatServiceStatus(cfg, 0, Want(true, 5, false, 0),
                                      {Kernel("192.0.2.11:3306", 3), Kernel("192.0.2.99:3306", 9)}, "");
  CHECK(s.find("vs writer  TCP 192.0.2.10:3306  pool main  on_down quiesce") == 0);
  CHECK(s.find("db1              192.0.2.11:3306              up 5           masq 3") != std::string::npos);
  CHECK(s.find("DIFFERS") != std::string::npos);
  CHECK(s.find("(foreign)        192.0.2.99:3306") != std::string::npos);
}

}  // namespace
}  // namespace mpp
