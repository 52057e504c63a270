#include "common/state_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/decimal.h"
#include "common/names.h"

namespace mpp {
namespace {

const char kCorruptSyntax[] = "state file is corrupt (bad syntax)";

struct Line {
  const char* p;
  size_t len;  // without the newline
};

// Takes the next line of [*pos, end); false if there is no complete line.
bool TakeLine(const char** pos, const char* end, Line* line) {
  if (*pos >= end) return false;
  const char* nl = static_cast<const char*>(memchr(*pos, '\n', static_cast<size_t>(end - *pos)));
  if (nl == nullptr) return false;
  line->p = *pos;
  line->len = static_cast<size_t>(nl - *pos);
  *pos = nl + 1;
  return true;
}

// "KEY NUMBER" with KEY given.
bool HeaderNumber(const char** pos, const char* end, const char* key, int64_t* out) {
  Line l;
  if (!TakeLine(pos, end, &l)) return false;
  size_t klen = strlen(key);
  if (l.len <= klen + 1 || memcmp(l.p, key, klen) != 0 || l.p[klen] != ' ') return false;
  return ParseDecimal(l.p + klen + 1, l.len - klen - 1, INT64_MIN, INT64_MAX, out);
}

bool StartsWith(const Line& l, const char* word, size_t n) {
  return l.len > n && memcmp(l.p, word, n) == 0 && l.p[n] == ' ';
}

// Splits a line into up to max fields separated by single spaces. With
// rest_last, the last field takes the rest of the line, spaces included.
// Empty fields are malformed. Returns the field count or -1.
int Split(const Line& l, Text* fields, int max, bool rest_last) {
  int n = 0;
  const char* p = l.p;
  const char* end = l.p + l.len;
  while (p < end) {
    if (n == max) return -1;
    const char* sp = (rest_last && n == max - 1)
                         ? nullptr
                         : static_cast<const char*>(memchr(p, ' ', static_cast<size_t>(end - p)));
    const char* stop = sp ? sp : end;
    if (stop == p) return -1;
    fields[n].data = p;
    fields[n].len = static_cast<size_t>(stop - p);
    ++n;
    p = sp ? sp + 1 : end;
    if (sp && p == end) return -1;  // trailing space
  }
  return n;
}

bool ParseAddressField(const Text& t, Address* a) {
  const char* why;
  return ParseAddress(t.data, t.len, a, &why);
}

// The words of common/names.h, the writer's vocabulary.
bool IsStateName(const Text& t) {
  State s;
  return ParseState(t.data, t.len, &s);
}

bool IsStatusName(const Text& t) {
  Status s;
  return ParseStatus(t.data, t.len, &s);
}

bool IsNodeTypeName(const Text& t) {
  NodeType n;
  return ParseNodeType(t.data, t.len, &n);
}

bool IsVsRoleName(const Text& t) {
  VsRole r;
  return ParseVsRole(t.data, t.len, &r);
}

bool ParseNodeLine(const Line& l, NodeRecord* out) {
  Text f[10];
  if (Split(l, f, 10, true) != 10) return false;
  out->pool = f[1];
  out->name = f[2];
  out->type = f[3];
  out->state = f[4];
  out->status = f[5];
  out->address_text = f[6];
  out->reason = f[9];
  if (!IsNodeTypeName(f[3])) return false;
  if (!IsStateName(f[4]) || !IsStatusName(f[5])) return false;
  if (!ParseAddressField(f[6], &out->address)) return false;
  if (f[7].Equals("-")) {
    out->lag_s = -1;
  } else if (!ParseDecimal(f[7].data, f[7].len, 0, INT64_MAX, &out->lag_s)) {
    return false;
  }
  return ParseDecimal(f[8].data, f[8].len, 0, INT64_MAX, &out->since_ms);
}

bool ParseVsLine(const Line& l, DestRecord* out) {
  Text f[5];
  if (Split(l, f, 5, false) != 5) return false;
  if (!IsVsRoleName(f[2])) return false;
  out->vs = f[1];
  out->role = f[2];
  out->vs_address_text = f[4];
  return ParseAddressField(f[4], &out->vs_address);
}

bool ParseDestLine(const Line& l, const DestRecord& vs, DestRecord* out) {
  Text f[6];
  if (Split(l, f, 6, false) != 6) return false;
  if (vs.vs.data == nullptr || f[1].len != vs.vs.len || memcmp(f[1].data, vs.vs.data, f[1].len) != 0)
    return false;  // a dest must follow its own vs line
  *out = vs;
  out->node = f[2];
  out->node_address_text = f[3];
  if (!ParseAddressField(f[3], &out->node_address)) return false;
  if (f[4].Equals("up")) {
    out->up = true;
  } else if (f[4].Equals("down")) {
    out->up = false;
  } else {
    return false;
  }
  return ParseDecimal(f[5].data, f[5].len, 0, 65535, &out->weight);
}

}  // namespace

bool Text::Equals(const char* s) const {
  size_t n = strlen(s);
  return n == len && memcmp(data, s, n) == 0;
}

Freshness StateFreshness(const StateHeader& h, int64_t now_ms, int64_t* age_ms) {
  int64_t age;
  // Clamped so that -age exists: a corrupt time_ms must not be undefined.
  if (__builtin_sub_overflow(now_ms, h.time_ms, &age) || age == INT64_MIN)
    age = now_ms > h.time_ms ? INT64_MAX : -INT64_MAX;
  *age_ms = age;
  if (age > h.stale_after_ms) return Freshness::kStale;
  if (-age > h.stale_after_ms) return Freshness::kFromFuture;
  return Freshness::kFresh;
}

StateError ParseStateFile(const char* data, size_t len, StateFile* out, const char** why,
                          StateCheck check) {
  *why = kCorruptSyntax;
  if (len == 0) {
    *why = "state file is empty";
    return StateError::kCorrupt;
  }
  if (data[len - 1] != '\n') {
    *why = "state file is corrupt (no final newline: truncated?)";
    return StateError::kCorrupt;
  }
  const char* pos = data;
  const char* end = data + len;
  int64_t version;
  if (!HeaderNumber(&pos, end, "mpp-state", &version)) {
    *why = "not an MPP state file";
    return StateError::kCorrupt;
  }
  if (version < kStateVersionOldest || version > kStateVersionCurrent) {
    *why = "state file has an unknown version";
    return StateError::kUnknownVersion;
  }
  StateFile f;
  f.data = data;
  f.len = len;
  f.header.version = static_cast<int>(version);
  if (!HeaderNumber(&pos, end, "pid", &f.header.pid) ||
      !HeaderNumber(&pos, end, "seq", &f.header.seq) ||
      !HeaderNumber(&pos, end, "time_ms", &f.header.time_ms) ||
      !HeaderNumber(&pos, end, "interval_ms", &f.header.interval_ms) ||
      !HeaderNumber(&pos, end, "stale_after_ms", &f.header.stale_after_ms) ||
      f.header.stale_after_ms <= 0 || f.header.interval_ms <= 0) {
    *why = "state file is corrupt (bad header)";
    return StateError::kCorrupt;
  }
  f.body = pos;
  if (check == StateCheck::kHeaderAndEnd) {
    // The last line is "end" (so nothing follows it); the lookups check the
    // lines they pass.
    size_t rest = static_cast<size_t>(end - pos);
    if (rest < 4 || memcmp(end - 4, "end\n", 4) != 0 || (rest > 4 && end[-5] != '\n')) {
      *why = "state file is corrupt (no end line: truncated?)";
      return StateError::kCorrupt;
    }
    f.body_end = end - 4;
    *out = f;
    *why = nullptr;
    return StateError::kOk;
  }
  // Every body line starts with a known word; the last line is "end".
  Line l;
  while (TakeLine(&pos, end, &l)) {
    if (l.len == 3 && memcmp(l.p, "end", 3) == 0) {
      if (pos != end) return StateError::kCorrupt;
      f.body_end = l.p;
      *out = f;
      *why = nullptr;
      return StateError::kOk;
    }
    if (!(StartsWith(l, "node", 4) || StartsWith(l, "dest", 4) || StartsWith(l, "pool", 4) ||
          StartsWith(l, "vs", 2)))
      return StateError::kCorrupt;
  }
  *why = "state file is corrupt (no end line: truncated?)";
  return StateError::kCorrupt;
}

StateError LoadStateFile(const char* path, char* buf, size_t cap, StateFile* out,
                         const char** why, StateCheck check) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      *why = "state file is missing";
      return StateError::kMissing;
    }
    *why = "state file is unreadable";
    return StateError::kUnreadable;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    *why = "state file is unreadable";
    return StateError::kUnreadable;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    *why = "state file is not a regular file";
    return StateError::kNotRegularFile;
  }
  if (static_cast<uint64_t>(st.st_size) >= cap) {
    close(fd);
    *why = "state file is too large";
    return StateError::kTooLarge;
  }
  // Read to EOF: the file is replaced by rename, never rewritten in place, so
  // the open descriptor sees one complete version.
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      *why = "state file is unreadable";
      return StateError::kUnreadable;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
    if (got == cap) {
      close(fd);
      *why = "state file is too large";
      return StateError::kTooLarge;
    }
  }
  close(fd);
  return ParseStateFile(buf, got, out, why, check);
}

