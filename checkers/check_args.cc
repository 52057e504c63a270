#include "checkers/check_args.h"

#include <string.h>

#include "checkers/message.h"
#include "common/paths.h"

namespace mpp {

const char kCheckUsage[] =
    "Usage: mpp-check [--state FILE] [--dynamic] [--nagios] VIP VPORT RIP RPORT\n"
    "       mpp-check [--state FILE] [--dynamic] [--nagios] --vs NAME --node NAME\n"
    "\n"
    "Answers from mppstate's state file whether a real server is up for a\n"
    "virtual server. VIP may be a firewall mark with VPORT 0; IPv6 addresses may\n"
    "have brackets.\n"
    "\n"
    "  --state FILE  state file (default: $MPP_STATE, else /run/mpp/state)\n"
    "  --dynamic     for keepalived misc_dynamic: up exits 2 + weight (0..253)\n"
    "  --nagios      one line of plugin output; exit 0 OK, 1 WARNING,\n"
    "                2 CRITICAL, 3 UNKNOWN\n"
    "  --help, --version\n"
    "\n"
    "Exit 0: up. Exit 1: down, or any error (missing, corrupt or stale state\n"
    "file, unknown virtual server or node), with one line on stderr.\n";

namespace {

bool Fail(char* err, size_t cap, const char* what, const char* arg) {
  Message m(err, cap);
  m.Add(what);
  if (arg != nullptr) m.Add(" '").AddUntrusted(arg, strlen(arg), kMaxQuotedArg).Add("'");
  return false;
}

// "--name VALUE" or "--name=VALUE". Returns 0 if argv[*i] is not this option,
// 1 if it is (value set, *i advanced), -1 if the value is missing or empty.
int TakeValue(int argc, const char* const* argv, int* i, const char* name, const char** value) {
  const char* a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
  } else if (a[n] == '\0') {
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
  } else {
    return 0;
  }
  return **value == '\0' ? -1 : 1;
}

}  // namespace

bool ParseCheckArgs(int argc, const char* const* argv, const char* env_state, CheckArgs* out,
                    char* err, size_t err_cap) {
  // Filled as parsing goes, so that on an error the caller still knows
  // whether --nagios came before it.
  *out = CheckArgs();
  CheckArgs& a = *out;
  const char* positional[4];
  int npos = 0;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      if (npos == 4) return Fail(err, err_cap, "too many arguments: unexpected", arg);
      positional[npos++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options_done = true;
      continue;
    }
    if (strcmp(arg, "--dynamic") == 0) {
      a.dynamic = true;
      continue;
    }
    if (strcmp(arg, "--nagios") == 0) {
      a.nagios = true;
      continue;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      a.help = true;
      continue;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
      a.version = true;
      continue;
    }
    static const char* const kWithValue[] = {"--state", "--vs", "--node"};
    const char** slots[] = {&a.state_path, &a.vs_name, &a.node_name};
    int taken = 0;
    for (int k = 0; k < 3 && taken == 0; ++k) {
      taken = TakeValue(argc, argv, &i, kWithValue[k], slots[k]);
      if (taken < 0) return Fail(err, err_cap, "option needs a value:", kWithValue[k]);
    }
    if (taken == 0) return Fail(err, err_cap, "unknown option", arg);
  }
  // --help and --version win over anything else on the line.
  if (a.help || a.version) return true;
  if (a.vs_name != nullptr || a.node_name != nullptr) {
    if (a.vs_name == nullptr || a.node_name == nullptr)
      return Fail(err, err_cap, "--vs and --node go together", nullptr);
    if (npos != 0)
      return Fail(err, err_cap, "give either VIP VPORT RIP RPORT or --vs NAME --node NAME",
                  nullptr);
    a.by_name = true;
  } else if (npos != 4) {
    return Fail(err, err_cap, "expected VIP VPORT RIP RPORT or --vs NAME --node NAME (see --help)",
                nullptr);
  } else {
    const char* why;
    if (!ParseAddressPair(positional[0], positional[1], &a.vs_address, &why)) {
      Message m(err, err_cap);
      m.Add("virtual server '").AddUntrusted(positional[0], strlen(positional[0]), kMaxQuotedArg);
      m.Add(" ").AddUntrusted(positional[1], strlen(positional[1]), kMaxQuotedArg);
      m.Add("': ").Add(why);
      return false;
    }
    if (!ParseAddressPair(positional[2], positional[3], &a.node_address, &why) ||
        a.node_address.kind == Address::kFwmark) {
      if (a.node_address.kind == Address::kFwmark) why = "not an IP address";
      Message m(err, err_cap);
      m.Add("real server '").AddUntrusted(positional[2], strlen(positional[2]), kMaxQuotedArg);
      m.Add(" ").AddUntrusted(positional[3], strlen(positional[3]), kMaxQuotedArg);
      m.Add("': ").Add(why);
      return false;
    }
  }
  if (a.state_path == nullptr)
    a.state_path = (env_state != nullptr && env_state[0] != '\0') ? env_state : kDefaultStatePath;
  return true;
}

}  // namespace mpp
