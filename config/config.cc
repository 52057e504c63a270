#include "config/config.h"

#include <ini.h>
#include <string.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/decimal.h"
#include "common/duration.h"
#include "config/credentials.h"

namespace mpp {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;

// Bounds of the durations (doc/config.md). The upper ones keep every value
// far from overflow wherever it is used (poll(2) takes an int of ms) and
// refuse what is surely a slip ("40000m" for an interval).
constexpr int64_t kMaxInterval = kHourMs;
constexpr int64_t kMaxTimeout = kMinuteMs;        // connect_timeout, query_timeout
constexpr int64_t kMaxStaleAfter = 24 * kHourMs;
constexpr int64_t kMaxWait = 10 * kMinuteMs;      // switchover, notify, promote_wait, election
constexpr int64_t kMaxLag = 24 * kHourMs;         // max_lag, max_promote_lag
constexpr int64_t kMaxReconcile = kHourMs;

struct Entry {
  std::string key, value;
  int line;
};

struct Section {
  std::string kind;  // "global", "pool", "node", "vs", "ipvs", or the unknown header
  std::string name;  // for pool/node/vs
  int line;
  std::vector<Entry> entries;
};

// Feeds inih one line at a time and keeps the line number, the section
// headers and the syntax errors that inih would only count.
struct Reader {
  const char* pos;
  const char* end;
  int line = 0;
  std::vector<Section>* sections;
  std::vector<std::string>* errors;
  const std::string* name;

