// Opening a MySQL connection to a node: the one place that sets the
// timeouts, reads the login from the option file (config/option_file.h) and
// applies [global] tls. The poller (non-blocking, node_poll.h) and the
// topology steps (blocking) both connect through it.
//
// TLS with MariaDB Connector/C 3.3, as measured against MariaDB 10.11:
//   - With no TLS option at all, no TLS, even when the server offers it.
//   - MYSQL_OPT_SSL_ENFORCE only asks for TLS: a server without it still
//     gets a plain connection. Only MYSQL_OPT_SSL_VERIFY_SERVER_CERT
//     enforces it (before the login is sent), and it also verifies the chain
//     and the host name.
//   - Any of ssl-ca, ssl-capath, ssl-cert, ssl-key, ssl-cipher turns TLS on,
//     and ssl-ca or ssl-capath alone has the chain verified (not the name).
// So each mode gets exactly the options it needs (TlsSettingsFor), and
// "required", which no library option gives, is checked after the login:
// with a server that offers no TLS, the login exchange has then gone out in
// plain text (with the usual authentication plugins a challenge and its
// response, not the password), and the connection is closed before any
// query.
//
// Thread-safety: ConnectNode may run on several threads at once, each with
// its own MysqlConnection, on threads registered with the client library
// (MysqlThread).
#pragma once

#include <stdint.h>

#include <string>

#include "config/config.h"
#include "config/option_file.h"

namespace mpp {

// Initialises the client library once per process; safe to call from any
// thread, any number of times.
void InitMysqlLibrary();

// Registers the current thread with the client library for its lifetime.
class MysqlThread {
 public:
  MysqlThread();
  ~MysqlThread();
  MysqlThread(const MysqlThread&) = delete;
  MysqlThread& operator=(const MysqlThread&) = delete;
};

// The client library's timeouts are whole seconds: ms rounded up, at least 1.
unsigned MysqlTimeoutSeconds(int64_t ms);

// What a TLS mode asks of the client library.
struct TlsSettings {
  bool enforce = false;        // MYSQL_OPT_SSL_ENFORCE: use TLS when offered
  bool verify = false;         // MYSQL_OPT_SSL_VERIFY_SERVER_CERT: chain and name
  bool pass_ca = false;        // ssl-ca, ssl-capath, ssl-crl, ssl-crlpath
  bool pass_client = false;    // ssl-cert, ssl-key, ssl-cipher, tls-version
  bool must_encrypt = false;   // a plain connection is a failure
};
TlsSettings TlsSettingsFor(TlsMode mode);

const char* TlsModeName(TlsMode mode);

// Why a TLS connect to host failed, in words an operator can act on, from
// the library's message (Connector/C's texts; others are passed on). ca is
// the ssl-ca in use ("" for none).
std::string DescribeTlsFailure(TlsMode mode, const std::string& host, const std::string& ca,
                               const std::string& library_message);

// Owns a client library connection handle; closes it when destroyed.
class MysqlConnection {
 public:
  MysqlConnection();
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;
  // The MYSQL* (opaque here: this header does without <mysql.h>); nullptr
  // when mysql_init ran out of memory.
  void* handle() const { return handle_; }
  // Closes the connection now; handle() is nullptr after.
  void Close();

 private:
  void* handle_;
};

struct ConnectFailure {
  // The monitor's own problem (the option file or a TLS file it names
  // cannot be read, no memory): not the node's fault.
  bool local = false;
  unsigned code = 0;       // client library or server error number; 0 if local
  std::string message;     // e.g. "TLS required but the server does not offer it"
  int64_t elapsed_ms = 0;  // how long the connect took, to tell a timeout
};

// The login of an option file, read and checked once (its TLS files
// readable) for any number of connects.
struct Login {
  ClientOptions options;
  std::string error;  // why it cannot be used (the monitor's fault); "" if it can
};
Login ReadLogin(const Config& cfg, const std::string& option_file);

// Sets every option of a connect to node on conn: timeouts (io_timeout_s
// bounds every read and write), TCP, TLS as cfg.tls asks, the login's
// plugins. Returns false with *failure set (local) when it cannot.
bool PrepareConnection(const Config& cfg, const NodeConfig& node, const Login& login, unsigned io_timeout_s,
                       MysqlConnection* conn, ConnectFailure* failure);

// What a finished connect says: true when it stands; otherwise *failure is
// filled from the library's error (ok: whether the library connected).
bool CheckConnected(const Config& cfg, const NodeConfig& node, const Login& login, bool ok,
                    MysqlConnection* conn, ConnectFailure* failure);

// Connects conn to node over TCP with cfg's connect timeout and TLS mode and
// the login of option_file, blocking; io_timeout_s bounds every later read
// and write. REQUIRES: node has an IP address.
bool ConnectNode(const Config& cfg, const NodeConfig& node, const std::string& option_file,
                 unsigned io_timeout_s, MysqlConnection* conn, ConnectFailure* failure);

}  // namespace mpp
