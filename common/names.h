// The vocabulary of MPP: node TYPE, STATUS and STATE, and their names as they
// appear in the config, the state file, logs and mppctl. The only table of
// these names: the checker uses it too, so nothing here allocates or throws.
// Thread-safety: constants only.
#pragma once

#include <stddef.h>

namespace mpp {

// Health from polls. Ordered: a higher value is worse.
enum class Status { kOk = 0, kInfo, kWarn, kCritical, kFail };

// Role from the pool logic.
enum class State { kUnknown = 0, kActive, kStandby, kFail, kOffline };

enum class NodeType { kPrimary = 0, kSecondary };

enum class VsRole { kReadWrite = 0, kReadOnly };

const char* StatusName(Status s);
const char* StateName(State s);
const char* NodeTypeName(NodeType t);
const char* VsRoleName(VsRole r);

// Case-sensitive parse of the upper-case names above (vs roles: "rw", "ro").
// Return false on an unknown name and leave *out untouched.
bool ParseStatus(const char* name, Status* out);
bool ParseState(const char* name, State* out);
bool ParseVsRole(const char* name, VsRole* out);

// The same over text that is not NUL-terminated: [name, name+len), e.g. a
// field of the state file.
bool ParseStatus(const char* name, size_t len, Status* out);
bool ParseState(const char* name, size_t len, State* out);
bool ParseNodeType(const char* name, size_t len, NodeType* out);
bool ParseVsRole(const char* name, size_t len, VsRole* out);

}  // namespace mpp