  void Error(int at, const std::string& msg) {
    errors->push_back(*name + ":" + std::to_string(at) + ": " + msg);
  }
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Records a section header; returns false on a malformed one.
void RecordSection(Reader* r, const std::string& header) {
  Section s;
  s.line = r->line;
  size_t sp = header.find(' ');
  s.kind = header.substr(0, sp);
  if (sp != std::string::npos) s.name = Trim(header.substr(sp + 1));
  bool named = s.kind == "pool" || s.kind == "node" || s.kind == "vs";
  bool single = s.kind == "global" || s.kind == "ipvs" || s.kind == "cluster";
  if (named && !ValidName(s.name)) {
    r->Error(r->line, "[" + header + "]: a " + s.kind +
                          " needs a name of letters, digits, '_', '-' or '.'");
    s.kind = "invalid";
  } else if (named && s.name[0] == '.') {
    // Track files are STATE_DIR/track/VS/NODE: "." and ".." would walk out
    // of that tree (onto the state file itself), ".x" would hide.
    r->Error(r->line, "[" + header + "]: a " + s.kind +
                          " name must not begin with '.' (names become file names in state_dir)");
    s.kind = "invalid";
  } else if (single && sp != std::string::npos) {
    r->Error(r->line, "[" + header + "]: [" + s.kind + "] takes no name");
    s.kind = "invalid";
  } else if (!named && !single) {
    r->Error(r->line, "unknown section [" + header + "]");
    s.kind = "invalid";
  } else {
    for (const Section& other : *r->sections) {
      if (other.kind == s.kind && other.name == s.name) {
        r->Error(r->line, "duplicate section [" + header + "] (first at line " +
                              std::to_string(other.line) + ")");
        s.kind = "invalid";
        break;
      }
    }
  }
  r->sections->push_back(s);
}

char* ReadLine(char* str, int num, void* stream) {
  Reader* r = static_cast<Reader*>(stream);
  if (r->pos >= r->end) return nullptr;
  const char* nl = static_cast<const char*>(memchr(r->pos, '\n', static_cast<size_t>(r->end - r->pos)));
  const char* stop = nl ? nl : r->end;
  std::string line(r->pos, stop);
  r->pos = nl ? nl + 1 : r->end;
  ++r->line;

  std::string t = Trim(line);
  bool blank = t.empty() || t[0] == ';' || t[0] == '#';
  if (!blank && line.size() >= static_cast<size_t>(num) - 2) {
    r->Error(r->line, "line too long (at most " + std::to_string(num - 3) + " characters)");
    blank = true;
  } else if (!blank && (line[0] == ' ' || line[0] == '\t') && t.find('=') == std::string::npos) {
    r->Error(r->line, "continuation lines are not supported");
    blank = true;
  } else if (!blank && t[0] == '[') {
    size_t close = t.find(']');
    std::string after = close == std::string::npos ? "" : Trim(t.substr(close + 1));
    if (close == std::string::npos || !(after.empty() || after[0] == ';')) {
      r->Error(r->line, "malformed section header (expected [section])");
      blank = true;
    } else {
      RecordSection(r, Trim(t.substr(1, close - 1)));
    }
  } else if (!blank && t.find('=') == std::string::npos) {
    r->Error(r->line, "expected 'key = value' or '[section]'");
    blank = true;
  } else if (!blank && r->sections->empty()) {
    r->Error(r->line, "key outside any section");
    blank = true;
  }
  if (blank) {
    str[0] = '\n';
    str[1] = '\0';
  } else {
    snprintf(str, static_cast<size_t>(num), "%s\n", line.c_str());
  }
  return str;
}

int Handler(void* user, const char* /*section*/, const char* key, const char* value) {
  Reader* r = static_cast<Reader*>(user);
  Section& s = r->sections->back();
  s.entries.push_back(Entry{key, value, r->line});
  return 1;
}

// A bound as an operator would write it: "50ms", "1m", "24h".
std::string DurationText(int64_t ms) {
  if (ms > 0 && ms % kHourMs == 0) return std::to_string(ms / kHourMs) + "h";
  if (ms > 0 && ms % kMinuteMs == 0) return std::to_string(ms / kMinuteMs) + "m";
  if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Turns sections into a Config, checking every value.
class Builder {
 public:
  Builder(const std::string& name, Config* cfg, std::vector<std::string>* errors)
      : name_(name), cfg_(cfg), errors_(errors) {}

  void Error(int line, const std::string& msg) {
    errors_->push_back(name_ + ":" + std::to_string(line) + ": " + msg);
  }

  void Build(std::vector<Section>& sections);

 private:
  void Global(const Section& s);
  void Ipvs(const Section& s);
  void Cluster(const Section& s);
  void Node(const Section& s);
  void Pool(const Section& s, std::map<int, std::pair<int, int>>* membership);
  void Vs(const Section& s);

  bool Duration(const Entry& e, int64_t min_ms, int64_t max_ms, int64_t* out);
  bool Integer(const Entry& e, int64_t lo, int64_t hi, int64_t* out);
  bool Bool(const Entry& e, bool* out);
  bool StatusValue(const Entry& e, Status* out);
  bool AddressValue(const Entry& e, Address* out);
  void MetricsAddress(const Entry& e, Address* out);
  void Unknown(const Entry& e, const Section& s) {
    Error(e.line, "unknown key '" + e.key + "' in [" + s.kind + (s.name.empty() ? "" : " " + s.name) + "]");
  }
  void Duplicates(const Section& s);
  void PromotionRules(const Section& s, const PoolConfig& p, const Entry* failback_at, const Entry* zones_at);

  const std::string& name_;
  Config* cfg_;
  std::vector<std::string>* errors_;
  // Set, even to a bad path (reported at its own line): a pool's
  // manage_replication then does not report it missing as well.
  bool have_replication_credentials_ = false;
};

bool Builder::Duration(const Entry& e, int64_t min_ms, int64_t max_ms, int64_t* out) {
  int64_t ms;
  if (!ParseDurationMs(e.value.data(), e.value.size(), &ms)) {
    Error(e.line, e.key + ": bad duration '" + e.value + "' (a whole number with ms, s, m or h)");
    return false;
  }
  if (ms < min_ms) {
    Error(e.line, e.key + ": must be at least " + DurationText(min_ms));
    return false;
  }
  if (ms > max_ms) {
    Error(e.line, e.key + ": must be at most " + DurationText(max_ms));
    return false;
  }
  *out = ms;
  return true;
}

bool Builder::Integer(const Entry& e, int64_t lo, int64_t hi, int64_t* out) {
  if (!ParseDecimal(e.value.data(), e.value.size(), lo, hi, out)) {
    Error(e.line, e.key + ": '" + e.value + "' is not a whole number from " + std::to_string(lo) +
                      " to " + std::to_string(hi));
    return false;
  }
  return true;
}

bool Builder::Bool(const Entry& e, bool* out) {
  const std::string& v = e.value;
  if (v == "yes" || v == "on" || v == "true") {
    *out = true;
  } else if (v == "no" || v == "off" || v == "false") {
    *out = false;
  } else {
    Error(e.line, e.key + ": '" + v + "' is not yes or no");
    return false;
  }
  return true;
}

bool Builder::StatusValue(const Entry& e, Status* out) {
  if (!ParseStatus(e.value.c_str(), out) || *out == Status::kOk) {
    Error(e.line, e.key + ": '" + e.value + "' is not one of INFO, WARN, CRITICAL, FAIL");
    return false;
  }
  return true;
}

bool Builder::AddressValue(const Entry& e, Address* out) {
  const char* why = "";
  if (!ParseAddress(e.value.data(), e.value.size(), out, &why)) {
    Error(e.line, e.key + ": bad address '" + e.value + "': " + why);
    return false;
  }
  return true;
}

// Where a Prometheus endpoint listens: an IP address and a port, never
// 0.0.0.0 by accident of a missing value.
void Builder::MetricsAddress(const Entry& e, Address* out) {
  Address a;
  if (!AddressValue(e, &a)) return;
  if (a.kind == Address::kFwmark) {
    Error(e.line, e.key + ": needs an IP address and a port");
    return;
  }
  *out = a;
}

void Builder::Duplicates(const Section& s) {
  for (size_t i = 0; i < s.entries.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      // Lists may go on over several lines (inih caps a line at 200 bytes).
      if (s.entries[i].key == s.entries[j].key && s.entries[i].key != "nodes" &&
          s.entries[i].key != "checkpoints") {
        Error(s.entries[i].line, "duplicate key '" + s.entries[i].key + "' (first at line " +
                                     std::to_string(s.entries[j].line) + ")");
        break;
      }
}

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(Trim(item));
  return out;
}

void Builder::Global(const Section& s) {
  Config& c = *cfg_;
  for (const Entry& e : s.entries) {
    const std::string& k = e.key;
    if (k == "interval") {
      Duration(e, 50, kMaxInterval, &c.interval_ms);
    } else if (k == "connect_timeout") {
      Duration(e, 10, kMaxTimeout, &c.connect_timeout_ms);
    } else if (k == "query_timeout") {
      Duration(e, 10, kMaxTimeout, &c.query_timeout_ms);
    } else if (k == "stale_after") {
      Duration(e, 100, kMaxStaleAfter, &c.stale_after_ms);
    } else if (k == "watch") {
      Bool(e, &c.watch);
    } else if (k == "election_timeout" || k == "recover_after" || k == "max_lag" ||
               k == "max_promote_lag") {
      Error(e.line, k + ": set it in a [pool] section");
    } else if (k == "state_dir" || k == "data_dir" || k == "credentials" || k == "admin_credentials" ||
               k == "replication_credentials" || k == "notify") {
      if (k == "replication_credentials") have_replication_credentials_ = true;
      if (e.value.empty() || e.value[0] != '/') {
        Error(e.line, k + ": needs an absolute path");
        continue;
      }
      (k == "state_dir"                 ? c.state_dir
       : k == "data_dir"                ? c.data_dir
       : k == "credentials"             ? c.credentials
       : k == "notify"                  ? c.notify
       : k == "replication_credentials" ? c.replication_credentials
                                        : c.admin_credentials) = e.value;
    } else if (k == "switchover_timeout") {
      Duration(e, 100, kMaxWait, &c.switchover_timeout_ms);
    } else if (k == "notify_timeout") {
      Duration(e, 100, kMaxWait, &c.notify_timeout_ms);
    } else if (k == "tls") {
      if (e.value == "off") c.tls = TlsMode::kOff;
      else if (e.value == "preferred") c.tls = TlsMode::kPreferred;
      else if (e.value == "required") c.tls = TlsMode::kRequired;
      else if (e.value == "verify_identity") c.tls = TlsMode::kVerifyIdentity;
      else Error(e.line, "tls: '" + e.value + "' is not off, preferred, required or verify_identity");
    } else if (k == "check_query") {
      if (e.value.empty()) Error(e.line, "check_query: must not be empty");
      else c.check_query = e.value;
    } else if (k == "checkpoints") {
      for (const std::string& item : SplitList(e.value)) {
        Address a;
        Entry one{k, item, e.line};
        if (AddressValue(one, &a)) {
          if (a.kind == Address::kFwmark) Error(e.line, "checkpoints: a checkpoint needs an IP address and port");
          else c.checkpoints.push_back(a);
        }
      }
    } else if (k == "metrics") {
      MetricsAddress(e, &c.metrics);
    } else {
      Unknown(e, s);
    }
  }
}

void Builder::Ipvs(const Section& s) {
  IpvsConfig& p = cfg_->ipvs;
  p.enabled = true;
  for (const Entry& e : s.entries) {
    if (e.key == "on_down") {
      if (e.value == "quiesce") p.on_down = IpvsOnDown::kQuiesce;
      else if (e.value == "remove") p.on_down = IpvsOnDown::kRemove;
      else Error(e.line, "on_down: '" + e.value + "' is not quiesce or remove");
    } else if (e.key == "reconcile_interval") {
      Duration(e, 100, kMaxReconcile, &p.reconcile_interval_ms);
    } else if (e.key == "enabled") {
      Bool(e, &p.enabled);
    } else if (e.key == "metrics") {
      MetricsAddress(e, &p.metrics);
    } else {
      Unknown(e, s);
    }
  }
}

// An etcd member's client URL: http or https, an IP address and a port
// (no host name: a director must not depend on DNS to find its quorum).
bool EtcdUrl(const std::string& url, std::string* why) {
  size_t colon = url.find("://");
  std::string scheme = colon == std::string::npos ? "" : url.substr(0, colon);
  if (scheme != "http" && scheme != "https") {
    *why = "needs http:// or https://";
    return false;
  }
  std::string rest = url.substr(colon + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  Address a;
  const char* err = "";
  if (!ParseAddress(rest.data(), rest.size(), &a, &err) || a.kind == Address::kFwmark) {
    *why = "needs IP:port after the scheme";
    return false;
  }
  return true;
}

void Builder::Cluster(const Section& s) {
  ClusterConfig& c = cfg_->cluster;
  c.enabled = true;
  c.line = s.line;
  int etcd_line = 0;
  for (const Entry& e : s.entries) {
    const std::string& k = e.key;
    if (k == "etcd") {
      etcd_line = e.line;
      for (const std::string& item : SplitList(e.value)) {
        std::string why;
        if (!EtcdUrl(item, &why)) Error(e.line, "etcd: bad URL '" + item + "': " + why);
        else c.etcd.push_back(item.back() == '/' ? item.substr(0, item.size() - 1) : item);
      }
    } else if (k == "name") {
      if (!ValidName(e.value)) Error(e.line, "name: '" + e.value + "' is not letters, digits, '_', '-' or '.'");
      else c.name = e.value;
    } else if (k == "prefix") {
      bool ok = e.value.size() >= 2 && e.value.front() == '/' && e.value.back() == '/' &&
                e.value.find_first_of(" \t") == std::string::npos;
      if (!ok) Error(e.line, "prefix: '" + e.value + "' must begin and end with '/'");
      else c.prefix = e.value;
    } else if (k == "lease") {
      // etcd grants whole seconds, and 2 s at the least.
      if (Duration(e, 2000, kHourMs, &c.lease_ms) && c.lease_ms % 1000 != 0)
        Error(e.line, "lease: must be whole seconds");
    } else if (k == "cacert" || k == "cert" || k == "key" || k == "credentials") {
      if (e.value.empty() || e.value[0] != '/') {
        Error(e.line, k + ": needs an absolute path");
        continue;
      }
      (k == "cacert" ? c.cacert : k == "cert" ? c.cert : k == "key" ? c.key : c.credentials) = e.value;
    } else {
      Unknown(e, s);
    }
  }
  if (c.etcd.empty() && etcd_line == 0) Error(s.line, "[cluster]: etcd = URL, URL, ... is required");
  if (c.cert.empty() != c.key.empty()) Error(s.line, "[cluster]: cert and key go together");
  bool https = false;
  for (const std::string& u : c.etcd) https = https || u.rfind("https://", 0) == 0;
  if (!https && (!c.cacert.empty() || !c.cert.empty()))
    Error(s.line, "[cluster]: cacert, cert and key need https:// endpoints");
}

void Builder::Node(const Section& s) {
  NodeConfig n;
  n.name = s.name;
  n.line = s.line;
  bool have_address = false;
  for (const Entry& e : s.entries) {
    int64_t v;
    if (e.key == "address") {
      have_address = AddressValue(e, &n.address);
      if (have_address && n.address.kind == Address::kFwmark) {
        Error(e.line, "address: a node needs an IP address and port, not a firewall mark");
        have_address = false;
      }
      if (!have_address) n.address = Address();
      have_address = true;  // reported already
    } else if (e.key == "weight") {
      if (Integer(e, 0, 65535, &v)) n.weight = static_cast<int>(v);
    } else if (e.key == "promote") {
      Bool(e, &n.promote);
    } else if (e.key == "zone") {
      if (ValidName(e.value)) n.zone = e.value;
      else Error(e.line, "zone: '" + e.value + "' is not letters, digits, '_', '-' or '.'");
    } else {
      Unknown(e, s);
    }
  }
  if (!have_address) Error(s.line, "[node " + s.name + "]: missing key 'address'");
  for (const NodeConfig& other : cfg_->nodes) {
    if (n.address.kind != Address::kNone && other.address == n.address) {
      char text[kAddressTextMax];
      Error(s.line, "node '" + n.name + "' has the same address as node '" + other.name + "' (" +
                        FormatAddress(n.address, text) + ")");
    }
  }
  cfg_->nodes.push_back(n);
}

void Builder::Pool(const Section& s, std::map<int, std::pair<int, int>>* membership) {
  PoolConfig p;
  p.name = s.name;
  p.line = s.line;
  int pool_index = static_cast<int>(cfg_->pools.size());
  bool have_nodes = false;
  // Where the replication keys were, for the checks that relate them; a bad
  // manage_replication value is reported once, not again through rejoin.
  const Entry* read_only_at = nullptr;
  const Entry* replication_at = nullptr;
  const Entry* rejoin_at = nullptr;
  const Entry* semi_sync_at = nullptr;
  const Entry* rewind_at = nullptr;
  const Entry* failback_at = nullptr;
  const Entry* zones_at = nullptr;
  bool replication_bad = false, semi_sync_bad = false;
  for (const Entry& e : s.entries) {
    int64_t v;
    const std::string& k = e.key;
    if (k == "nodes") {
      have_nodes = true;
      for (const std::string& item : SplitList(e.value)) {
        if (item.empty()) continue;
        int node = cfg_->FindNode(item);
        if (node < 0) {
          Error(e.line, "nodes: unknown node '" + item + "'");
          continue;
        }
        auto it = membership->find(node);
        if (it != membership->end()) {
          if (it->second.first == pool_index)
            Error(e.line, "nodes: node '" + item + "' is listed twice");
          else
            Error(e.line, "node '" + item + "' is already in pool '" +
                              cfg_->pools[static_cast<size_t>(it->second.first)].name + "' (line " +
                              std::to_string(it->second.second) + ")");
          continue;
        }
        (*membership)[node] = {pool_index, e.line};
        p.nodes.push_back(node);
      }
    } else if (k == "failover_at") {
      StatusValue(e, &p.failover_at);
    } else if (k == "recover_after") {
      if (Integer(e, 1, 1000, &v)) p.recover_after = static_cast<int>(v);
    } else if (k == "max_lag") {
      Duration(e, 0, kMaxLag, &p.max_lag_ms);
    } else if (k == "max_promote_lag") {
      Duration(e, 0, kMaxLag, &p.max_promote_lag_ms);
    } else if (k == "promote_wait") {
      Duration(e, 0, kMaxWait, &p.promote_wait_ms);
    } else if (k == "election_timeout") {
      Duration(e, 0, kMaxWait, &p.election_timeout_ms);
    } else if (k == "failback") {
      if (Bool(e, &p.failback)) failback_at = &e;
    } else if (k == "failover_zones") {
      if (e.value == "same") p.failover_same_zone = true;
      else if (e.value == "any") p.failover_same_zone = false;
      else Error(e.line, "failover_zones: '" + e.value + "' is not same or any");
      zones_at = &e;
    } else if (k == "manage_read_only") {
      if (Bool(e, &p.manage_read_only)) read_only_at = &e;
    } else if (k == "manage_replication") {
      replication_at = &e;
      replication_bad = !Bool(e, &p.manage_replication);
    } else if (k == "semi_sync") {
      semi_sync_bad = !Bool(e, &p.semi_sync);
      if (!semi_sync_bad) semi_sync_at = &e;
    } else if (k == "rewind") {
      if (Bool(e, &p.rewind)) rewind_at = &e;
    } else if (k == "rejoin") {
      rejoin_at = &e;
      if (e.value == "manual") p.rejoin = RejoinMode::kManual;
      else if (e.value == "auto") p.rejoin = RejoinMode::kAuto;
      else Error(e.line, "rejoin: '" + e.value + "' is not auto or manual");
    } else if (k == "demoted_recovery") {
      if (e.value == "manual") p.demoted_recovery = DemotedRecovery::kManual;
      else if (e.value == "auto") p.demoted_recovery = DemotedRecovery::kAuto;
      else Error(e.line, "demoted_recovery: '" + e.value + "' is not manual or auto");
    } else {
      Unknown(e, s);
    }
  }
  if (p.manage_replication) {
    // A replica is only re-pointed safely once its old writer is fenced.
    if (read_only_at != nullptr && !p.manage_read_only)
      Error(read_only_at->line, "manage_read_only = no contradicts manage_replication = yes, which needs fencing");
    p.manage_read_only = true;
    if (!have_replication_credentials_)
      Error(replication_at->line,
            "manage_replication = yes needs [global] replication_credentials (the login replicas use)");
  }
  if (p.rejoin == RejoinMode::kAuto && !p.manage_replication && !replication_bad)
    Error(rejoin_at->line, "rejoin = auto needs manage_replication = yes");
  // Only a managed topology knows which node is the replicas' source.
  if (p.semi_sync && !p.manage_replication && !replication_bad)
    Error(semi_sync_at->line, "semi_sync = yes needs manage_replication = yes");
  // Only semi-sync proves that the tail was never acknowledged to a client.
  if (p.rewind && !p.semi_sync && !semi_sync_bad)
    Error(rewind_at->line, "rewind = yes needs semi_sync = yes: only then was a commit no survivor has never "
                           "acknowledged");
  if (p.nodes.empty() && !have_nodes) Error(s.line, "pool '" + s.name + "' has no nodes");
  else if (p.nodes.empty()) Error(s.line, "pool '" + s.name + "' has no valid nodes");
  else PromotionRules(s, p, failback_at, zones_at);
  cfg_->pools.push_back(p);
}

// Which of the pool's nodes may become its writer: at least one; the
// PRIMARY, if failback returns to it; with failover_zones = same, every
// node names its zone (a failover stays in the failed writer's).
void Builder::PromotionRules(const Section& s, const PoolConfig& p, const Entry* failback_at,
                             const Entry* zones_at) {
  auto node = [&](int n) -> const NodeConfig& { return cfg_->nodes[static_cast<size_t>(n)]; };
  bool any = false;
  for (int n : p.nodes) any = any || node(n).promote;
  if (!any) Error(s.line, "pool '" + s.name + "': no node may be promoted (every node has promote = no)");
  if (p.failback && failback_at != nullptr && !node(p.nodes[0]).promote)
    Error(failback_at->line, "failback = yes returns to the PRIMARY " + node(p.nodes[0]).name +
                                 ", which has promote = no");
  if (!p.failover_same_zone || zones_at == nullptr) return;
  std::string without;
  for (int n : p.nodes)
    if (node(n).zone.empty()) without += (without.empty() ? "" : ", ") + node(n).name;
  if (!without.empty())
    Error(zones_at->line, "failover_zones = same needs a zone on every node; without one: " + without);
}

void Builder::Vs(const Section& s) {
  VsConfig v;
  v.name = s.name;
  v.line = s.line;
  bool have_address = false, have_pool = false, have_role = false;
  for (const Entry& e : s.entries) {
    int64_t n;
    const std::string& k = e.key;
    if (k == "address") {
      have_address = true;
      AddressValue(e, &v.address);
    } else if (k == "pool") {
      have_pool = true;
      v.pool = cfg_->FindPool(e.value);
      if (v.pool < 0) Error(e.line, "pool: unknown pool '" + e.value + "'");
    } else if (k == "role") {
      have_role = true;
      if (!ParseVsRole(e.value.c_str(), &v.role)) Error(e.line, "role: '" + e.value + "' is not rw or ro");
    } else if (k == "rw_down_at") {
      StatusValue(e, &v.rw_down_at);
    } else if (k == "ro_fallback") {
      if (e.value == "active") v.ro_fallback_to_active = true;
      else if (e.value == "none") v.ro_fallback_to_active = false;
      else Error(e.line, "ro_fallback: '" + e.value + "' is not active or none");
    } else if (k == "protocol") {
      if (e.value == "tcp") v.protocol = IpvsProtocol::kTcp;
      else if (e.value == "udp") v.protocol = IpvsProtocol::kUdp;
      else Error(e.line, "protocol: '" + e.value + "' is not tcp or udp");
    } else if (k == "forward") {
      if (e.value == "masq") v.forward = IpvsForward::kMasq;
      else if (e.value == "dr") v.forward = IpvsForward::kDirect;
      else if (e.value == "tun") v.forward = IpvsForward::kTunnel;
      else Error(e.line, "forward: '" + e.value + "' is not masq, dr or tun");
    } else if (k == "upper_threshold" || k == "lower_threshold") {
      if (Integer(e, 0, 4294967295LL, &n))
        (k == "upper_threshold" ? v.upper_threshold : v.lower_threshold) = static_cast<uint32_t>(n);
    } else {
      Unknown(e, s);
    }
  }
  if (!have_address) Error(s.line, "[vs " + s.name + "]: missing key 'address'");
  if (!have_pool) Error(s.line, "[vs " + s.name + "]: missing key 'pool'");
  if (!have_role) Error(s.line, "[vs " + s.name + "]: missing key 'role' (rw or ro)");
  for (const VsConfig& other : cfg_->vss) {
    if (v.address.kind != Address::kNone && other.address == v.address) {
      Error(s.line, "vs '" + v.name + "' has the same address as vs '" + other.name + "'");
    }
  }
  cfg_->vss.push_back(v);
}

void Builder::Build(std::vector<Section>& sections) {
  for (const Section& s : sections) Duplicates(s);
  // Order matters: nodes before pools before virtual servers, wherever they
  // stand in the file.
  for (const Section& s : sections) {
    if (s.kind == "global") Global(s);
    else if (s.kind == "ipvs") Ipvs(s);
    else if (s.kind == "cluster") Cluster(s);
    else if (s.kind == "node") Node(s);
  }
  std::map<int, std::pair<int, int>> membership;  // node -> (pool, line)
  for (const Section& s : sections)
    if (s.kind == "pool") Pool(s, &membership);
  for (const Section& s : sections)
    if (s.kind == "vs") Vs(s);

  for (size_t i = 0; i < cfg_->nodes.size(); ++i) {
    if (membership.count(static_cast<int>(i)) == 0)
      Error(cfg_->nodes[i].line, "node '" + cfg_->nodes[i].name + "' is in no pool");
  }
  if (cfg_->pools.empty()) errors_->push_back(name_ + ": no [pool] section");
  if (cfg_->stale_after_ms <= cfg_->interval_ms)
    errors_->push_back(name_ + ": stale_after (" + std::to_string(cfg_->stale_after_ms) +
                       "ms) must be longer than interval (" + std::to_string(cfg_->interval_ms) + "ms)");
}

}  // namespace

int Config::FindNode(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

int Config::FindPool(const std::string& name) const {
  for (size_t i = 0; i < pools.size(); ++i)
    if (pools[i].name == name) return static_cast<int>(i);
  return -1;
}

int Config::FindVs(const std::string& name) const {
  for (size_t i = 0; i < vss.size(); ++i)
    if (vss[i].name == name) return static_cast<int>(i);
  return -1;
}

int Config::PoolOfNode(int node) const {
  for (size_t p = 0; p < pools.size(); ++p)
    for (int n : pools[p].nodes)
      if (n == node) return static_cast<int>(p);
  return -1;
}

bool ParseConfig(const std::string& text, const std::string& name, Config* out,
                 std::vector<std::string>* errors) {
  size_t before = errors->size();
  std::vector<Section> sections;
  Reader r;
  r.pos = text.data();
  r.end = text.data() + text.size();
  r.sections = &sections;
  r.errors = errors;
  r.name = &name;
  // Syntax errors are reported by ReadLine; inih only sees clean lines.
  ini_parse_stream(ReadLine, &r, Handler, &r);

  Config cfg;
  cfg.path = name;
  Builder b(name, &cfg, errors);
  b.Build(sections);
  if (errors->size() != before) return false;
  *out = cfg;
  return true;
}

bool ReadConfigFile(const std::string& path, Config* out, std::vector<std::string>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back(path + ": cannot read: " + strerror(errno));
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, out, errors);
}

bool LoadConfig(const std::string& path, Config* out, std::vector<std::string>* errors) {
  Config cfg;
  if (!ReadConfigFile(path, &cfg, errors)) return false;
  if (!CheckCredentialsFile(cfg.credentials, errors)) return false;
  if (!cfg.admin_credentials.empty() && !CheckCredentialsFile(cfg.admin_credentials, errors)) return false;
  if (!cfg.replication_credentials.empty() && !CheckCredentialsFile(cfg.replication_credentials, errors))
    return false;
  if (!cfg.cluster.credentials.empty() && !CheckCredentialsFile(cfg.cluster.credentials, errors)) return false;
  *out = cfg;
  return true;
}

}  // namespace mpp
