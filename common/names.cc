#include "common/names.h"

#include <string.h>

namespace mpp {
namespace {

const char* const kStatusNames[] = {"OK", "INFO", "WARN", "CRITICAL", "FAIL"};
const char* const kStateNames[] = {"UNKNOWN", "ACTIVE", "STANDBY", "FAIL", "OFFLINE"};
const char* const kNodeTypeNames[] = {"PRIMARY", "SECONDARY"};
const char* const kVsRoleNames[] = {"rw", "ro"};

template <typename E, int N>
bool ParseName(const char* const (&names)[N], const char* name, E* out) {
  for (int i = 0; i < N; ++i) {
    if (strcmp(names[i], name) == 0) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

}  // namespace

const char* StatusName(Status s) { return kStatusNames[static_cast<int>(s)]; }
const char* StateName(State s) { return kStateNames[static_cast<int>(s)]; }
const char* NodeTypeName(NodeType t) { return kNodeTypeNames[static_cast<int>(t)]; }
const char* VsRoleName(VsRole r) { return kVsRoleNames[static_cast<int>(r)]; }

bool ParseStatus(const char* name, Status* out) { return ParseName(kStatusNames, name, out); }
bool ParseState(const char* name, State* out) { return ParseName(kStateNames, name, out); }
bool ParseVsRole(const char* name, VsRole* out) { return ParseName(kVsRoleNames, name, out); }

}  // namespace mpp