StateCursor BeginRecords(const StateFile& f) {
  StateCursor c;
  c.pos = f.body;
  c.end = f.body_end;
  return c;
}

bool NextNode(StateCursor* c, NodeRecord* out) {
  Line l;
  while (TakeLine(&c->pos, c->end, &l)) {
    if (!StartsWith(l, "node", 4)) continue;
    if (!ParseNodeLine(l, out)) {
      c->error = true;
      c->why = "state file is corrupt (bad node line)";
      return false;
    }
    return true;
  }
  return false;
}

bool NextDest(StateCursor* c, DestRecord* out) {
  Line l;
  while (TakeLine(&c->pos, c->end, &l)) {
    if (StartsWith(l, "vs", 2)) {
      DestRecord vs;
      if (!ParseVsLine(l, &vs)) {
        c->error = true;
        c->why = "state file is corrupt (bad vs line)";
        return false;
      }
      c->current_vs = vs;
    } else if (StartsWith(l, "dest", 4)) {
      if (!ParseDestLine(l, c->current_vs, out)) {
        c->error = true;
        c->why = "state file is corrupt (bad dest line)";
        return false;
      }
      return true;
    }
  }
  return false;
}

namespace {

// The lookups walk the body once, check the record word of every line they
// pass (so they are safe after StateCheck::kHeaderAndEnd), compare one
// field of the candidate lines, and parse in full only the line asked for.
// That keeps a lookup in a 1000-node file cheaper than starting /bin/true.

const char kBadLine[] = "state file is corrupt (bad syntax)";
const char kBadVsLine[] = "state file is corrupt (bad vs line)";
const char kBadDestLine[] = "state file is corrupt (bad dest line)";
const char kBadNodeLine[] = "state file is corrupt (bad node line)";

enum class Word { kPool, kNode, kVs, kDest, kOther };

constexpr uint32_t Word4(const char* s) {
  // Little- or big-endian, the same way memcpy loads it.
  return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
             ? uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 |
                   uint32_t(uint8_t(s[2])) << 16 | uint32_t(uint8_t(s[3])) << 24
             : uint32_t(uint8_t(s[3])) | uint32_t(uint8_t(s[2])) << 8 |
                   uint32_t(uint8_t(s[1])) << 16 | uint32_t(uint8_t(s[0])) << 24;
}

Word Classify(const Line& l) {
  if (l.len < 5) return Word::kOther;
  uint32_t w;
  memcpy(&w, l.p, 4);
  if (l.p[4] == ' ') {
    if (w == Word4("dest")) return Word::kDest;
    if (w == Word4("node")) return Word::kNode;
    if (w == Word4("pool")) return Word::kPool;
  }
  if (l.p[0] == 'v' && l.p[1] == 's' && l.p[2] == ' ') return Word::kVs;
  return Word::kOther;
}

// Equality of n bytes without a call for the common short case: two
// overlapping 8-byte loads cover 8..16 bytes (names, IPv4 addresses).
bool SameBytes(const char* a, const char* b, size_t n) {
  if (n < 8) {
    for (size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  if (n > 16) return memcmp(a, b, n) == 0;
  uint64_t a0, a1, b0, b1;
  memcpy(&a0, a, 8);
  memcpy(&b0, b, 8);
  memcpy(&a1, a + n - 8, 8);
  memcpy(&b1, b + n - 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// True if l continues at offset off with s followed by a space.
bool HasWordAt(const Line& l, size_t off, const char* s, size_t n) {
  return l.len > off + n && l.p[off + n] == ' ' && SameBytes(l.p + off, s, n);
}

// Offset of the first space at or after off, or l.len. Fields are short:
// a plain loop beats a call to memchr.
size_t SpaceFrom(const Line& l, size_t off) {
  while (off < l.len && l.p[off] != ' ') ++off;
  return off;
}

// Where ADDRESS ends in "dest VS NODE ADDRESS up|down WEIGHT": the offset
// of the space before "up"/"down", or 0 if the line does not end that way.
size_t DestAddressEnd(const Line& l) {
  size_t i = l.len;
  while (i > 0 && l.p[i - 1] >= '0' && l.p[i - 1] <= '9') --i;
  if (i == l.len || i < 1 || l.p[i - 1] != ' ') return 0;
  --i;  // at the space before WEIGHT
  if (i >= 3 && memcmp(l.p + i - 3, " up", 3) == 0) return i - 3;
  if (i >= 5 && memcmp(l.p + i - 5, " down", 5) == 0) return i - 5;
  return 0;
}

// Walks vs and dest lines. vs_matches decides, for each vs line (parsed in
// full), whether its dest lines are candidates; dest_matches whether a
// candidate (already known to name that vs) is the one. Dest lines of other
// virtual servers are skipped unparsed.
template <typename VsMatches, typename DestMatches>
bool FindDest(const StateFile& f, VsMatches vs_matches, DestMatches dest_matches,
              DestRecord* out, bool* vs_seen, const char** why) {
  const char* pos = f.body;
  DestRecord vs;
  bool candidate = false;
  Line l;
  while (TakeLine(&pos, f.body_end, &l)) {
    switch (Classify(l)) {
      case Word::kOther:
        *why = kBadLine;
        return false;
      case Word::kVs:
        if (!ParseVsLine(l, &vs)) {
          *why = kBadVsLine;
          return false;
        }
        candidate = vs_matches(vs);
        if (candidate) *vs_seen = true;
        break;
      case Word::kDest:
        if (!candidate) break;
        // A dest line must name the vs line it follows.
        if (!HasWordAt(l, 5, vs.vs.data, vs.vs.len)) {
          *why = kBadDestLine;
          return false;
        }
        if (dest_matches(l, 5 + vs.vs.len + 1)) {
          if (!ParseDestLine(l, vs, out)) {
            *why = kBadDestLine;
            return false;
          }
          return true;
        }
        break;
      default:
        break;
    }
  }
  *why = nullptr;
  return false;
}

}  // namespace

bool FindDestByName(const StateFile& f, const char* vs, const char* node, DestRecord* out,
                    const char** why) {
  size_t vs_len = strlen(vs);
  size_t node_len = strlen(node);
  bool vs_seen = false;
  auto vs_matches = [&](const DestRecord& v) { return v.vs.len == vs_len && memcmp(v.vs.data, vs, vs_len) == 0; };
  auto dest_matches = [&](const Line& l, size_t node_at) { return HasWordAt(l, node_at, node, node_len); };
  if (FindDest(f, vs_matches, dest_matches, out, &vs_seen, why)) return true;
  if (*why == nullptr)
    *why = vs_seen ? "node is not in this virtual server" : "no such virtual server in the state file";
  return false;
}

bool FindDestByAddress(const StateFile& f, const Address& vs, const Address& node,
                       DestRecord* out, const char** why) {
  // The writer writes addresses in canonical form (FormatAddress), so the
  // node's address is compared as text: "... ADDRESS up|down WEIGHT".
  char want[kAddressTextMax];
  FormatAddress(node, want);
  size_t want_len = strlen(want);
  bool vs_seen = false;
  auto vs_matches = [&](const DestRecord& v) { return v.vs_address == vs; };
  auto dest_matches = [&](const Line& l, size_t node_at) {
    size_t i = DestAddressEnd(l);
    return i >= node_at + want_len + 1 && l.p[i - want_len - 1] == ' ' &&
           SameBytes(l.p + i - want_len, want, want_len);
  };
  if (FindDest(f, vs_matches, dest_matches, out, &vs_seen, why)) return true;
  if (*why == nullptr)
    *why = vs_seen ? "real server is not in this virtual server"
                   : "no virtual server with that address in the state file";
  return false;
}

bool FindNode(const StateFile& f, const Text& name, NodeRecord* out, const char** why) {
  const char* pos = f.body;
  Line l;
  while (TakeLine(&pos, f.body_end, &l)) {
    Word w = Classify(l);
    if (w == Word::kOther) {
      *why = kBadLine;
      return false;
    }
    if (w != Word::kNode) continue;
    // "node POOL NAME ...": skip POOL, compare NAME.
    size_t name_at = SpaceFrom(l, 5) + 1;
    if (!HasWordAt(l, name_at, name.data, name.len)) continue;
    if (!ParseNodeLine(l, out)) {
      *why = kBadNodeLine;
      return false;
    }
    return true;
  }
  *why = "no such node in the state file";
  return false;
}

}  // namespace mpp
