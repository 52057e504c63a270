#include "cluster/decision_codec.h"

#include <nlohmann/json.hpp>

namespace mpp {

using nlohmann::json;

std::string EncodeDecision(const PublishedDecision& d) {
  json pools = json::array();
  for (const PublishedPool& p : d.pools) {
    json nodes = json::array();
    for (const PublishedNode& n : p.nodes)
      nodes.push_back({{"name", n.name},
                       {"state", StateName(n.state)},
                       {"why", n.why},
                       {"demoted", n.demoted},
                       {"offline", n.offline}});
    pools.push_back({{"name", p.name},
                     {"elected", p.elected},
                     {"active", p.active},
                     {"active_by_switchover", p.active_by_switchover},
                     {"last_failover",
                      {{"time_ms", p.last_failover.time_ms}, {"from", p.last_failover.from}, {"to", p.last_failover.to}}},
                     {"nodes", nodes}});
  }
  json vss = json::array();
  for (const PublishedVs& v : d.vss) vss.push_back({{"name", v.name}, {"up", v.up}});
  json j = {{"format", kDecisionFormat}, {"epoch", d.epoch}, {"seq", d.seq},   {"leader", d.leader},
            {"time_ms", d.time_ms},      {"pools", pools},     {"vs", vss}};
  return j.dump();
}

bool DecodeDecision(const std::string& text, PublishedDecision* out, std::string* err) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *err = "not JSON";
    return false;
  }
  try {
    if (j.at("format").get<int>() != kDecisionFormat) {
      *err = "unknown format " + j.at("format").dump();
      return false;
    }
    PublishedDecision d;
    d.epoch = j.at("epoch").get<int64_t>();
    d.seq = j.at("seq").get<int64_t>();
    d.leader = j.at("leader").get<std::string>();
    d.time_ms = j.at("time_ms").get<int64_t>();
    for (const json& p : j.at("pools")) {
      PublishedPool pp;
      pp.name = p.at("name").get<std::string>();
      pp.elected = p.at("elected").get<bool>();
      pp.active = p.at("active").get<std::string>();
      pp.active_by_switchover = p.at("active_by_switchover").get<bool>();
      const json& f = p.at("last_failover");
      pp.last_failover.time_ms = f.at("time_ms").get<int64_t>();
      pp.last_failover.from = f.at("from").get<std::string>();
      pp.last_failover.to = f.at("to").get<std::string>();
      for (const json& n : p.at("nodes")) {
        PublishedNode pn;
        pn.name = n.at("name").get<std::string>();
        std::string state = n.at("state").get<std::string>();
        if (!ParseState(state.c_str(), &pn.state)) {
          *err = "unknown STATE '" + state + "'";
          return false;
        }
        pn.why = n.at("why").get<std::string>();
        pn.demoted = n.at("demoted").get<bool>();
        pn.offline = n.at("offline").get<bool>();
        pp.nodes.push_back(std::move(pn));
      }
      d.pools.push_back(std::move(pp));
    }
    for (const json& v : j.at("vs")) {
      PublishedVs pv;
      pv.name = v.at("name").get<std::string>();
      pv.up = v.at("up").get<std::vector<std::string>>();
      d.vss.push_back(std::move(pv));
    }
    *out = std::move(d);
    return true;
  } catch (const json::exception& e) {
    *err = std::string("bad decision: ") + e.what();
    return false;
  }
}

}  // namespace mpp
