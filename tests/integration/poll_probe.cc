// poll_probe: polls the nodes of an mppstate config once and prints what the
// poller found as JSON, so the integration tests can check the poller
// against real servers. Test-only; not installed.
//
//   poll_probe -c CONFIG [--node NAME]... [--deadline-ms N] [--direct]
//
// By default every node (or the --node ones) is polled at once through
// ConcurrentPoller with a deadline of N ms (default: connect timeout plus
// twice the query timeout plus one second). --direct calls PollNode on this
// thread, one node after the other, with no deadline.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/decimal.h"
#include "config/config.h"
#include "core/status_format.h"
#include "mppstate/concurrent_poller.h"
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
  fprintf(stderr, "usage: poll_probe -c CONFIG [--node NAME]... [--deadline-ms N] [--direct]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> only;
  int64_t deadline_ms = -1;
  bool direct = false;
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

  auto t0 = Clock::now();
  std::vector<mpp::PollResult> results;
  if (direct) {
    for (const auto& node : cfg.nodes) results.push_back(mpp::PollNode(cfg, node));
  } else {
    mpp::ConcurrentPoller poller;
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
  // A poll stuck on a stopped server may still be running: leave without
  // tearing down the client library under it.
  _exit(0);
}
