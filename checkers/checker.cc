#include "checkers/checker.h"

#include <string.h>

#include "checkers/check_args.h"
#include "checkers/message.h"
#include "checkers/nagios.h"
#include "common/state_reader.h"

namespace mpp {
namespace {

// keepalived misc_dynamic: exit 2 + weight, and an exit status is one byte.
constexpr int64_t kMaxDynamicWeight = 253;

void Finish(CheckOutput* out, int code, bool to_stdout, Message& m) {
  m.Add("\n");
  out->exit_code = code;
  out->to_stdout = to_stdout;
  out->text = m.data();
  out->len = m.size();
}

// An error before any decision: exit 1 and "mpp-check: CAUSE" on stderr, or
// the plugin line with the given Nagios code.
void Error(const CheckArgs& args, NagiosCode nagios_code, const char* subject, const char* why,
           CheckOutput* out) {
  Message m(out->line, sizeof out->line);
  if (args.nagios) {
    m.Add("MPP ").Add(NagiosCodeName(nagios_code)).Add(" - ");
  } else {
    m.Add("mpp-check: ");
  }
  if (subject != nullptr) m.Add(subject).Add(": ");
  m.Add(why);
  Finish(out, args.nagios ? nagios_code : 1, args.nagios, m);
}

// "writer/db2" or "192.0.2.10:3306 -> 127.0.0.1:3307", for lookup errors.
void Subject(const CheckArgs& args, Message* m) {
  if (args.by_name) {
    m->AddUntrusted(args.vs_name, strlen(args.vs_name), kMaxQuotedArg).Add("/");
    m->AddUntrusted(args.node_name, strlen(args.node_name), kMaxQuotedArg);
  } else {
    char buf[kAddressTextMax];
    m->Add(FormatAddress(args.vs_address, buf)).Add(" -> ");
    m->Add(FormatAddress(args.node_address, buf));
  }
}

}  // namespace

void RunChecker(int argc, const char* const* argv, const char* env_state, int64_t now_ms,
                const StateInput& input, CheckOutput* out) {
  out->exit_code = 1;
  out->to_stdout = false;
  out->text = out->line;
  out->len = 0;
  out->line[0] = '\0';

  CheckArgs args;
  char err[512];
  if (!ParseCheckArgs(argc, argv, env_state, &args, err, sizeof err)) {
    Error(args, kNagiosUnknown, nullptr, err, out);
    return;
  }
  if (args.help) {
    out->exit_code = 0;
    out->to_stdout = true;
    out->text = kCheckUsage;
    out->len = strlen(kCheckUsage);
    return;
  }
  if (args.version) {
    Message m(out->line, sizeof out->line);
    m.Add("mpp-check ").Add(MPP_VERSION);
    Finish(out, 0, true, m);
    return;
  }

  StateFile file;
  const char* why = nullptr;
  StateError se = input.data != nullptr
                      ? ParseStateFile(input.data, input.len, &file, &why, StateCheck::kHeaderAndEnd)
                      : LoadStateFile(args.state_path, input.buf, input.cap, &file, &why,
                                      StateCheck::kHeaderAndEnd);
  char subject[kCheckLineMax / 2];
  if (se != StateError::kOk) {
    Message s(subject, sizeof subject);
    s.AddUntrusted(args.state_path, strlen(args.state_path), kCheckLineMax / 4);
    Error(args, kNagiosCritical, subject, why, out);
    return;
  }

  // Fresh or down (the rule is StateFreshness's).
  const StateHeader& h = file.header;
  int64_t age_ms;
  Freshness fresh = StateFreshness(h, now_ms, &age_ms);
  if (fresh != Freshness::kFresh) {
    Message s(subject, sizeof subject);
    s.AddUntrusted(args.state_path, strlen(args.state_path), kCheckLineMax / 4);
    char cause[160];
    Message c(cause, sizeof cause);
    if (fresh == Freshness::kStale) {
      c.Add("state file is stale (written ").Add(age_ms).Add(" ms ago, stale_after_ms ");
    } else {
      c.Add("state file is from the future (").Add(-age_ms).Add(" ms ahead, stale_after_ms ");
    }
    c.Add(h.stale_after_ms).Add(")");
    Error(args, kNagiosCritical, subject, cause, out);
    return;
  }

  DestRecord dest;
  bool found = args.by_name
                   ? FindDestByName(file, args.vs_name, args.node_name, &dest, &why)
                   : FindDestByAddress(file, args.vs_address, args.node_address, &dest, &why);
  if (!found) {
    Message s(subject, sizeof subject);
    Subject(args, &s);
    bool corrupt = strncmp(why, "state file", 10) == 0;
    Error(args, corrupt ? kNagiosCritical : kNagiosUnknown, subject, why, out);
    return;
  }

  if (dest.up && !args.nagios) {
    int64_t w = dest.weight > kMaxDynamicWeight ? kMaxDynamicWeight : dest.weight;
    out->exit_code = args.dynamic ? 2 + static_cast<int>(w) : 0;
    return;
  }

  if (!args.nagios) {
    // The node's STATE and STATUS would take a second walk over every node
    // line on the path keepalived runs most: --nagios shows them.
    Message m(out->line, sizeof out->line);
    m.Add("mpp-check: ").Add(dest.vs.data, dest.vs.len).Add("/").Add(dest.node.data, dest.node.len);
    m.Add(" is down");
    Finish(out, 1, false, m);
    return;
  }

  NodeRecord node;
  if (!FindNode(file, dest.node, &node, &why)) {
    Message s(subject, sizeof subject);
    s.Add(dest.vs.data, dest.vs.len).Add("/").Add(dest.node.data, dest.node.len);
    Error(args, kNagiosCritical, subject, why, out);
    return;
  }
  Message m(out->line, sizeof out->line);
  NagiosCode code = NagiosSeverity(dest, node);
  FormatNagiosLine(code, dest, node, age_ms, h.stale_after_ms, &m);
  Finish(out, code, true, m);
}

}  // namespace mpp
