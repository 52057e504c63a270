// mpp-lab-client: the application side of the LVS lab (tests/lab/run).
//
//   mpp-lab-client run --rw HOST:PORT [--ro HOST:PORT] --user U
//                      --password-file F --acks FILE [--status FILE]
//                      [--max-seconds N]
//   mpp-lab-client verify --rw HOST:PORT --user U --password-file F
//                         --acks FILE --fault-at MS
//
// run: a writer inserts one row per statement (autocommit) into lab.w with
// ids 1, 2, 3... that it never reuses, and records the ack time of every OK;
// a reader (with --ro) reads MAX(id) every 10 ms and measures how stale each
// read was. Both reconnect every 10 ms after any error. On SIGTERM/SIGINT it
// writes the acks ("id ms" lines) to --acks, its own figures to ACKS.figures,
// prints a summary and exits 0.
//
// verify: reads the ids present on the server behind --rw (the final writer)
// and prints one line
//   LAB acked=N lost=K unavail_ms=U last_before_ms=A first_after_ms=B
//       max_gap_ms=G server_id=S [lost_ids=...] [figures of the run]
// exit 0 when it could read the table, 1 otherwise.
//
// Times are CLOCK_BOOTTIME in milliseconds: the guest's shell reads the same
// clock from /proc/uptime. The password is read from a file, never argv.
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void SleepMs(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

struct Endpoint {
  std::string host;
  unsigned port = 0;
};

bool ParseEndpoint(const std::string& s, Endpoint* e) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  char* end = nullptr;
  unsigned long port = strtoul(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port == 0 || port > 65535) return false;
  e->host = s.substr(0, colon);
  e->port = static_cast<unsigned>(port);
  return true;
}

struct Options {
  std::string cmd;
  Endpoint rw, ro;
  bool have_rw = false, have_ro = false;
  std::string user, password, acks, status;
  int64_t fault_at = -1;
  int max_seconds = 600;
};

[[noreturn]] void Usage(const char* msg) {
  if (msg) fprintf(stderr, "mpp-lab-client: %s\n", msg);
  fprintf(stderr,
          "usage: mpp-lab-client run --rw HOST:PORT [--ro HOST:PORT] --user U --password-file F\n"
          "                          --acks FILE [--status FILE] [--max-seconds N]\n"
          "       mpp-lab-client verify --rw HOST:PORT --user U --password-file F --acks FILE\n"
          "                             --fault-at MS\n");
  exit(2);
}

bool ReadPassword(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::getline(f, *out);
  while (!out->empty() && (out->back() == '\r' || out->back() == '\n')) out->pop_back();
  return true;
}

Options ParseArgs(int argc, char** argv) {
  if (argc < 2) Usage(nullptr);
  Options o;
  o.cmd = argv[1];
  if (o.cmd != "run" && o.cmd != "verify") Usage("unknown command");
  std::string password_file;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) Usage(("missing value after " + a).c_str());
    std::string v = argv[++i];
    if (a == "--rw") {
      if (!ParseEndpoint(v, &o.rw)) Usage("--rw: not HOST:PORT");
      o.have_rw = true;
    } else if (a == "--ro") {
      if (!ParseEndpoint(v, &o.ro)) Usage("--ro: not HOST:PORT");
      o.have_ro = true;
    } else if (a == "--user") {
      o.user = v;
    } else if (a == "--password-file") {
      password_file = v;
    } else if (a == "--acks") {
      o.acks = v;
    } else if (a == "--status") {
      o.status = v;
    } else if (a == "--fault-at") {
      o.fault_at = strtoll(v.c_str(), nullptr, 10);
    } else if (a == "--max-seconds") {
      o.max_seconds = atoi(v.c_str());
    } else {
      Usage(("unknown option " + a).c_str());
    }
  }
  if (!o.have_rw || o.user.empty() || password_file.empty() || o.acks.empty())
    Usage("--rw, --user, --password-file and --acks are required");
  if (o.cmd == "verify" && o.fault_at < 0) Usage("verify needs --fault-at");
  if (!ReadPassword(password_file, &o.password)) {
    fprintf(stderr, "mpp-lab-client: cannot read %s\n", password_file.c_str());
    exit(2);
  }
  return o;
}

// A connection with 1 s connect, read and write timeouts, so that a server
// that stopped answering (SIGSTOP, a partition without RST) is noticed.
MYSQL* Connect(const Options& o, const Endpoint& e, std::string* err) {
  MYSQL* m = mysql_init(nullptr);
  if (!m) {
    *err = "mysql_init failed";
    return nullptr;
  }
  unsigned timeout = 1;
  unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
  if (!mysql_real_connect(m, e.host.c_str(), o.user.c_str(), o.password.c_str(), nullptr, e.port, nullptr, 0)) {
    *err = mysql_error(m);
    mysql_close(m);
    return nullptr;
  }
  return m;
}

