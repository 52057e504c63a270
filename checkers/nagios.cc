#include "checkers/nagios.h"

#include "common/names.h"

namespace mpp {
namespace {

// Rank for "worst wins": UNKNOWN sits between OK and WARNING.
int Rank(NagiosCode c) {
  switch (c) {
    case kNagiosOk: return 0;
    case kNagiosUnknown: return 1;
    case kNagiosWarning: return 2;
    case kNagiosCritical: return 3;
  }
  return 3;
}

NagiosCode Worst(NagiosCode a, NagiosCode b) { return Rank(a) >= Rank(b) ? a : b; }

// The node's STATE and STATUS as their numbers in common/names.h, which are
// also the perfdata values. The reader has checked the words; should one be
// unknown anyway, it reads as STATE UNKNOWN or STATUS FAIL, never as OK.
State StateOf(const Text& t) {
  State s = State::kUnknown;
  ParseState(t.data, t.len, &s);
  return s;
}

Status StatusOf(const Text& t) {
  Status s = Status::kFail;
  ParseStatus(t.data, t.len, &s);
  return s;
}

}  // namespace

const char* NagiosCodeName(int code) {
  switch (code) {
    case kNagiosOk: return "OK";
    case kNagiosWarning: return "WARNING";
    case kNagiosCritical: return "CRITICAL";
    default: return "UNKNOWN";
  }
}

NagiosCode NagiosSeverity(const DestRecord& dest, const NodeRecord& node) {
  Status status = StatusOf(node.status);
  NagiosCode code = status <= Status::kInfo   ? kNagiosOk
                    : status == Status::kWarn ? kNagiosWarning
                                              : kNagiosCritical;
  State state = StateOf(node.state);
  if (state == State::kUnknown) code = Worst(code, kNagiosUnknown);
  if (state == State::kFail) code = Worst(code, kNagiosCritical);
  if (state == State::kOffline) code = Worst(code, kNagiosWarning);
  VsRole role;
  if (!dest.up && ParseVsRole(dest.role.data, dest.role.len, &role)) {
    if (state == State::kActive && role == VsRole::kReadWrite) code = Worst(code, kNagiosCritical);
    if (state == State::kStandby && role == VsRole::kReadOnly) code = Worst(code, kNagiosWarning);
  }
  return code;
}

void FormatNagiosLine(NagiosCode code, const DestRecord& dest, const NodeRecord& node,
                      int64_t age_ms, int64_t stale_after_ms, Message* m) {
  m->Add("MPP ").Add(NagiosCodeName(code)).Add(" - ");
  m->Add(dest.vs.data, dest.vs.len).Add("/").Add(dest.node.data, dest.node.len);
  if (dest.up) {
    m->Add(" up, weight ").Add(dest.weight);
  } else {
    m->Add(" down");
  }
  m->Add(": ").Add(node.state.data, node.state.len).Add("/").Add(node.status.data, node.status.len);
  m->Add(", lag ");
  if (node.lag_s < 0) {
    m->Add("-");
  } else {
    m->Add(node.lag_s).Add("s");
  }
  if (!node.reason.Equals("-")) m->Add(" (").AddUntrusted(node.reason.data, node.reason.len, kMaxReason).Add(")");
  m->Add(" | up=").Add(int64_t{dest.up ? 1 : 0});
  m->Add(" weight=").Add(dest.weight);
  m->Add(" state=").Add(int64_t{static_cast<int>(StateOf(node.state))}).Add(";;;0;4");
  m->Add(" status=").Add(int64_t{static_cast<int>(StatusOf(node.status))}).Add(";;;0;4");
  if (node.lag_s < 0) {
    m->Add(" lag=U");
  } else {
    m->Add(" lag=").Add(node.lag_s).Add("s;;;0");
  }
  m->Add(" age=").AddSeconds(age_ms).Add("s;;").AddSeconds(stale_after_ms).Add(";0");
}

}  // namespace mpp
