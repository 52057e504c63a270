// What a restart reads back, so that it keeps the pool logic's decisions:
// the pool memory in data_dir (core/pool_memory.h), durable across reboots,
// and the previous state file, which an older version left without one. And
// the writer of the pool memory, which writes only when it changed, because
// each write is fsync'd.
// Thread-safety: none; the daemon's loop owns it.
#pragma once

#include <stddef.h>

#include <string>
#include <utility>
#include <vector>

#include "common/names.h"
#include "core/pool_memory.h"

namespace mpp {

// Node name -> STATE, as a state file's text records them; empty when the
// text is not a valid state file.
std::vector<std::pair<std::string, State>> RecordedStatesFromText(const char* data, size_t len);

// The same from the file at path (missing or unreadable: empty).
std::vector<std::pair<std::string, State>> RecordedStates(const std::string& path);

enum class MemoryLoad { kLoaded, kMissing, kError };

// Reads PoolMemoryPath(data_dir). kError: unreadable or corrupt, *err says
// where ("file:line: message").
MemoryLoad LoadPoolMemory(const std::string& data_dir, PoolMemory* out, std::string* err);

class PoolMemoryWriter {
 public:
  // What the file holds now (as loaded; empty if missing).
  void Start(const std::string& data_dir, const PoolMemory* loaded);
  // Writes m if its text differs from what the file holds. On failure the
  // next call tries again.
  bool Save(const PoolMemory& m, std::string* err);

 private:
  std::string path_;
  std::string written_;
};

}  // namespace mpp
