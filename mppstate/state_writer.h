// Writes what mppstate decided: the state file (doc/state-file.md) and the
// keepalived track files, each replaced atomically (temp + rename in the same
// directory; the old file is never removed first). Track files are written
// downs first, so that no failure between two writes leaves two writers up,
// and track files the configuration no longer owns are taken down and removed.
// Thread-safety: pure functions, plus file writes to paths the caller owns.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>

#include "config/config.h"
#include "core/evaluation.h"

namespace mpp {

constexpr int kStateFormatVersion = 1;

// The text of the state file for ev.
std::string FormatStateFile(const Config& cfg, const Evaluation& ev, int64_t pid);

// Writes content to path atomically with the given mode. On error returns
// false, sets *err and leaves no temporary file behind. Nothing is fsync'd:
// for /run (tmpfs), whose files a reboot removes anyway.
bool WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode,
                     std::string* err);

// WriteFileAtomic for what must survive a crash or a power loss (data_dir):
// the temporary is fsync'd before the rename, the directory after it. On a
// failure after the rename, path may hold the new content, not yet durable.
bool WriteFileDurable(const std::string& path, const std::string& content, mode_t mode,
                      std::string* err);

// Writes one track file; the default is WriteFileAtomic with mode 0644.
// Tests put one in between to inject a fault at a given write.
using TrackFileWriter =
    std::function<bool(const std::string& path, const std::string& content, std::string* err)>;

// The content that makes keepalived remove the real server.
extern const char kTrackDown[];

// Track file content for one decision: the weight when up, kTrackDown when
// down.
std::string TrackFileContent(const Decision& d);

// Writes state_dir/track/VS/NODE for every (vs, node) whose file on disk
// does not hold the decision (missing, or changed by someone else), in two
// passes: first every file whose new content is lower for keepalived (down,
// or a lower weight), together with SweepTrackFiles, then the others. If a
// down write fails, no up is written (the next round retries); returns false
// with the first error.
bool WriteTrackFiles(const Config& cfg, const Evaluation& ev, std::string* err,
                     const TrackFileWriter& write = TrackFileWriter());

// For every file in state_dir/track/*/* that cfg does not own (its vs or its
// node is gone, or the node left that vs's pool): writes kTrackDown, then
// removes it. Removes temporaries of interrupted writes ('.' names) and the
// directories of virtual servers no longer in cfg once empty. Files cfg owns
// are left alone. Goes on past errors; returns false with the first.
// *downs_written (optional) is false if a file could not be taken down.
bool SweepTrackFiles(const Config& cfg, std::string* err,
                     const TrackFileWriter& write = TrackFileWriter(), bool* downs_written = nullptr);

// Sets every track file in state_dir/track/*/* to weight 0 (no new
// connections, existing ones go on), those cfg owns and those it does not
// (left by an older config; the next start takes them down and removes
// them). Run when mppstate stops, so that keepalived's FILE_CHECK, which
// cannot see a dead writer, does not follow old decisions forever. Goes on
// past errors; returns false with the first.
bool QuiesceTrackFiles(const Config& cfg, std::string* err);

}  // namespace mpp
