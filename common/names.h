// The vocabulary of MPP: node TYPE, STATUS and STATE, and their names as they
// appear in the config, the state file, logs and mppctl.
// Thread-safety: constants only.
#pragma once

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

}  // namespace mpp
