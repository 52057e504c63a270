// topology_probe: runs one step of mppstate/topology_steps.h against the
// nodes of an mppstate config and prints its StepOutcome as one JSON line,
// {"ok": true, "message": "...", "diverged": false}, so the integration
// tests can check each step against real servers. Test-only; not installed.
//
//   topology_probe -c CONFIG fence NODE
//   topology_probe -c CONFIG promote NODE [--stop-replication] [--apply-wait MS] [--others A,B]
//   topology_probe -c CONFIG attach NODE SOURCE [--wait MS]
//   topology_probe -c CONFIG start NODE [--wait MS]
//   topology_probe -c CONFIG sever NODE SOURCE [--wait MS]
//   topology_probe -c CONFIG catch-up OLD TARGET --timeout MS
//   topology_probe -c CONFIG unfence NODE
//
// Exits 0 when the step succeeded, 1 when it failed, 2 on a bad command
// line or config. --wait defaults to what the daemon's worker allows (the
// connect timeout plus two query timeouts plus 1 s), --apply-wait to
// switchover_timeout.
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "common/decimal.h"
#include "config/config.h"
#include "core/status_format.h"
#include "mppstate/poller.h"
#include "mppstate/topology_steps.h"

namespace {

int Usage() {
  fprintf(stderr,
          "usage: topology_probe -c CONFIG fence NODE\n"
          "       topology_probe -c CONFIG promote NODE [--stop-replication] [--apply-wait MS] [--others A,B]\n"
          "       topology_probe -c CONFIG attach NODE SOURCE [--wait MS]\n"
          "       topology_probe -c CONFIG start NODE [--wait MS]\n"
          "       topology_probe -c CONFIG sever NODE SOURCE [--wait MS]\n"
          "       topology_probe -c CONFIG catch-up OLD TARGET --timeout MS\n"
          "       topology_probe -c CONFIG unfence NODE\n");
  return 2;
}

// "a,b" -> {"a", "b"}.
std::vector<std::string> SplitNames(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (end > start) out.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Milliseconds(const char* text, int64_t* out) {
  return mpp::ParseDecimal(text, strlen(text), 0, 86400000, out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> words;  // the step and its nodes
  bool stop_replication = false;
  int64_t apply_wait_ms = -1, wait_ms = -1, timeout_ms = -1;
  std::vector<std::string> others;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "-c" && has_value) {
      config_path = argv[++i];
    } else if (a == "--stop-replication") {
      stop_replication = true;
    } else if (a == "--apply-wait" && has_value) {
      if (!Milliseconds(argv[++i], &apply_wait_ms)) return Usage();
    } else if (a == "--wait" && has_value) {
      if (!Milliseconds(argv[++i], &wait_ms)) return Usage();
    } else if (a == "--timeout" && has_value) {
      if (!Milliseconds(argv[++i], &timeout_ms)) return Usage();
    } else if (a == "--others" && has_value) {
      others = SplitNames(argv[++i]);
    } else if (!a.empty() && a[0] == '-') {
      return Usage();
    } else {
      words.push_back(a);
    }
  }
  if (config_path.empty() || words.empty()) return Usage();

  mpp::Config cfg;
  std::vector<std::string> errors;
  if (!mpp::LoadConfig(config_path, &cfg, &errors)) {
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return 2;
  }
  std::vector<mpp::NodeConfig> nodes;
  for (size_t i = 1; i < words.size(); ++i) {
    int n = cfg.FindNode(words[i]);
    if (n < 0) {
      fprintf(stderr, "topology_probe: no node %s\n", words[i].c_str());
      return 2;
    }
    nodes.push_back(cfg.nodes[static_cast<size_t>(n)]);
  }
  std::vector<mpp::NodeConfig> other_nodes;
  for (const auto& name : others) {
    int n = cfg.FindNode(name);
    if (n < 0) {
      fprintf(stderr, "topology_probe: no node %s\n", name.c_str());
      return 2;
    }
    other_nodes.push_back(cfg.nodes[static_cast<size_t>(n)]);
  }
  if (wait_ms < 0) wait_ms = cfg.connect_timeout_ms + 2 * cfg.query_timeout_ms + 1000;
  if (apply_wait_ms < 0) apply_wait_ms = cfg.switchover_timeout_ms;

  mpp::MysqlThread registered;
  const std::string& step = words[0];
  // The pool of the first node says whether semi-sync follows the writer.
  int pool = nodes.empty() ? -1 : cfg.PoolOfNode(cfg.FindNode(nodes[0].name));
  bool semi_sync = pool >= 0 && cfg.pools[static_cast<size_t>(pool)].semi_sync;
  mpp::StepOutcome out;
  if (step == "fence" && nodes.size() == 1) {
    out = mpp::FenceNode(cfg, nodes[0], mpp::WriterSemiSyncSeen(), 0);
  } else if (step == "promote" && nodes.size() == 1) {
    out = mpp::PromoteNode(cfg, nodes[0], stop_replication, semi_sync, apply_wait_ms, other_nodes);
  } else if (step == "attach" && nodes.size() == 2) {
    out = mpp::AttachNode(cfg, nodes[0], nodes[1], semi_sync, wait_ms);
  } else if (step == "start" && nodes.size() == 1) {
    out = mpp::StartReplication(cfg, nodes[0], wait_ms);
  } else if (step == "sever" && nodes.size() == 2) {
    out = mpp::SeverNode(cfg, nodes[0], nodes[1], semi_sync, wait_ms);
  } else if (step == "catch-up" && nodes.size() == 2 && timeout_ms >= 0) {
    out = mpp::WaitForCatchUp(cfg, nodes[0], nodes[1], timeout_ms);
  } else if (step == "unfence" && nodes.size() == 1) {
    out = mpp::UnfenceNode(cfg, nodes[0]);
  } else {
    return Usage();
  }
  printf("{\"ok\": %s, \"message\": %s, \"diverged\": %s}\n", out.ok ? "true" : "false",
         mpp::JsonString(out.message).c_str(), out.diverged ? "true" : "false");
  fflush(stdout);
  return out.ok ? 0 : 1;
}
