// poll_probe: polls the nodes of an mppstate config once and prints what the
// poller found as JSON, so the integration tests can check the poller
// against real servers. Test-only; not installed.
//
//   poll_probe -c CONFIG [--node NAME]... [--deadline-ms N] [--direct]
//
// By default every node (or the --node ones) is polled at once through
// EventPoller with a deadline of N ms (default: connect timeout plus twice
// the query timeout plus one second). --direct calls PollNode, one node
// after the other.
//
//   poll_probe -c CONFIG --rounds N [--deadline-ms N]
//
// runs N rounds, one after the other, and prints the outcomes counted, and
// the process's open descriptors and resident memory after the first tenth
// of the rounds and after the last, so that the tests can see a leak.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/decimal.h"
#include "config/config.h"
#include "core/status_format.h"
#include "mppstate/event_poller.h"
#include "mppstate/poller.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* OutcomeToken(mpp::PollOutcome o) {
  switch (o) {
    case mpp::PollOutcome::kNotPolled: return "not_polled";
    case mpp::PollOutcome::kOk: return "ok";
    case mpp::PollOutcome::kRefused: return "refused";
    case mpp::PollOutcome::kTimeout: return "timeout";
    case mpp::PollOutcome::kAccessDenied: return "access_denied";
    case mpp::PollOutcome::kTooManyConnections: return "too_many_connections";
    case mpp::PollOutcome::kQueryError: return "query_error";
    case mpp::PollOutcome::kMonitorError: return "monitor_error";
  }
  return "?";
}

const char* IoToken(mpp::IoThread io) {
  switch (io) {
    case mpp::IoThread::kNo: return "no";
    case mpp::IoThread::kYes: return "yes";
    case mpp::IoThread::kConnecting: return "connecting";
  }
  return "?";
}

std::string ResultJson(const std::string& name, const mpp::PollResult& r) {
  std::string j = "{\"name\": " + mpp::JsonString(name) + ", \"outcome\": \"" + OutcomeToken(r.outcome) +
                  "\", \"error\": " + mpp::JsonString(r.error) +
                  ", \"error_code\": " + std::to_string(r.error_code) +
                  ", \"read_only\": " + (r.read_only ? "true" : "false") +
                  ", \"server_id\": " + std::to_string(r.server_id) + ", \"repl\": ";
  const mpp::ReplicationStatus& s = r.repl;
  if (!s.configured) return j + "null}";
  char addr[mpp::kAddressTextMax];
  j += "{\"source\": ";
  j += s.source.kind == mpp::Address::kNone ? "null" : mpp::JsonString(mpp::FormatAddress(s.source, addr));
  j += ", \"source_text\": " + mpp::JsonString(s.source_text);
  j += std::string(", \"io\": \"") + IoToken(s.io) + "\"";
  j += std::string(", \"sql_running\": ") + (s.sql_running ? "true" : "false");
  j += ", \"io_errno\": " + std::to_string(s.io_errno);
  j += ", \"sql_errno\": " + std::to_string(s.sql_errno);
  j += ", \"io_error\": " + mpp::JsonString(s.io_error);
  j += ", \"sql_error\": " + mpp::JsonString(s.sql_error);
  j += ", \"lag_s\": " + std::to_string(s.lag_s);
  j += std::string(", \"relay_applied\": ") + (s.relay_applied ? "true" : "false");
  j += ", \"received\": {\"gtid\": {";
  bool first = true;
  for (const auto& [key, seq] : s.received.gtid) {
    j += (first ? "" : ", ") + mpp::JsonString(key) + ": " + std::to_string(seq);
    first = false;
  }
  j += "}, \"file\": " + mpp::JsonString(s.received.file) + ", \"pos\": " + std::to_string(s.received.pos);
  return j + "}}}";
}

int Usage() {
  fprintf(stderr,
          "usage: poll_probe -c CONFIG [--node NAME]... [--deadline-ms N] [--direct]\n"
          "       poll_probe -c CONFIG --rounds N [--deadline-ms N]\n");
  return 2;
}

