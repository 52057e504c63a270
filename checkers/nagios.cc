#include "checkers/nagios.h"

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

// Index of the name in the state file's vocabulary, for perfdata.
int StateIndex(const Text& s) {
  static const char* const kNames[] = {"UNKNOWN", "ACTIVE", "STANDBY", "FAIL", "OFFLINE"};
  for (int i = 0; i < 5; ++i)
    if (s.Equals(kNames[i])) return i;
  return 0;
}

int StatusIndex(const Text& s) {
  static const char* const kNames[] = {"OK", "INFO", "WARN", "CRITICAL", "FAIL"};
  for (int i = 0; i < 5; ++i)
    if (s.Equals(kNames[i])) return i;
  return 4;
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
  int status = StatusIndex(node.status);
  NagiosCode code = status <= 1 ? kNagiosOk : status == 2 ? kNagiosWarning : kNagiosCritical;
  int state = StateIndex(node.state);
  if (state == 0) code = Worst(code, kNagiosUnknown);
  if (state == 3) code = Worst(code, kNagiosCritical);
  if (state == 4) code = Worst(code, kNagiosWarning);
  if (!dest.up) {
    if (state == 1 && dest.role.Equals("rw")) code = Worst(code, kNagiosCritical);
    if (state == 2 && dest.role.Equals("ro")) code = Worst(code, kNagiosWarning);
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
  m->Add(" state=").Add(int64_t{StateIndex(node.state)}).Add(";;;0;4");
  m->Add(" status=").Add(int64_t{StatusIndex(node.status)}).Add(";;;0;4");
  if (node.lag_s < 0) {
    m->Add(" lag=U");
  } else {
    m->Add(" lag=").Add(node.lag_s).Add("s;;;0");
  }
  m->Add(" age=").AddSeconds(age_ms).Add("s;;").AddSeconds(stale_after_ms).Add(";0");
}

}  // namespace mpp
