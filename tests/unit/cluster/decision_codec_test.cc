// DecisionCodec: the published decision survives the trip through etcd's
// value exactly, and anything else is refused whole.
#include "cluster/decision_codec.h"

#include <doctest/doctest.h>

#include "cluster/etcd_client.h"

namespace mpp {
namespace {

PublishedDecision Sample() {
  PublishedDecision d;
  d.epoch = 41;
  d.seq = 7;
  d.leader = "dir-a";
  d.time_ms = 1764172800250;
  PublishedPool p;
  p.name = "main";
  p.elected = true;
  p.active = "db2";
  p.active_by_switchover = true;
  p.last_failover = FailoverRecord{1764172700000, "db1", "db2"};
  p.nodes = {{"db1", State::kFail, "demoted: \"db1\" failed\n", true, false},
             {"db2", State::kActive, "promoted", false, false},
             {"db3", State::kOffline, "taken offline by an operator", false, true}};
  d.pools.push_back(p);
  d.vss = {{"writer", {"db2"}}, {"reader", {}}};
  return d;
}

TEST_CASE("DecisionCodec: a decision reads back as it was written") {
  PublishedDecision d = Sample();
  PublishedDecision back;
  std::string err;
  REQUIRE(DecodeDecision(EncodeDecision(d), &back, &err));
  CHECK(SameDecision(back, d));
  CHECK(back.epoch == 41);
  CHECK(back.seq == 7);
  CHECK(back.leader == "dir-a");
  CHECK(back.time_ms == 1764172800250);
  CHECK(back.pools[0].nodes[0].why == "demoted: \"db1\" failed\n");
  CHECK(back.pools[0].last_failover.to == "db2");
}

TEST_CASE("DecisionCodec: anything but a whole decision of format 1 is refused") {
  PublishedDecision out;
  std::string err;
  CHECK_FALSE(DecodeDecision("", &out, &err));
  CHECK(err == "not JSON");
  CHECK_FALSE(DecodeDecision("[1,2]", &out, &err));
  std::string good = EncodeDecision(Sample());
  std::string v2 = good;
  v2.replace(v2.find("\"format\":1"), 10, "\"format\":2");
  CHECK_FALSE(DecodeDecision(v2, &out, &err));
  CHECK(err == "unknown format 2");
  std::string bad_state = good;
  bad_state.replace(bad_state.find("\"ACTIVE\""), 8, "\"LEADER\"");
  CHECK_FALSE(DecodeDecision(bad_state, &out, &err));
  CHECK(err == "unknown STATE 'LEADER'");
  std::string no_vs = good.substr(0, good.find(",\"vs\"")) + "}";
  CHECK_FALSE(DecodeDecision(no_vs, &out, &err));
  CHECK(err.rfind("bad decision: ", 0) == 0);
  std::string wrong_type = good;
  wrong_type.replace(wrong_type.find("\"seq\":7"), 7, "\"seq\":\"7\"");
  CHECK_FALSE(DecodeDecision(wrong_type, &out, &err));
  CHECK(out.epoch == 0);  // nothing of a refused value is kept
}

TEST_CASE("Base64: what etcd's gateway sends round-trips, and garbage is refused") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "/mpp/leader"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "L21wcC9sZWFkZXI="};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; ++i) {
    CHECK(Base64Encode(plain[i]) == coded[i]);
    std::string back;
    REQUIRE(Base64Decode(coded[i], &back));
    CHECK(back == plain[i]);
  }
  std::string binary("\0\xff\x10 z", 5);
  std::string back;
  REQUIRE(Base64Decode(Base64Encode(binary), &back));
  CHECK(back == binary);
  CHECK_FALSE(Base64Decode("Zg=", &back));
  CHECK_FALSE(Base64Decode("Z!==", &back));
  CHECK_FALSE(Base64Decode("Zm9v\n", &back));
}

}  // namespace
}  // namespace mpp
