#include "common/names.h"

#include <string.h>

namespace mpp {
namespace {

// A name with its length, so a lookup compares lengths before bytes.
struct Name {
  const char* text;
  size_t len;
};

template <size_t N>
constexpr Name N_(const char (&s)[N]) {
  return {s, N - 1};
}

constexpr Name kStatusNames[] = {N_("OK"), N_("INFO"), N_("WARN"), N_("CRITICAL"), N_("FAIL")};
constexpr Name kStateNames[] = {N_("UNKNOWN"), N_("ACTIVE"), N_("STANDBY"), N_("FAIL"), N_("OFFLINE")};
constexpr Name kNodeTypeNames[] = {N_("PRIMARY"), N_("SECONDARY")};
constexpr Name kVsRoleNames[] = {N_("rw"), N_("ro")};

template <typename E, size_t N>
bool ParseName(const Name (&names)[N], const char* name, size_t len, E* out) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i].len == len && memcmp(names[i].text, name, len) == 0) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

}  // namespace

const char* StatusName(Status s) { return kStatusNames[static_cast<int>(s)].text; }
const char* StateName(State s) { return kStateNames[static_cast<int>(s)].text; }
const char* NodeTypeName(NodeType t) { return kNodeTypeNames[static_cast<int>(t)].text; }
const char* VsRoleName(VsRole r) { return kVsRoleNames[static_cast<int>(r)].text; }

bool ParseStatus(const char* name, Status* out) { return ParseStatus(name, strlen(name), out); }
bool ParseState(const char* name, State* out) { return ParseState(name, strlen(name), out); }
bool ParseVsRole(const char* name, VsRole* out) { return ParseVsRole(name, strlen(name), out); }

bool ParseStatus(const char* name, size_t len, Status* out) {
  return ParseName(kStatusNames, name, len, out);
}
bool ParseState(const char* name, size_t len, State* out) {
  return ParseName(kStateNames, name, len, out);
}
bool ParseNodeType(const char* name, size_t len, NodeType* out) {
  return ParseName(kNodeTypeNames, name, len, out);
}
bool ParseVsRole(const char* name, size_t len, VsRole* out) {
  return ParseName(kVsRoleNames, name, len, out);
}

}  // namespace mpp
