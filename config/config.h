// The configuration of mppstate (and of mpp-ipvs, which reads the same file):
// doc/config.md is the reference. Parsing is strict and reports every error
// as "file:line: message".
// Thread-safety: a Config is an immutable value once parsed.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "common/address.h"
#include "common/names.h"

namespace mpp {

struct NodeConfig {
  std::string name;
  Address address;
  int weight = 1;  // the IPVS weight when up
  // no: never made the writer (elected, promoted, failed back or switched
  // over to); it still serves reads (doc/pool-logic.md).
  bool promote = true;
  std::string zone;  // where it runs, for failover_zones; "" when not said
  int line = 0;      // where the section starts, for messages
};

enum class DemotedRecovery { kManual, kAuto };
// Whether a demoted ex-writer is attached to the ACTIVE by itself once it is
// proven not to have diverged (auto), or only by `mppctl rejoin` (manual).
enum class RejoinMode { kManual, kAuto };

struct PoolConfig {
  std::string name;
  std::vector<int> nodes;  // indexes into Config::nodes, priority order
  Status failover_at = Status::kWarn;
  int recover_after = 3;            // clean polls before STATUS returns to OK
  int64_t max_lag_ms = 10000;       // a standby serves reads up to this lag
  int64_t max_promote_lag_ms = 30000;
  int64_t promote_wait_ms = 0;      // wait for the best candidate's relay log
  int64_t election_timeout_ms = 10000;
  bool failback = false;
  DemotedRecovery demoted_recovery = DemotedRecovery::kManual;
  bool manage_read_only = false;   // fencing; implied by manage_replication
  // The databases follow the decision: the ACTIVE replicates from nobody,
  // every other node from the ACTIVE (doc/replication.md).
  bool manage_replication = false;
  RejoinMode rejoin = RejoinMode::kManual;
  // MariaDB semi-synchronous replication follows the writer: the primary
  // side (AFTER_SYNC) on the ACTIVE only, the replica side on the standbys.
  bool semi_sync = false;
  // A fenced ex-writer holding an unacknowledged tail no survivor has is
  // rewound (its row events undone) and rejoins (doc/replication.md).
  bool rewind = false;
  // failover_zones = same: a failover chooses only among the failed
  // writer's zone (a switchover may cross zones).
  bool failover_same_zone = false;
  int line = 0;
};

enum class IpvsForward { kMasq, kDirect, kTunnel };
enum class IpvsProtocol { kTcp, kUdp };

struct VsConfig {
  std::string name;
  Address address;
  int pool = -1;  // index into Config::pools
  VsRole role = VsRole::kReadWrite;
  Status rw_down_at = Status::kFail;  // rw: ACTIVE is down from this STATUS on
  bool ro_fallback_to_active = true;  // ro: the ACTIVE serves reads if no standby can
  IpvsProtocol protocol = IpvsProtocol::kTcp;
  IpvsForward forward = IpvsForward::kMasq;
  uint32_t upper_threshold = 0;
  uint32_t lower_threshold = 0;
  int line = 0;
};

enum class IpvsOnDown { kQuiesce, kRemove };

// TLS to the MySQL servers ([global] tls). The CA, certificate and key come
// from the option file (ssl-ca, ssl-cert, ssl-key).
enum class TlsMode {
  kOff,             // never
  kPreferred,       // when the server offers it, unverified
  kRequired,        // always, unverified: fails if the server has no TLS
  kVerifyIdentity,  // always, the server's certificate checked against the CA and its name
};

struct IpvsConfig {
  bool enabled = false;  // true when an [ipvs] section is present
  IpvsOnDown on_down = IpvsOnDown::kQuiesce;
  int64_t reconcile_interval_ms = 5000;
  Address metrics;  // mpp-ipvs's Prometheus endpoint (doc/metrics.md); kNone: off
};

// A director pair ([cluster], doc/director-pair.md): the directors elect a
// leader in etcd; only the leader decides, and every director follows the
// decision it publishes there.
struct ClusterConfig {
  bool enabled = false;            // a [cluster] section is present
  std::vector<std::string> etcd;   // the members' client URLs, "http://IP:port" or "https://IP:port"
  std::string name;                // this director; empty: the host name
  std::string prefix = "/mpp/";    // the keys: PREFIX leader, PREFIX decision
  int64_t lease_ms = 5000;         // the leader's lease, whole seconds
  std::string cacert, cert, key;   // TLS to etcd (https endpoints)
  std::string credentials;         // option file with etcd's user and password ([client])
  int line = 0;

  bool operator==(const ClusterConfig& o) const {
    return enabled == o.enabled && etcd == o.etcd && name == o.name && prefix == o.prefix && lease_ms == o.lease_ms &&
           cacert == o.cacert && cert == o.cert && key == o.key && credentials == o.credentials;
  }
  bool operator!=(const ClusterConfig& o) const { return !(*this == o); }
};

struct Config {
  std::string path;  // the file it came from, for messages
  int64_t interval_ms = 1000;
  int64_t connect_timeout_ms = 1000;
  int64_t query_timeout_ms = 1000;
  int64_t stale_after_ms = 30000;
  // An idle connection per node on the monitoring login, so that a crash is
  // seen at once (mppstate/event_poller.h).
  bool watch = true;
  std::string state_dir = "/run/mpp";
  // Durable: the pool memory that a reboot must not lose (doc/pool-logic.md).
  std::string data_dir = "/var/lib/mpp";
  std::string credentials = "/etc/mpp/client.cnf";
  // Login for fencing (read_only, KILL): needs more privileges than polling.
  // Empty: the same as credentials.
  std::string admin_credentials;
  // The login replicas use for CHANGE MASTER ([client] user, password);
  // required when a pool has manage_replication.
  std::string replication_credentials;
  int64_t switchover_timeout_ms = 10000;  // catch-up wait of a planned switchover
  std::string check_query = "SELECT 1";
  TlsMode tls = TlsMode::kPreferred;
  std::vector<Address> checkpoints;
  std::string notify;  // program run on every STATE change; empty: none
  int64_t notify_timeout_ms = 10000;
  Address metrics;  // mppstate's Prometheus endpoint (doc/metrics.md); kNone: off

  std::vector<NodeConfig> nodes;
  std::vector<PoolConfig> pools;
  std::vector<VsConfig> vss;
  IpvsConfig ipvs;
  ClusterConfig cluster;

  int FindNode(const std::string& name) const;
  int FindPool(const std::string& name) const;
  int FindVs(const std::string& name) const;
  // The pool a node belongs to, or -1.
  int PoolOfNode(int node) const;
};

// Parses config text. name is used in messages ("name:line: ..."). Appends
// every error to *errors; returns true only if there is none.
bool ParseConfig(const std::string& text, const std::string& name, Config* out,
                 std::vector<std::string>* errors);

// Reads and parses a file (what mppctl needs: no credentials check).
bool ReadConfigFile(const std::string& path, Config* out, std::vector<std::string>* errors);

// ReadConfigFile, then checks the credentials files it names (see
// credentials.h): what mppstate needs.
bool LoadConfig(const std::string& path, Config* out, std::vector<std::string>* errors);

}  // namespace mpp
