// Reads the state file (doc/state-file.md) without allocating: the caller
// owns the buffer, the views point into it. Used by mpp-check, which must
// start in microseconds, and by mpp-ipvs. Anything unexpected is corruption:
// a reader that cannot be sure says so, and the checker then says "down".
// Thread-safety: pure functions over caller-owned memory.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/address.h"

namespace mpp {

// Versions this reader understands (see kStateFormatVersion in the writer).
constexpr int kStateVersionOldest = 1;
constexpr int kStateVersionCurrent = 1;
// A state file larger than this is refused as corrupt (1000 nodes and a few
// virtual servers take about 200 KiB).
constexpr size_t kStateFileMax = 8u << 20;

// A piece of the file: not NUL-terminated.
struct Text {
  const char* data = nullptr;
  size_t len = 0;
  bool Equals(const char* s) const;
};

struct StateHeader {
  int version = 0;
  int64_t pid = 0;
  int64_t seq = 0;
  int64_t time_ms = 0;         // wall clock when written
  int64_t interval_ms = 0;     // the writer's poll interval
  int64_t stale_after_ms = 0;  // readers treat an older file as down
};

// Whether a file's word still holds. A file older than stale_after_ms is
// stale; one ahead of this clock by more than stale_after_ms is from the
// future (a clock jump must not keep a dead writer's last word alive), and
// counts as down too. Exactly stale_after_ms either way is still fresh.
enum class Freshness { kFresh = 0, kStale, kFromFuture };

// *age_ms is now_ms - time_ms (negative for a file from the future),
// clamped to +-INT64_MAX. No allocation, no exceptions: the checker's rule.
Freshness StateFreshness(const StateHeader& h, int64_t now_ms, int64_t* age_ms);

// "node POOL NAME TYPE STATE STATUS ADDRESS LAG SINCE_MS REASON"
struct NodeRecord {
  Text pool, name, type, state, status, address_text, reason;
  Address address;
  int64_t lag_s = -1;  // -1: unknown or not a replica
  int64_t since_ms = 0;
};

// "vs NAME ROLE POOL ADDRESS" followed by its "dest VS NODE ADDRESS up|down WEIGHT"
struct DestRecord {
  Text vs, role, node, vs_address_text, node_address_text;
  Address vs_address, node_address;
  bool up = false;
  int64_t weight = 0;
};

enum class StateError {
  kOk = 0,
  kMissing,         // ENOENT
  kUnreadable,      // permission, I/O error
  kNotRegularFile,  // a directory, a fifo...
  kTooLarge,
  kCorrupt,         // truncated, no final newline, bad syntax
  kUnknownVersion,
};

struct StateFile {
  const char* data = nullptr;
  size_t len = 0;
  StateHeader header;
  const char* body = nullptr;  // first line after the header
  const char* body_end = nullptr;  // start of the "end" line
};

// How much ParseStateFile checks up front. kAllLines: every line's record
// word. kHeaderAndEnd: only the header, the version, the final newline and
// the "end" line, for a reader that makes one lookup (mpp-check): the
// lookups below check every line they pass, so the file is walked once.
enum class StateCheck { kAllLines, kHeaderAndEnd };

// Reads path into buf (cap bytes) and parses it. On error *why names the
// cause (a constant string).
StateError LoadStateFile(const char* path, char* buf, size_t cap, StateFile* out, const char** why,
                         StateCheck check = StateCheck::kAllLines);

// Validates data: header, version, the final "end" line and newline, and
// with kAllLines every line's record word.
StateError ParseStateFile(const char* data, size_t len, StateFile* out, const char** why,
                          StateCheck check = StateCheck::kAllLines);

// Walks the body. Return false when there are no more records of that kind
// or on a malformed record (then *why is set and *error is true).
struct StateCursor {
  const char* pos = nullptr;
  const char* end = nullptr;
  const char* why = nullptr;
  bool error = false;
  // The virtual server of the last "vs" line passed, for dest records.
  DestRecord current_vs;
};
StateCursor BeginRecords(const StateFile& f);
bool NextNode(StateCursor* c, NodeRecord* out);
bool NextDest(StateCursor* c, DestRecord* out);

// Lookups. Return false if absent or malformed (then *why says which). They
// check the record word of every line they pass and parse in full only the
// record they return. FindDestByAddress compares the node's address in the
// canonical text the writer uses (FormatAddress).
bool FindDestByName(const StateFile& f, const char* vs, const char* node, DestRecord* out,
                    const char** why);
bool FindDestByAddress(const StateFile& f, const Address& vs, const Address& node,
                       DestRecord* out, const char** why);
bool FindNode(const StateFile& f, const Text& name, NodeRecord* out, const char** why);

}  // namespace mpp
