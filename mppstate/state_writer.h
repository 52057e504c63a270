// Writes what mppstate decided: the state file (doc/state-file.md) and the
// keepalived track files, each replaced atomically (temp + rename in the same
// directory; the old file is never removed first).
// Thread-safety: pure functions, plus file writes to paths the caller owns.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <map>
#include <string>

#include "config/config.h"
#include "core/evaluation.h"

namespace mpp {

constexpr int kStateFormatVersion = 1;

// The text of the state file for ev.
std::string FormatStateFile(const Config& cfg, const Evaluation& ev, int64_t pid);

// Writes content to path atomically with the given mode. On error returns
// false, sets *err and leaves no temporary file behind.
bool WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode,
                     std::string* err);

// Track file content for one decision: the weight when up, the value that
// makes keepalived remove the real server when down.
std::string TrackFileContent(const Decision& d);

// Writes state_dir/track/VS/NODE for every (vs, node) whose file on disk
// does not hold the decision (missing, or changed by someone else).
// Returns false on the first error.
bool WriteTrackFiles(const Config& cfg, const Evaluation& ev, std::string* err);

// Sets every existing track file of cfg to weight 0 (no new connections,
// existing ones go on). Run when mppstate stops, so that keepalived's
// FILE_CHECK, which cannot see a dead writer, does not follow old decisions
// forever. Returns false on the first error.
bool QuiesceTrackFiles(const Config& cfg, std::string* err);

}  // namespace mpp
