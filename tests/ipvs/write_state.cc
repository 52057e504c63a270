// mpp-write-state: writes a state file with the project's own writer
// (FormatStateFile + WriteFileAtomic), from the config and a compact list of
// decisions, so the kernel tests feed mpp-ipvs exactly what mppstate would.
//
//   mpp-write-state -c CONFIG [-o PATH] [--seq N] [--age MS] [--track]
//                   DECISION...
//   DECISION: VS:NODE=up[:WEIGHT] | VS:NODE=down   (VS or NODE may be *)
//
// Unlisted (vs, node) pairs are down. WEIGHT defaults to the node's weight.
// --age makes the file that many milliseconds old (negative: in the future).
// --track also writes the keepalived track files (state_dir/track/VS/NODE)
// the way one mppstate round does: every file whose content on disk differs
// from the decision is replaced.
// Test tool only; never installed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/decimal.h"
#include "common/paths.h"
#include "config/config.h"
#include "core/evaluation.h"
#include "mppstate/state_writer.h"

namespace {

int Fail(const std::string& msg) {
  fprintf(stderr, "mpp-write-state: %s\n", msg.c_str());
  return 2;
}

bool Number(const char* s, int64_t min, int64_t max, int64_t* out) {
  return mpp::ParseDecimal(s, strlen(s), min, max, out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, out;
  int64_t seq = 1, age = 0;
  bool track = false;
  std::vector<std::string> decisions;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) config = argv[++i];
    else if (a == "-o" && i + 1 < argc) out = argv[++i];
    else if (a == "--seq" && i + 1 < argc && Number(argv[++i], 0, INT64_MAX, &seq)) continue;
    else if (a == "--age" && i + 1 < argc && Number(argv[++i], -86400000, 86400000, &age)) continue;
    else if (a == "--track") track = true;
    else if (!a.empty() && a[0] != '-') decisions.push_back(a);
    else return Fail("bad argument " + a);
  }
  if (config.empty()) return Fail("-c CONFIG is required");
  std::ifstream in(config);
  std::stringstream ss;
  ss << in.rdbuf();
  mpp::Config cfg;
  std::vector<std::string> errors;
  if (!in || !mpp::ParseConfig(ss.str(), config, &cfg, &errors)) {
    for (const std::string& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return Fail("cannot read " + config);
  }
  if (out.empty()) out = mpp::StateFilePath(cfg.state_dir);

  mpp::Evaluation ev;
  ev.seq = seq;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ev.time_ms = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000 - age;
  ev.nodes.resize(cfg.nodes.size());
  ev.pools.resize(cfg.pools.size());
  ev.decisions.resize(cfg.vss.size());
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    ev.decisions[v].resize(cfg.pools[static_cast<size_t>(cfg.vss[v].pool)].nodes.size());
  }
  for (const std::string& d : decisions) {
    size_t colon = d.find(':'), eq = d.find('=');
    if (colon == std::string::npos || eq == std::string::npos || eq < colon) {
      return Fail("bad decision " + d);
    }
    std::string vs = d.substr(0, colon), node = d.substr(colon + 1, eq - colon - 1);
    std::string what = d.substr(eq + 1);
    bool up = what.compare(0, 2, "up") == 0;
    if (!up && what != "down") return Fail("bad decision " + d);
    int64_t weight = -1;
    if (up && what.size() > 2 && (what[2] != ':' || !Number(what.c_str() + 3, 0, 65535, &weight)))
      return Fail("bad decision " + d);
    bool matched = false;
    for (size_t v = 0; v < cfg.vss.size(); ++v) {
      if (vs != "*" && vs != cfg.vss[v].name) continue;
      const mpp::PoolConfig& pool = cfg.pools[static_cast<size_t>(cfg.vss[v].pool)];
      for (size_t i = 0; i < pool.nodes.size(); ++i) {
        const mpp::NodeConfig& n = cfg.nodes[static_cast<size_t>(pool.nodes[i])];
        if (node != "*" && node != n.name) continue;
        ev.decisions[v][i].up = up;
        ev.decisions[v][i].weight = up ? (weight >= 0 ? weight : n.weight) : 0;
        matched = true;
      }
    }
    if (!matched) return Fail("no such vs/node in the config: " + d);
  }
  std::string err;
  if (!mpp::WriteFileAtomic(out, mpp::FormatStateFile(cfg, ev, getpid()), 0644, &err)) {
    return Fail(err);
  }
  if (track && !mpp::WriteTrackFiles(cfg, ev, &err)) return Fail(err);
  return 0;
}
