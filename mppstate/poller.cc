#include "mppstate/poller.h"

#include <ctype.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "common/decimal.h"
#include "mppstate/mysql_connect.h"
#include "mppstate/node_poll.h"

namespace mpp {

namespace {

// Client-side error numbers (errmsg.h). Spelled out so the code does not
// depend on which library's errmsg.h is installed.
constexpr unsigned kCrSocketCreateError = 2001;  // socket(): no descriptor, no buffer
constexpr unsigned kCrConnectionError = 2002;  // local socket, or TCP on some libraries
constexpr unsigned kCrConnHostError = 2003;
constexpr unsigned kCrIpSockError = 2004;  // "Can't create TCP/IP socket (24)": EMFILE and the like
constexpr unsigned kCrUnknownHost = 2005;
constexpr unsigned kCrServerGone = 2006;
constexpr unsigned kCrOutOfMemory = 2008;
constexpr unsigned kCrServerLost = 2013;
constexpr unsigned kCrSslConnectionError = 2026;  // any TLS failure, the handshake's timeout too
constexpr unsigned kCrServerLostExtended = 2055;  // MySQL 5.7+: lost, with errno
// Server error numbers.
constexpr unsigned kErConCount = 1040;
constexpr unsigned kErAccessDenied = 1045;
constexpr unsigned kErHostNotPrivileged = 1130;
constexpr unsigned kErTooManyUserConnections = 1203;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitTrimmed(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    std::string piece =
        Trim(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (!piece.empty()) out.push_back(piece);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Whole-string unsigned decimal.
bool ParseU64(const std::string& s, uint64_t* out) {
  return ParseDecimalU64(s.data(), s.size(), UINT64_MAX, out);
}

}  // namespace

PollOutcome ClassifyMysqlError(unsigned err, int64_t elapsed_ms, int64_t timeout_ms) {
  switch (err) {
    case kErAccessDenied:
    case kErHostNotPrivileged:
      return PollOutcome::kAccessDenied;
    case kErConCount:
    case kErTooManyUserConnections:
      return PollOutcome::kTooManyConnections;
    case kCrConnectionError:
    case kCrConnHostError:
    case kCrUnknownHost:
    case kCrSslConnectionError:
      // Libraries report a connect that ran out of time with these numbers
      // too; only the clock tells them apart.
      if (elapsed_ms + 100 >= MysqlTimeoutSeconds(timeout_ms) * 1000LL) return PollOutcome::kTimeout;
      return PollOutcome::kRefused;
    case kCrServerGone:
    case kCrServerLost:
    case kCrServerLostExtended:
      return PollOutcome::kTimeout;
    case kCrSocketCreateError:
    case kCrIpSockError:
    case kCrOutOfMemory:
      // Short of descriptors or memory here: our fault, not the node's.
      return PollOutcome::kMonitorError;
    default:
      return err >= 2000 && err < 3000 ? PollOutcome::kRefused : PollOutcome::kQueryError;
  }
}

PollResult PollNode(const Config& cfg, const NodeConfig& node) {
  auto one = std::make_shared<Config>(cfg);
  one->nodes = {node};
  auto login = std::make_shared<const Login>(ReadLogin(cfg, cfg.credentials));
  auto now = std::chrono::steady_clock::now();
  NodePoll poll(one, 0, login, NodePoll::Mode::kPoll, now,
                now + std::chrono::milliseconds(cfg.connect_timeout_ms + 3 * cfg.query_timeout_ms));
  while (!poll.done()) {
    struct pollfd pfd = {poll.fd(), static_cast<short>((poll.wants_read() ? POLLIN : 0) | (poll.wants_write() ? POLLOUT : 0)), 0};
    // Rounded up: waking a little early would only spin.
    int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(poll.wake() - std::chrono::steady_clock::now() +
                                                                        std::chrono::microseconds(999))
                       .count();
    int n = ::poll(&pfd, pfd.fd >= 0 ? 1 : 0, static_cast<int>(std::max<int64_t>(0, left)));
    bool trouble = n > 0 && (pfd.revents & (POLLERR | POLLHUP)) != 0;
    poll.Advance(n > 0 && ((pfd.revents & POLLIN) || trouble), n > 0 && ((pfd.revents & POLLOUT) || trouble),
                 std::chrono::steady_clock::now());
  }
  return poll.result();
}
bool ParseMariaGtidList(const std::string& text, std::map<std::string, uint64_t>* out) {
  bool ok = true;
  for (const std::string& gtid : SplitTrimmed(text, ',')) {
    size_t d1 = gtid.find('-');
    size_t d2 = d1 == std::string::npos ? d1 : gtid.find('-', d1 + 1);
    uint64_t domain = 0, server = 0, seq = 0;
    if (d2 == std::string::npos || !ParseU64(gtid.substr(0, d1), &domain) ||
        !ParseU64(gtid.substr(d1 + 1, d2 - d1 - 1), &server) ||
        !ParseU64(gtid.substr(d2 + 1), &seq)) {
      ok = false;
      continue;
    }
    (*out)[std::to_string(domain)] = seq;
  }
  return ok;
}

bool ParseMysqlGtidSet(const std::string& text, GtidIntervals* out) {
  bool ok = true;
  for (const std::string& element : SplitTrimmed(text, ',')) {
    std::vector<std::string> parts = SplitTrimmed(element, ':');
    if (parts.size() < 2) {
      ok = false;
      continue;
    }
    std::string uuid = parts[0];
    std::transform(uuid.begin(), uuid.end(), uuid.begin(), ::tolower);
    std::string key = uuid;
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string& p = parts[i];
      if (p[0] < '0' || p[0] > '9') {  // a tag: the intervals after it are its own
        key = uuid + ":" + p;
        continue;
      }
      size_t dash = p.find('-');
      uint64_t a = 0, b = 0;
      bool good = dash == std::string::npos
                      ? ParseU64(p, &a)
                      : ParseU64(p.substr(0, dash), &a) && ParseU64(p.substr(dash + 1), &b);
      if (dash == std::string::npos) b = a;
      if (!good || b < a) {
        ok = false;
        continue;
      }
      (*out)[key].emplace_back(a, b);
    }
  }
  return ok;
}

std::map<std::string, uint64_t> GtidSetHighest(const GtidIntervals& set) {
  std::map<std::string, uint64_t> out;
  for (const auto& [key, intervals] : set) {
    uint64_t high = 0;
    for (const auto& iv : intervals) high = std::max(high, iv.second);
    out[key] = high;
  }
  return out;
}

bool GtidSetContains(const GtidIntervals& set, const GtidIntervals& sub) {
  for (const auto& [key, wanted] : sub) {
    auto it = set.find(key);
    std::vector<std::pair<uint64_t, uint64_t>> have;
    if (it != set.end()) have = it->second;
    std::sort(have.begin(), have.end());
    for (const auto& [a, b] : wanted) {
      // Walk the sorted intervals, extending the covered range from a.
      uint64_t next = a;  // first transaction not yet known to be covered
      bool covered = false;
      for (const auto& [ha, hb] : have) {
        if (ha > next) break;
        if (hb >= b) {
          covered = true;
          break;
        }
        if (hb >= next) next = hb + 1;
      }
      if (!covered) return false;
    }
  }
  return true;
}

}  // namespace mpp
