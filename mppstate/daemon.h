// The mppstate service: every interval it polls all nodes (concurrently, by
// a hard deadline), evaluates, writes the state file and the track files,
// logs transitions, runs the notify hook, and hands the decision to the
// topology worker, which makes the databases follow it when configured
// (topology_follower.h; never on this thread). Between
// rounds it serves mppctl on state_dir/mppstate.sock (ControlServer: no
// client can hold the loop) and handles SIGHUP (reload; a bad config keeps
// the old one) and SIGTERM/SIGINT (stop). It owns state_dir through
// StateDirLock: a second mppstate, or --once, on the same directory exits 2
// and touches nothing there.
// Thread-safety: one Daemon per process, run on the main thread.
#pragma once

#include <string>

namespace mpp {

struct DaemonOptions {
  std::string config_path;
  bool once = false;  // one round, write, exit
};

// Returns the process exit code.
int RunDaemon(const DaemonOptions& opt);

}  // namespace mpp
