// TopologyWorker: a director pair's guard runs before each change to a
// database, and a refusal stops the step before any connection.
#include "mppstate/topology_worker.h"

#include <poll.h>

#include <doctest/doctest.h>

#include "mppstate/mysql_connect.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// Waits up to 10 s for the worker's first report.
std::vector<TopologyReport> FirstReports(TopologyWorker* w) {
  struct pollfd p = {w->event_fd(), POLLIN, 0};
  REQUIRE(poll(&p, 1, 10000) == 1);
  return w->TakeReports();
}

// A plan of one fence of db1 (nothing listens on port 1, where it is).
std::vector<TopologyStep> FencePlan() {
  TopologyStep s;
  s.kind = TopologyStepKind::kFence;
  s.pool = 0;
  s.node = 0;
  s.why = "fence db1";
  return {s};
}

std::shared_ptr<const Config> UnreachablePool() {
  std::string text = PoolConfigText(2);
  size_t at = text.find("127.0.0.1:3301");
  text.replace(at, 14, "127.0.0.1:1");
  return std::make_shared<const Config>(ParseOrDie(text));
}

TEST_CASE("TopologyWorker: a refusal of the guard fails the step without touching the database") {
  InitMysqlLibrary();
  int asked = 0;
  TopologyWorker w;
  w.SetGuard([&asked] {
    ++asked;
    return std::string("epoch 5 is over: another director leads");
  });
  std::string err;
  REQUIRE(w.Start(&err));
  w.PublishActives({{"main", "db2"}});
  REQUIRE(w.OfferPlan(UnreachablePool(), FencePlan()));
  std::vector<TopologyReport> r = FirstReports(&w);
  REQUIRE(r.size() == 1);
  CHECK_FALSE(r[0].outcome.ok);
  CHECK(r[0].outcome.message == "epoch 5 is over: another director leads");
  CHECK(asked == 1);
  w.Stop(5000);
}

TEST_CASE("TopologyWorker: with the guard's consent the step runs") {
  InitMysqlLibrary();
  TopologyWorker w;
  w.SetGuard([] { return std::string(); });
  std::string err;
  REQUIRE(w.Start(&err));
  w.PublishActives({{"main", "db2"}});
  REQUIRE(w.OfferPlan(UnreachablePool(), FencePlan()));
  std::vector<TopologyReport> r = FirstReports(&w);
  REQUIRE(r.size() == 1);
  CHECK_FALSE(r[0].outcome.ok);  // it tried: nothing listens there
  CHECK(r[0].outcome.message.find("epoch") == std::string::npos);
  CHECK(r[0].outcome.message.find("db1") != std::string::npos);
  w.Stop(5000);
}

}  // namespace
}  // namespace mpp
