// Where MPP's files live by default, and the names of the files inside a
// state directory (doc/state-file.md): one place, so the daemon, mppctl, the
// checker, mpp-ipvs and the config generators agree.
// Thread-safety: constants and pure functions.
#pragma once

#include <string>

namespace mpp {

constexpr char kDefaultConfigPath[] = "/etc/mpp/mppstate.ini";
constexpr char kDefaultStateDir[] = "/run/mpp";
// kDefaultStateDir + "/state", for the checker, which allocates nothing.
constexpr char kDefaultStatePath[] = "/run/mpp/state";
// What must survive a reboot (demotions, OFFLINE, the writer): not in /run.
constexpr char kDefaultDataDir[] = "/var/lib/mpp";

inline std::string StateFilePath(const std::string& state_dir) { return state_dir + "/state"; }
inline std::string TrackDirPath(const std::string& state_dir) { return state_dir + "/track"; }
inline std::string TrackFilePath(const std::string& state_dir, const std::string& vs, const std::string& node) {
  return TrackDirPath(state_dir) + "/" + vs + "/" + node;
}
inline std::string ControlSocketPath(const std::string& state_dir) { return state_dir + "/mppstate.sock"; }
// The lock that makes one mppstate own a state directory.
inline std::string LockFilePath(const std::string& state_dir) { return state_dir + "/mppstate.lock"; }
// The pool memory (core/pool_memory.h), in data_dir.
inline std::string PoolMemoryPath(const std::string& data_dir) { return data_dir + "/pool-memory"; }

}  // namespace mpp