struct Ack {
  int64_t id;
  int64_t ms;
};

struct Shared {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Ack> acks;             // in id order: one writer, ids increase
  std::atomic<int64_t> errors{0};    // failed statements and connects of the writer
  std::atomic<int64_t> reads{0};
  std::atomic<int64_t> read_errors{0};
  std::vector<int64_t> staleness;    // reader thread only until joined
};

void Writer(const Options& o, Shared* s) {
  MYSQL* m = nullptr;
  int64_t next_id = 1;
  std::string err;
  while (!s->stop) {
    if (!m) {
      m = Connect(o, o.rw, &err);
      if (!m) {
        s->errors++;
        SleepMs(10);
        continue;
      }
    }
    // A fresh id for every attempt: an INSERT whose outcome is unknown may
    // have committed, so its id is never used again.
    int64_t id = next_id++;
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO lab.w (id, sent_ms) VALUES (%lld, %lld)", static_cast<long long>(id),
             static_cast<long long>(NowMs()));
    if (mysql_query(m, sql) == 0) {
      int64_t t = NowMs();
      std::lock_guard<std::mutex> lock(s->mu);
      s->acks.push_back({id, t});
    } else {
      s->errors++;
      mysql_close(m);
      m = nullptr;
    }
  }
  if (m) mysql_close(m);
}

// Staleness of a read that started at start_ms and saw ids up to max_id: how
// long ago the first acked id it did not see was acknowledged.
int64_t Staleness(Shared* s, int64_t max_id, int64_t start_ms) {
  std::lock_guard<std::mutex> lock(s->mu);
  auto it = std::upper_bound(s->acks.begin(), s->acks.end(), max_id,
                             [](int64_t v, const Ack& a) { return v < a.id; });
  if (it == s->acks.end() || it->ms >= start_ms) return 0;
  return start_ms - it->ms;
}

void Reader(const Options& o, Shared* s) {
  MYSQL* m = nullptr;
  std::string err;
  while (!s->stop) {
    if (!m) {
      m = Connect(o, o.ro, &err);
      if (!m) {
        s->read_errors++;
        SleepMs(10);
        continue;
      }
    }
    int64_t start = NowMs();
    bool ok = false;
    int64_t max_id = 0;
    if (mysql_query(m, "SELECT MAX(id) FROM lab.w") == 0) {
      MYSQL_RES* r = mysql_store_result(m);
      if (r) {
        MYSQL_ROW row = mysql_fetch_row(r);
        if (row) {
          ok = true;
          if (row[0]) max_id = strtoll(row[0], nullptr, 10);
        }
        mysql_free_result(r);
      }
    }
    if (!ok) {
      s->read_errors++;
      mysql_close(m);
      m = nullptr;
      SleepMs(10);
      continue;
    }
    s->reads++;
    s->staleness.push_back(Staleness(s, max_id, start));
    SleepMs(10);
  }
  if (m) mysql_close(m);
}

bool WriteFileAtomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (!f) return false;
  bool ok = fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = (fclose(f) == 0) && ok;
  if (ok) ok = rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) unlink(tmp.c_str());
  return ok;
}

void WriteStatus(const Options& o, Shared* s) {
  if (o.status.empty()) return;
  size_t n;
  int64_t last = 0;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    n = s->acks.size();
    if (n) last = s->acks.back().ms;
  }
  char line[160];
  snprintf(line, sizeof line, "acked %zu last_ack_ms %lld errors %lld\n", n, static_cast<long long>(last),
           static_cast<long long>(s->errors.load()));
  WriteFileAtomic(o.status, line);
}

int64_t Median(std::vector<int64_t> v) {
  if (v.empty()) return 0;
  size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  return v[mid];
}

