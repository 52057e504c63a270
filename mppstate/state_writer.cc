#include "mppstate/state_writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <utility>
#include <vector>

#include "common/address_text.h"
#include "common/paths.h"

namespace mpp {

const char kTrackDown[] = "-2147483648\n";

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

bool WriteFile(const std::string& path, const std::string& content, mode_t mode, bool durable,
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
  // Without it a crash can leave the renamed file empty (ext4 and xfs may
  // commit the rename before the data).
  if (ok && durable && fsync(fd) != 0) {
    *err = tmp + ": fsync failed: " + strerror(errno);
    ok = false;
  }
  if (close(fd) != 0 && ok) {
    *err = tmp + ": close failed: " + strerror(errno);
    ok = false;
  }
  if (ok && rename(tmp.c_str(), path.c_str()) != 0) {
    *err = path + ": rename failed: " + strerror(errno);
    ok = false;
  }
  if (!ok) {
    unlink(tmp.c_str());
    return false;
  }
  if (!durable) return true;
  // The rename itself is only durable once the directory is.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    *err = dir + ": cannot open to fsync: " + strerror(errno);
    return false;
  }
  bool synced = fsync(dfd) == 0;
  if (!synced) *err = dir + ": fsync failed: " + strerror(errno);
  close(dfd);
  return synced;
}

// What keepalived makes of a track file's content: -1 for "remove the real
// server", else the weight (a number prefix, negative numbers and garbage
// read as 0, like a missing file).
int64_t TrackValue(const std::string& content) {
  if (content.compare(0, strlen(kTrackDown) - 1, kTrackDown, strlen(kTrackDown) - 1) == 0) return -1;
  long long v = strtoll(content.c_str(), nullptr, 10);
  return v > 0 ? v : 0;
}

struct DirEntry {
  std::string name;
  bool dir;
};

// The entries of path but "." and ".."; a missing directory has none.
bool ListDir(const std::string& path, std::vector<DirEntry>* out, std::string* err) {
  out->clear();
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return true;
    *err = path + ": cannot list: " + strerror(errno);
    return false;
  }
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = lstat((path + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    out->push_back({name, is_dir});
  }
  closedir(d);
  return true;
}

bool DefaultTrackWrite(const std::string& path, const std::string& content, std::string* err) {
  return WriteFileAtomic(path, content, 0644, err);
}

// The track file names cfg owns, by virtual server.
std::map<std::string, std::set<std::string>> OwnedTrackFiles(const Config& cfg) {
  std::map<std::string, std::set<std::string>> owned;
  for (const VsConfig& vs : cfg.vss) {
    std::set<std::string>& names = owned[vs.name];
    for (int n : cfg.pools[static_cast<size_t>(vs.pool)].nodes) names.insert(cfg.nodes[static_cast<size_t>(n)].name);
  }
  return owned;
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
    out += "pool " + pool.name + (ev.isolated ? " isolated " : ev.cluster.frozen ? " frozen " : " ok ") + OneLine(pe.note) + "\n";
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
  // No fsync: /run is tmpfs and a reader after a crash must not trust an old
  // file anyway (stale_after); a rename is atomic for concurrent readers.
  return WriteFile(path, content, mode, false, err);
}

bool WriteFileDurable(const std::string& path, const std::string& content, mode_t mode,
                      std::string* err) {
  return WriteFile(path, content, mode, true, err);
}

std::string TrackFileContent(const Decision& d) {
  return d.up ? std::to_string(d.weight) + "\n" : kTrackDown;
}

