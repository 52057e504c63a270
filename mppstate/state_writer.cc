#include "mppstate/state_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/address_text.h"
#include "common/paths.h"

namespace mpp {
namespace {

// Reasons come partly from servers' error messages: keep the line format
// intact whatever they contain.
std::string OneLine(const std::string& s) {
  if (s.empty()) return "-";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return "-";
  size_t e = out.find_last_not_of(' ');
  return out.substr(b, e - b + 1);
}

// The content of a track file, or "" if it cannot be read.
std::string ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool MakeDir(const std::string& path, std::string* err) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return true;
  *err = path + ": cannot create directory: " + strerror(errno);
  return false;
}

}  // namespace

std::string FormatStateFile(const Config& cfg, const Evaluation& ev, int64_t pid) {
  std::string out;
  out.reserve(256 + cfg.nodes.size() * 96 * (1 + cfg.vss.size()));
  char line[256];
  snprintf(line, sizeof line,
           "mpp-state %d\npid %lld\nseq %lld\ntime_ms %lld\ninterval_ms %lld\nstale_after_ms %lld\n",
           kStateFormatVersion, static_cast<long long>(pid), static_cast<long long>(ev.seq),
           static_cast<long long>(ev.time_ms), static_cast<long long>(cfg.interval_ms),
           static_cast<long long>(cfg.stale_after_ms));
  out += line;
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const PoolConfig& pool = cfg.pools[p];
    const PoolEval& pe = ev.pools[p];
    out += "pool " + pool.name + (ev.isolated ? " isolated " : " ok ") + OneLine(pe.note) + "\n";
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      int n = pool.nodes[i];
      const NodeConfig& node = cfg.nodes[static_cast<size_t>(n)];
      const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      std::string lag = ne.last.repl.configured && ne.last.repl.lag_s >= 0
                            ? std::to_string(ne.last.repl.lag_s)
                            : "-";
      out += "node " + pool.name + " " + node.name + " " +
             NodeTypeName(i == 0 ? NodeType::kPrimary : NodeType::kSecondary) + " " +
             StateName(ne.state) + " " + StatusName(ne.status) + " " + AddressText(node.address) +
             " " + lag + " " + std::to_string(ne.since_ms) + " " + OneLine(ne.reason) + "\n";
    }
  }
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    const VsConfig& vs = cfg.vss[v];
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
    out += "vs " + vs.name + " " + VsRoleName(vs.role) + " " + pool.name + " " +
           AddressText(vs.address) + "\n";
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      const NodeConfig& node = cfg.nodes[static_cast<size_t>(pool.nodes[i])];
      const Decision& d = ev.decisions[v][i];
      out += "dest " + vs.name + " " + node.name + " " + AddressText(node.address) +
             (d.up ? " up " : " down ") + std::to_string(d.up ? d.weight : 0) + "\n";
    }
  }
  out += "end\n";
  return out;
}

bool WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode,
                     std::string* err) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "/." + base + ".XXXXXX";
  int fd = mkostemp(&tmp[0], O_CLOEXEC);
  if (fd < 0) {
    *err = tmp + ": cannot create: " + strerror(errno);
    return false;
  }
  const char* p = content.data();
  size_t left = content.size();
  bool ok = true;
  while (left > 0 && ok) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = tmp + ": write failed: " + strerror(errno);
      ok = false;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (ok && fchmod(fd, mode) != 0) {
    *err = tmp + ": chmod failed: " + strerror(errno);
    ok = false;
  }
  // No fsync: /run is tmpfs and a reader after a crash must not trust an old
  // file anyway (stale_after); a rename is atomic for concurrent readers.
  if (close(fd) != 0 && ok) {
    *err = tmp + ": close failed: " + strerror(errno);
    ok = false;
  }
  if (ok && rename(tmp.c_str(), path.c_str()) != 0) {
    *err = path + ": rename failed: " + strerror(errno);
    ok = false;
  }
  if (!ok) unlink(tmp.c_str());
  return ok;
}

std::string TrackFileContent(const Decision& d) {
  return d.up ? std::to_string(d.weight) + "\n" : "-2147483648\n";
}

bool WriteTrackFiles(const Config& cfg, const Evaluation& ev, std::string* err) {
  std::string root = TrackDirPath(cfg.state_dir);
  if (!MakeDir(root, err)) return false;
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    const VsConfig& vs = cfg.vss[v];
    std::string dir = root + "/" + vs.name;
    if (!MakeDir(dir, err)) return false;
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      std::string path = dir + "/" + cfg.nodes[static_cast<size_t>(pool.nodes[i])].name;
      std::string content = TrackFileContent(ev.decisions[v][i]);
      // Compared with the disk, not with what we wrote last: keepalived's
      // init_file resets the files to 0 when it starts.
      if (ReadSmallFile(path) == content) continue;
      if (!WriteFileAtomic(path, content, 0644, err)) return false;
    }
  }
  return true;
}

bool QuiesceTrackFiles(const Config& cfg, std::string* err) {
  for (const VsConfig& vs : cfg.vss) {
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
    for (int n : pool.nodes) {
      std::string path = TrackFilePath(cfg.state_dir, vs.name, cfg.nodes[static_cast<size_t>(n)].name);
      if (access(path.c_str(), F_OK) != 0) continue;  // never written: nothing follows it
      if (!WriteFileAtomic(path, "0\n", 0644, err)) return false;
    }
  }
  return true;
}

}  // namespace mpp
