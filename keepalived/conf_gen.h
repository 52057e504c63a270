// Generates keepalived and ldirectord configuration from mppstate.ini, so
// that the load balancer follows MPP's decisions (mppctl keepalived-conf,
// mppctl ldirectord-conf). keepalived/README.md explains the choices; the
// kernel tests (tests/kernel) prove them against real keepalived, ldirectord
// and IPVS.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "config/config.h"

namespace mpp {

struct KeepalivedConfOptions {
  // false: FILE_CHECK on the track files mppstate writes (no process per
  // check; keepalived reacts through inotify). true: MISC_CHECK running
  // mpp-check with misc_dynamic.
  bool misc = false;
  std::string check_path = "/usr/sbin/mpp-check";
  // The unprivileged user keepalived runs MISC_CHECK programs as.
  std::string script_user = "keepalived_script";
  // Seconds between checks; 0 derives it from the poll interval (rounded
  // up, at least 1).
  int delay_loop = 0;
  std::string lb_algo = "wrr";
};

// One virtual_server block per [vs] of cfg, with a real_server per node of
// its pool, plus a global_defs block and the track_file declarations.
// REQUIRES: cfg was accepted by ParseConfig.
std::string KeepalivedConf(const Config& cfg, const KeepalivedConfOptions& opt);

struct LdirectordConfOptions {
  // false: checktype = external running check_path (mpp-check);
  // true: checktype = external-perl running perl_check_path.
  bool perl = false;
  std::string check_path = "/usr/sbin/mpp-check";
  std::string perl_check_path = "/usr/share/mpp/mpp-check.pl";
  int checkinterval = 0;  // seconds; 0 derives it from the poll interval
  std::string scheduler = "wrr";
};

// An ldirectord.cf with one virtual= block per [vs] of cfg.
// REQUIRES: cfg was accepted by ParseConfig.
std::string LdirectordConf(const Config& cfg, const LdirectordConfOptions& opt);

// The track_file name keepalived knows the (vs, node) file by.
std::string TrackFileName(const std::string& vs, const std::string& node);

}  // namespace mpp