// Descriptors open in this process.
int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory's own
}

// Resident memory in KiB (VmRSS), or -1.
long RssKib() {
  FILE* f = fopen("/proc/self/status", "re");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f) != nullptr)
    if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
  fclose(f);
  return kib;
}

int RunRounds(const mpp::Config& cfg, int64_t rounds, int64_t deadline_ms) {
  mpp::EventPoller poller;
  poller.SetWatching(false);
  std::map<std::string, int> outcomes;
  int fds_early = -1;
  long rss_early = -1;
  int64_t warmup = std::max<int64_t>(1, rounds / 10);
  for (int64_t r = 0; r < rounds; ++r) {
    for (const auto& p : poller.PollAll(cfg, Clock::now() + std::chrono::milliseconds(deadline_ms)))
      outcomes[OutcomeToken(p.outcome)]++;
    if (r + 1 == warmup) {
      fds_early = OpenFds();
      rss_early = RssKib();
    }
  }
  std::string out = "{\"rounds\": " + std::to_string(rounds) + ", \"fds_early\": " + std::to_string(fds_early) +
                    ", \"fds_end\": " + std::to_string(OpenFds()) + ", \"rss_kib_early\": " + std::to_string(rss_early) +
                    ", \"rss_kib_end\": " + std::to_string(RssKib()) +
                    ", \"in_flight\": " + std::to_string(poller.InFlight()) + ", \"outcomes\": {";
  bool first = true;
  for (const auto& [k, v] : outcomes) {
    out += (first ? "" : ", ") + mpp::JsonString(k) + ": " + std::to_string(v);
    first = false;
  }
  out += "}}\n";
  fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> only;
  int64_t deadline_ms = -1;
  bool direct = false;
  int64_t rounds = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--node" && i + 1 < argc) {
      only.push_back(argv[++i]);
    } else if (a == "--deadline-ms" && i + 1 < argc) {
      const char* n = argv[++i];
      if (!mpp::ParseDecimal(n, strlen(n), 0, 86400000, &deadline_ms)) return Usage();
    } else if (a == "--direct") {
      direct = true;
    } else if (a == "--rounds" && i + 1 < argc) {
      const char* n = argv[++i];
      if (!mpp::ParseDecimal(n, strlen(n), 1, 1000000, &rounds)) return Usage();
    } else {
      return Usage();
    }
  }
  if (config_path.empty()) return Usage();

  mpp::Config cfg;
  std::vector<std::string> errors;
  if (!mpp::LoadConfig(config_path, &cfg, &errors)) {
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return 2;
  }
  if (!only.empty()) {
    std::vector<mpp::NodeConfig> chosen;
    for (const auto& name : only) {
      int n = cfg.FindNode(name);
      if (n < 0) {
        fprintf(stderr, "poll_probe: no node %s\n", name.c_str());
        return 2;
      }
      chosen.push_back(cfg.nodes[n]);
    }
    cfg.nodes = chosen;  // pools still index the old list: only nodes are used here
  }
  if (deadline_ms < 0) deadline_ms = cfg.connect_timeout_ms + 2 * cfg.query_timeout_ms + 1000;

  if (rounds > 0) return RunRounds(cfg, rounds, deadline_ms);

  auto t0 = Clock::now();
  std::vector<mpp::PollResult> results;
  if (direct) {
    for (const auto& node : cfg.nodes) results.push_back(mpp::PollNode(cfg, node));
  } else {
    mpp::EventPoller poller;
    poller.SetWatching(false);
    results = poller.PollAll(cfg, t0 + std::chrono::milliseconds(deadline_ms));
  }
  long elapsed = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());

  std::string out = "{\"elapsed_ms\": " + std::to_string(elapsed) + ", \"nodes\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    out += (i ? ",\n  " : "\n  ") + ResultJson(cfg.nodes[i].name, results[i]);
  }
  out += "\n]}\n";
  fputs(out.c_str(), stdout);
  fflush(stdout);
  return 0;
}