int Run(const Options& o) {
  // Signals are taken by the main thread alone, with sigtimedwait, which
  // also paces the status file.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  mysql_library_init(0, nullptr, nullptr);

  Shared s;
  std::thread writer(Writer, std::cref(o), &s);
  std::thread reader;
  if (o.have_ro) reader = std::thread(Reader, std::cref(o), &s);

  // Bounded in time even if nobody stops it.
  int64_t deadline = NowMs() + static_cast<int64_t>(o.max_seconds) * 1000;
  while (NowMs() < deadline) {
    WriteStatus(o, &s);
    struct timespec ts = {0, 100 * 1000000L};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  s.stop = true;
  writer.join();
  if (reader.joinable()) reader.join();
  WriteStatus(o, &s);

  std::string out;
  for (const Ack& a : s.acks) out += std::to_string(a.id) + " " + std::to_string(a.ms) + "\n";
  bool ok = WriteFileAtomic(o.acks, out);
  std::ostringstream fig;
  fig << "errors=" << s.errors.load();
  if (o.have_ro) {
    int64_t max = s.staleness.empty() ? 0 : *std::max_element(s.staleness.begin(), s.staleness.end());
    fig << " reads=" << s.reads.load() << " read_errors=" << s.read_errors.load()
        << " stale_median_ms=" << Median(s.staleness) << " stale_max_ms=" << max;
  }
  ok = WriteFileAtomic(o.acks + ".figures", fig.str() + "\n") && ok;
  printf("lab-client acked=%zu %s\n", s.acks.size(), fig.str().c_str());
  if (!ok) fprintf(stderr, "mpp-lab-client: cannot write %s\n", o.acks.c_str());
  mysql_library_end();
  return ok ? 0 : 1;
}

bool ReadAcks(const std::string& path, std::vector<Ack>* acks) {
  std::ifstream f(path);
  if (!f) return false;
  Ack a;
  while (f >> a.id >> a.ms) acks->push_back(a);
  return true;
}

// One attempt: every id of lab.w, sorted, and the server's server_id.
bool ReadIds(const Options& o, std::vector<int64_t>* ids, std::string* server_id, std::string* err) {
  MYSQL* m = Connect(o, o.rw, err);
  if (!m) return false;
  bool ok = false;
  if (mysql_query(m, "SELECT @@server_id") == 0) {
    MYSQL_RES* r = mysql_store_result(m);
    if (r) {
      MYSQL_ROW row = mysql_fetch_row(r);
      if (row && row[0]) *server_id = row[0];
      mysql_free_result(r);
    }
  }
  if (mysql_query(m, "SELECT id FROM lab.w ORDER BY id") == 0) {
    MYSQL_RES* r = mysql_store_result(m);
    if (r) {
      ok = true;
      while (MYSQL_ROW row = mysql_fetch_row(r)) ids->push_back(strtoll(row[0], nullptr, 10));
      mysql_free_result(r);
    }
  }
  if (!ok) *err = mysql_error(m);
  mysql_close(m);
  return ok;
}

int Verify(const Options& o) {
  mysql_library_init(0, nullptr, nullptr);
  std::vector<Ack> acks;
  if (!ReadAcks(o.acks, &acks)) {
    printf("LAB error=cannot-read-acks\n");
    return 1;
  }
  std::string figures;
  {
    std::ifstream f(o.acks + ".figures");
    if (f) std::getline(f, figures);
  }
  // The VIP may still be settling on the new writer: retry for a while.
  std::vector<int64_t> ids;
  std::string server_id = "?", err;
  bool ok = false;
  for (int64_t deadline = NowMs() + 10000; !ok && NowMs() < deadline;) {
    ids.clear();
    ok = ReadIds(o, &ids, &server_id, &err);
    if (!ok) SleepMs(100);
  }

  // outage: the longest gap between two acks of which the later came after
  // the fault. It is the unavailability when the fault does not take effect
  // at once (a switchover fences the writer some time after it starts).
  int64_t last_before = -1, first_after = -1, max_gap = 0, outage = -1;
  for (size_t i = 0; i < acks.size(); i++) {
    if (acks[i].ms <= o.fault_at) last_before = std::max(last_before, acks[i].ms);
    else if (first_after < 0 || acks[i].ms < first_after) first_after = acks[i].ms;
    if (i == 0) continue;
    int64_t gap = acks[i].ms - acks[i - 1].ms;
    max_gap = std::max(max_gap, gap);
    if (acks[i].ms > o.fault_at) outage = std::max(outage, gap);
  }
  std::string unavail = "none";
  if (last_before >= 0 && first_after >= 0) unavail = std::to_string(first_after - last_before);
  std::string outage_s = outage >= 0 ? std::to_string(outage) : "none";

  std::string line = "LAB acked=" + std::to_string(acks.size());
  if (ok) {
    std::vector<int64_t> lost;
    for (const Ack& a : acks)
      if (!std::binary_search(ids.begin(), ids.end(), a.id)) lost.push_back(a.id);
    line += " lost=" + std::to_string(lost.size());
    line += " unavail_ms=" + unavail + " last_before_ms=" + std::to_string(last_before) +
            " first_after_ms=" + std::to_string(first_after) + " max_gap_ms=" + std::to_string(max_gap) +
            " outage_ms=" + outage_s + " server_id=" + server_id;
    if (!lost.empty()) {
      line += " lost_ids=";
      for (size_t i = 0; i < lost.size() && i < 10; i++) line += (i ? "," : "") + std::to_string(lost[i]);
    }
  } else {
    line += " lost=unknown unavail_ms=" + unavail + " max_gap_ms=" + std::to_string(max_gap) +
            " outage_ms=" + outage_s;
    std::string e;
    for (char c : err) e += (c == ' ' ? '_' : c);
    line += " verify_error=" + e;
  }
  if (!figures.empty()) line += " " + figures;
  printf("%s\n", line.c_str());
  mysql_library_end();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  return o.cmd == "run" ? Run(o) : Verify(o);
}
