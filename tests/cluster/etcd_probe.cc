// etcd_probe: makes calls of cluster/etcd_client.h from the command line and
// prints etcd's answers as JSON, so that the etcd suite can check the client
// against real etcd clusters. Test-only; not installed.
//
//   etcd_probe --endpoints URL[,URL...] [--cacert F --cert F --key F]
//              [--user U --password-file F] [--timeout-ms N]
//              [--repeat N --pause-ms N] COMMAND ARGS...
//
//   grant TTL                     a lease: {"id", "ttl"}
//   keepalive ID                  {"ttl"}: 0 once the lease expired
//   revoke ID                     {"revoked"}
//   get KEY                       {"revision", "kvs": [...]}
//   put KEY VALUE [LEASE]         a transaction without compares
//   delete KEY                    likewise
//   txn-create KEY VALUE LEASE    the campaign: put if the key's create
//                                 revision is 0, else read it: {"succeeded",
//                                 "revision", "holder"}
//   watch PREFIX FROM_REV COUNT   one line per event; exits after COUNT events
//                                 (0: never) or on SIGTERM/SIGINT, with 0
//   bench N KEY                   N rounds of grant, txn-create, range (on
//                                 KEY/1..N): median and max of each in µs
//   base64 TEXT                   Base64Encode(TEXT): {"base64"}
//   unbase64 TEXT                 Base64Decode(TEXT), or exit 1
//
// Every answer is one JSON line on stdout, with "endpoint" (where the next
// call would start) and "elapsed_ms"; --repeat runs the command N times,
// --pause-ms apart, one line each. An error goes to stderr and exits 1; a
// wrong command line exits 2.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/etcd_client.h"

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_signalled = 0;

void OnSignal(int) { g_signalled = 1; }

int Usage() {
  fprintf(stderr,
          "usage: etcd_probe --endpoints URL[,URL...] [--cacert F --cert F --key F]\n"
          "                  [--user U --password-file F] [--timeout-ms N] [--repeat N --pause-ms N]\n"
          "                  grant TTL | keepalive ID | revoke ID | get KEY | put KEY VALUE [LEASE] |\n"
          "                  delete KEY | txn-create KEY VALUE LEASE | watch PREFIX FROM_REV COUNT |\n"
          "                  bench N KEY | base64 TEXT | unbase64 TEXT\n");
  return 2;
}