bool WriteTrackFiles(const Config& cfg, const Evaluation& ev, std::string* err, const TrackFileWriter& write) {
  const TrackFileWriter& put = write ? write : DefaultTrackWrite;
  std::string root = TrackDirPath(cfg.state_dir);
  if (!MakeDir(root, err)) return false;
  struct Change {
    std::string path, content;
  };
  std::vector<Change> downs, ups;
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
      std::string now = ReadSmallFile(path);
      if (now == content) continue;
      (TrackValue(content) < TrackValue(now) ? downs : ups).push_back({path, content});
    }
  }
  // Every down before any up (a failback or a switchover to an earlier node
  // would otherwise put the new writer up first). A failed down stops the
  // ups: two writers up is worse than none for one round.
  std::string first;
  for (const Change& c : downs) {
    std::string e;
    if (!put(c.path, c.content, &e) && first.empty()) first = e;
  }
  // Files of a vs or node that a reload or a restart dropped: downs too.
  std::string sweep_err;
  bool swept_down = true;
  if (!SweepTrackFiles(cfg, &sweep_err, put, &swept_down) && !swept_down && first.empty()) first = sweep_err;
  if (!first.empty()) {
    *err = first;
    return false;
  }
  for (const Change& c : ups)
    if (!put(c.path, c.content, err)) return false;
  // What is left (a file that says down but could not be removed) is no
  // danger: reported, not in the way of the ups.
  if (!sweep_err.empty()) {
    *err = sweep_err;
    return false;
  }
  return true;
}

bool SweepTrackFiles(const Config& cfg, std::string* err, const TrackFileWriter& write, bool* downs_written) {
  const TrackFileWriter& put = write ? write : DefaultTrackWrite;
  std::map<std::string, std::set<std::string>> owned = OwnedTrackFiles(cfg);
  std::string root = TrackDirPath(cfg.state_dir);
  std::string first;
  bool downs_ok = true;
  std::vector<DirEntry> vss, files;
  std::string e;
  if (!ListDir(root, &vss, &e)) {
    first = e;
    downs_ok = false;  // what is in there is unknown
  }
  for (const DirEntry& vs : vss) {
    // Vs names never start with '.'; anything else here is not ours.
    if (!vs.dir || vs.name[0] == '.') continue;
    std::string dir = root + "/" + vs.name;
    auto mine = owned.find(vs.name);
    if (!ListDir(dir, &files, &e)) {
      if (first.empty()) first = e;
      downs_ok = false;
      continue;
    }
    for (const DirEntry& f : files) {
      if (f.dir) continue;
      std::string path = dir + "/" + f.name;
      if (f.name[0] == '.') {  // the temporary of an interrupted write
        if (unlink(path.c_str()) != 0 && errno != ENOENT && first.empty())
          first = path + ": cannot remove: " + strerror(errno);
        continue;
      }
      if (mine != owned.end() && mine->second.count(f.name)) continue;
      // Down first: keepalived may still follow this file, and a missing
      // file only quiesces its server (weight 0), it does not remove it.
      if (ReadSmallFile(path) != kTrackDown && !put(path, kTrackDown, &e)) {
        if (first.empty()) first = e;
        downs_ok = false;
        continue;
      }
      if (unlink(path.c_str()) != 0 && errno != ENOENT && first.empty())
        first = path + ": cannot remove: " + strerror(errno);
    }
    if (mine == owned.end() && rmdir(dir.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST &&
        errno != ENOENT && first.empty())
      first = dir + ": cannot remove: " + strerror(errno);
  }
  if (downs_written != nullptr) *downs_written = downs_ok;
  if (first.empty()) return true;
  *err = first;
  return false;
}

bool QuiesceTrackFiles(const Config& cfg, std::string* err) {
  std::string root = TrackDirPath(cfg.state_dir);
  std::string first, e;
  std::vector<DirEntry> vss, files;
  if (!ListDir(root, &vss, err)) return false;
  // Every file, not only those cfg owns: the config on disk may have been
  // edited since the daemon last read it, and a file it no longer names may
  // still steer keepalived. Weight 0 as for the others (no connection is
  // cut); the next start takes such files down and removes them.
  for (const DirEntry& vs : vss) {
    if (!vs.dir || vs.name[0] == '.') continue;
    std::string dir = root + "/" + vs.name;
    if (!ListDir(dir, &files, &e)) {
      if (first.empty()) first = e;
      continue;
    }
    for (const DirEntry& f : files) {
      if (f.dir || f.name[0] == '.') continue;
      if (!WriteFileAtomic(dir + "/" + f.name, "0\n", 0644, &e) && first.empty()) first = e;
    }
  }
  if (first.empty()) return true;
  *err = first;
  return false;
}

}  // namespace mpp
