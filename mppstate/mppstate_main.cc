// mppstate: polls every MySQL node of the configured pools, evaluates STATUS
// and STATE, and writes the state file and keepalived track files.
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "common/paths.h"
#include "config/config.h"
#include "mppstate/daemon.h"
#include "mppstate/logger.h"
#include "mppstate/state_dir_lock.h"
#include "mppstate/state_writer.h"

namespace {

const char kUsage[] =
    "usage: mppstate [-c FILE] [--check-config] [--once] [--syslog] [--quiesce]\n"
    "  -c FILE         configuration (default /etc/mpp/mppstate.ini)\n"
    "  --check-config  report every error in the configuration and exit (0 ok, 2 errors)\n"
    "  --once          poll once, write the state, exit\n"
    "  --syslog        log to syslog instead of stderr\n"
    "  --quiesce       set every keepalived track file to weight 0 and exit (when mppstate stops)\n"
    "  --version       print the version\n";

}  // namespace

int main(int argc, char** argv) {
  mpp::DaemonOptions opt;
  opt.config_path = "/etc/mpp/mppstate.ini";
  bool check_only = false, use_syslog = false, quiesce = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) {
      opt.config_path = argv[++i];
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--quiesce") {
      quiesce = true;
    } else if (a == "--once") {
      opt.once = true;
    } else if (a == "--syslog") {
      use_syslog = true;
    } else if (a == "--version") {
      printf("mppstate %s\n", MPP_VERSION);
      return 0;
    } else if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else {
      fprintf(stderr, "mppstate: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (check_only) {
    mpp::Config cfg;
    std::vector<std::string> errors;
    if (!mpp::LoadConfig(opt.config_path, &cfg, &errors)) {
      for (const std::string& e : errors) fprintf(stderr, "%s\n", e.c_str());
      return 2;
    }
    printf("%s: OK (%zu pools, %zu nodes, %zu virtual servers)\n", opt.config_path.c_str(), cfg.pools.size(),
           cfg.nodes.size(), cfg.vss.size());
    return 0;
  }
  if (quiesce) {
    mpp::Config cfg;
    std::vector<std::string> errors;
    std::string err;
    if (!mpp::ReadConfigFile(opt.config_path, &cfg, &errors)) {
      for (const std::string& e : errors) fprintf(stderr, "%s\n", e.c_str());
      return 2;
    }
    // Run after the daemon is gone (ExecStopPost), so the lock is free.
    // Beside a live owner it would only flap every real server to weight 0
    // until the next round. A lock that cannot be taken for another reason
    // (no state_dir yet) does not stop this safety step.
    mpp::StateDirLock lock;
    if (lock.Acquire(cfg.state_dir, &err) == mpp::StateDirLock::Result::kBusy) {
      fprintf(stderr, "mppstate: %s; track files left as they are\n", err.c_str());
      return 2;
    }
    if (!mpp::QuiesceTrackFiles(cfg, &err)) {
      fprintf(stderr, "mppstate: %s\n", err.c_str());
      return 1;
    }
    return 0;
  }
  mpp::InitLog("mppstate", use_syslog);
  return mpp::RunDaemon(opt);
}