bool ParseInt(const char* text, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  *out = v;
  return true;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(s.substr(start, comma - start));
  out.push_back(s.substr(start));
  return out;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json KvJson(const mpp::EtcdKv& kv) {
  return {{"key", kv.key},           {"value", kv.value},       {"create_revision", kv.create_revision},
          {"mod_revision", kv.mod_revision}, {"version", kv.version}, {"lease", kv.lease}};
}

Json KvsJson(const std::vector<mpp::EtcdKv>& kvs) {
  Json list = Json::array();
  for (const mpp::EtcdKv& kv : kvs) list.push_back(KvJson(kv));
  return list;
}

int Fail(const std::string& err) {
  fprintf(stderr, "etcd_probe: %s\n", err.c_str());
  return 1;
}

// A put or a delete alone: a transaction without compares.
bool Write(mpp::EtcdClient* c, mpp::EtcdOp op, Json* out, std::string* err) {
  mpp::EtcdTxnResult r;
  if (!c->Txn({}, {op}, {}, &r, err)) return false;
  *out = {{"revision", r.revision}};
  return true;
}

bool Campaign(mpp::EtcdClient* c, const std::string& key, const std::string& value, int64_t lease,
              mpp::EtcdTxnResult* r, std::string* err) {
  mpp::EtcdCompare unclaimed;
  unclaimed.target = mpp::EtcdCompare::kCreateRevision;
  unclaimed.key = key;
  unclaimed.number = 0;
  mpp::EtcdOp put;
  put.kind = mpp::EtcdOp::kPut;
  put.key = key;
  put.value = value;
  put.lease = lease;
  mpp::EtcdOp read;
  read.kind = mpp::EtcdOp::kRange;
  read.key = key;
  return c->Txn({unclaimed}, {put}, {read}, r, err);
}

Json Figures(std::vector<int64_t> us) {
  std::sort(us.begin(), us.end());
  return {{"median_us", us.empty() ? 0 : us[us.size() / 2]}, {"max_us", us.empty() ? 0 : us.back()}};
}

int64_t MicrosSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

bool Bench(mpp::EtcdClient* c, int64_t rounds, const std::string& key, Json* out, std::string* err) {
  std::vector<int64_t> grant, txn, range, leases;
  for (int64_t i = 1; i <= rounds; ++i) {
    const std::string k = key + "/" + std::to_string(i);
    int64_t id, ttl;
    Clock::time_point t0 = Clock::now();
    if (!c->LeaseGrant(10, &id, &ttl, err)) return false;
    grant.push_back(MicrosSince(t0));
    leases.push_back(id);
    mpp::EtcdTxnResult r;
    t0 = Clock::now();
    if (!Campaign(c, k, "bench", id, &r, err)) return false;
    txn.push_back(MicrosSince(t0));
    std::vector<mpp::EtcdKv> kvs;
    t0 = Clock::now();
    if (!c->Range(k, &kvs, nullptr, err)) return false;
    range.push_back(MicrosSince(t0));
  }
  for (int64_t id : leases)
    if (!c->LeaseRevoke(id, err)) return false;
  *out = {{"rounds", rounds}, {"grant", Figures(grant)}, {"txn", Figures(txn)}, {"range", Figures(range)}};
  return true;
}

// Prints events as they come; the answer line is not printed for a watch.
int RunWatch(mpp::EtcdClient* c, const std::vector<std::string>& args) {
  int64_t from, count;
  if (args.size() != 4 || !ParseInt(args[2].c_str(), &from) || !ParseInt(args[3].c_str(), &count)) return Usage();
  int64_t seen = 0;
  auto on_event = [&](const mpp::EtcdEvent& e) {
    if (count > 0 && seen >= count) return;  // the rest of the batch that held the last one
    Json line = KvJson(e.kv);
    line["type"] = e.deleted ? "DELETE" : "PUT";
    printf("%s\n", Dump(line).c_str());
    fflush(stdout);
    ++seen;
  };
  auto stop = [&] { return g_signalled != 0 || (count > 0 && seen >= count); };
  std::string err;
  if (!c->Watch(args[1], from, on_event, stop, &err)) return Fail(err);
  return 0;
}

// One command; *out is its answer.
int RunOnce(mpp::EtcdClient* c, const std::vector<std::string>& a, Json* out) {
  const std::string& cmd = a[0];
  std::string err;
  int64_t n = 0, m = 0;
  if (cmd == "grant" && a.size() == 2 && ParseInt(a[1].c_str(), &n)) {
    int64_t id, ttl;
    if (!c->LeaseGrant(n, &id, &ttl, &err)) return Fail(err);
    *out = {{"id", id}, {"ttl", ttl}};
  } else if (cmd == "keepalive" && a.size() == 2 && ParseInt(a[1].c_str(), &n)) {
    int64_t ttl;
    if (!c->LeaseKeepAlive(n, &ttl, &err)) return Fail(err);
    *out = {{"ttl", ttl}};
  } else if (cmd == "revoke" && a.size() == 2 && ParseInt(a[1].c_str(), &n)) {
    if (!c->LeaseRevoke(n, &err)) return Fail(err);
    *out = {{"revoked", n}};
  } else if (cmd == "get" && a.size() == 2) {
    std::vector<mpp::EtcdKv> kvs;
    int64_t revision;
    if (!c->Range(a[1], &kvs, &revision, &err)) return Fail(err);
    *out = {{"revision", revision}, {"kvs", KvsJson(kvs)}};
  } else if (cmd == "put" && (a.size() == 3 || (a.size() == 4 && ParseInt(a[3].c_str(), &n)))) {
    mpp::EtcdOp op;
    op.kind = mpp::EtcdOp::kPut;
    op.key = a[1];
    op.value = a[2];
    op.lease = n;
    if (!Write(c, op, out, &err)) return Fail(err);
  } else if (cmd == "delete" && a.size() == 2) {
    mpp::EtcdOp op;
    op.kind = mpp::EtcdOp::kDelete;
    op.key = a[1];
    if (!Write(c, op, out, &err)) return Fail(err);
  } else if (cmd == "txn-create" && a.size() == 4 && ParseInt(a[3].c_str(), &n)) {
    mpp::EtcdTxnResult r;
    if (!Campaign(c, a[1], a[2], n, &r, &err)) return Fail(err);
    Json holder = nullptr;
    if (!r.succeeded && r.ranges.size() == 1 && r.ranges[0].size() == 1) holder = KvJson(r.ranges[0][0]);
    *out = {{"succeeded", r.succeeded}, {"revision", r.revision}, {"holder", holder}};
  } else if (cmd == "bench" && a.size() == 3 && ParseInt(a[1].c_str(), &m) && m > 0) {
    if (!Bench(c, m, a[2], out, &err)) return Fail(err);
  } else if (cmd == "base64" && a.size() == 2) {
    *out = {{"base64", mpp::Base64Encode(a[1])}};
  } else if (cmd == "unbase64" && a.size() == 2) {
    std::string bytes;
    if (!mpp::Base64Decode(a[1], &bytes)) return Fail("not base64: " + a[1]);
    *out = {{"bytes", bytes}};
  } else {
    return Usage();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mpp::EtcdOptions opt;
  int64_t repeat = 1, pause_ms = 0;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (i + 1 >= argc) return Usage();
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--endpoints") {
      opt.endpoints = SplitCommas(value);
    } else if (flag == "--cacert") {
      opt.cacert = value;
    } else if (flag == "--cert") {
      opt.cert = value;
    } else if (flag == "--key") {
      opt.key = value;
    } else if (flag == "--user") {
      opt.user = value;
    } else if (flag == "--password-file") {
      std::ifstream f(value);
      if (!f || !std::getline(f, opt.password)) return Fail(std::string("cannot read ") + value);
    } else if (flag == "--timeout-ms") {
      if (!ParseInt(value, &opt.timeout_ms) || opt.timeout_ms <= 0) return Usage();
    } else if (flag == "--repeat") {
      if (!ParseInt(value, &repeat) || repeat <= 0) return Usage();
    } else if (flag == "--pause-ms") {
      if (!ParseInt(value, &pause_ms) || pause_ms < 0) return Usage();
    } else {
      return Usage();
    }
  }
  if (i >= argc) return Usage();
  std::vector<std::string> args(argv + i, argv + argc);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  mpp::EtcdClient client(opt);
  if (args[0] == "watch") return RunWatch(&client, args);
  for (int64_t r = 0; r < repeat; ++r) {
    if (r > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    Json out;
    const Clock::time_point t0 = Clock::now();
    int code = RunOnce(&client, args, &out);
    if (code != 0) return code;
    out["endpoint"] = client.endpoint();
    out["elapsed_ms"] = MicrosSince(t0) / 1000.0;
    printf("%s\n", Dump(out).c_str());
    fflush(stdout);
  }
  return 0;
}
