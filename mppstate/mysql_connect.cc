#include "mppstate/mysql_connect.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <mutex>

#include <mysql.h>

#include "common/address_text.h"
#include "config/option_file.h"

namespace mpp {

namespace {

constexpr unsigned kCrSslConnectionError = 2026;

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The library opens the TLS files only inside the handshake, and reports
// a missing one like a failed handshake: find out first, and call it ours.
bool Readable(const char* key, const std::string& path, std::string* why) {
  if (path.empty()) return true;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *why = std::string("cannot read ") + key + " " + path + ": " + strerror(errno);
    return false;
  }
  close(fd);
  return true;
}

bool TlsFilesReadable(const TlsSettings& tls, const ClientOptions& o, std::string* why) {
  if (tls.pass_ca &&
      (!Readable("ssl-ca", o.ssl_ca, why) || !Readable("ssl-capath", o.ssl_capath, why) ||
       !Readable("ssl-crl", o.ssl_crl, why) || !Readable("ssl-crlpath", o.ssl_crlpath, why)))
    return false;
  return !tls.pass_client || (Readable("ssl-cert", o.ssl_cert, why) && Readable("ssl-key", o.ssl_key, why));
}

void SetText(MYSQL* m, mysql_option option, const std::string& value) {
  if (!value.empty()) mysql_options(m, option, value.c_str());
}

// Every mode sets every switch: Connector/C 3.4 verifies by default, 3.3
// does not, and neither may decide for us.
void ApplyTls(MYSQL* m, const TlsSettings& tls, const ClientOptions& o) {
  if (tls.pass_ca) {
    SetText(m, MYSQL_OPT_SSL_CA, o.ssl_ca);
    SetText(m, MYSQL_OPT_SSL_CAPATH, o.ssl_capath);
    SetText(m, MYSQL_OPT_SSL_CRL, o.ssl_crl);
    SetText(m, MYSQL_OPT_SSL_CRLPATH, o.ssl_crlpath);
  }
  if (tls.pass_client) {
    SetText(m, MYSQL_OPT_SSL_CERT, o.ssl_cert);
    SetText(m, MYSQL_OPT_SSL_KEY, o.ssl_key);
    SetText(m, MYSQL_OPT_SSL_CIPHER, o.ssl_cipher);
    SetText(m, MYSQL_OPT_TLS_VERSION, o.tls_version);
  }
#if defined(MARIADB_PACKAGE_VERSION_ID)
  if (tls.pass_client) SetText(m, MARIADB_OPT_TLS_PASSPHRASE, o.ssl_passphrase);
  my_bool enforce = tls.enforce ? 1 : 0;
  my_bool verify = tls.verify ? 1 : 0;
  mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &enforce);
  mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
#else
  // Oracle's libmysqlclient has one switch for it all.
  unsigned mode = !tls.enforce ? SSL_MODE_DISABLED
                  : tls.verify ? SSL_MODE_VERIFY_IDENTITY
                  : tls.must_encrypt ? SSL_MODE_REQUIRED
                                     : SSL_MODE_PREFERRED;
  mysql_options(m, MYSQL_OPT_SSL_MODE, &mode);
#endif
}

int64_t MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
      .count();
}

}  // namespace

unsigned MysqlTimeoutSeconds(int64_t ms) {
  if (ms <= 1000) return 1;
  return static_cast<unsigned>((ms + 999) / 1000);
}

TlsSettings TlsSettingsFor(TlsMode mode) {
  TlsSettings s;
  switch (mode) {
    case TlsMode::kOff:
      break;
    case TlsMode::kPreferred:
      // No CA: with one, Connector/C verifies the chain, and an unverified
      // mode must not fail on it.
      s.enforce = true;
      s.pass_client = true;
      break;
    case TlsMode::kRequired:
      s.enforce = true;
      s.pass_client = true;
      s.must_encrypt = true;
      break;
    case TlsMode::kVerifyIdentity:
      s.enforce = true;
      s.verify = true;
      s.pass_ca = true;
      s.pass_client = true;
      s.must_encrypt = true;
      break;
  }
  return s;
}

const char* TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kOff: return "off";
    case TlsMode::kPreferred: return "preferred";
    case TlsMode::kRequired: return "required";
    case TlsMode::kVerifyIdentity: return "verify_identity";
  }
  return "?";
}

std::string DescribeTlsFailure(TlsMode mode, const std::string& host, const std::string& ca,
                               const std::string& library_message) {
  std::string detail = library_message;
  for (const char* prefix : {"TLS/SSL error: ", "SSL connection error: "}) {
    if (detail.compare(0, strlen(prefix), prefix) == 0) detail.erase(0, strlen(prefix));
  }
  std::string mode_note = std::string(" (tls = ") + TlsModeName(mode) + ")";
  if (Contains(detail, "server does not support it"))
    return "TLS required but the server does not offer it" + mode_note;
  if (Contains(detail, "Validation of SSL server certificate failed"))
    return "TLS: the server's certificate does not match " + host + mode_note;
  // An alert is the server's answer: it refused our certificate, our
  // protocol version or our ciphers.
  if (Contains(detail, "alert")) return "TLS: the server refused the handshake: " + detail + mode_note;
  if (mode == TlsMode::kVerifyIdentity &&
      (Contains(detail, "certificate") || Contains(detail, "issuer") || Contains(detail, "CRL"))) {
    std::string against = ca.empty() ? "the client library's default CAs" : "ssl-ca " + ca;
    return "TLS: certificate verify failed against " + against + ": " + detail;
  }
  return "TLS: " + detail + mode_note;
}

void InitMysqlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only fails on out of memory; mysql_init reports that later.
    (void)mysql_library_init(0, nullptr, nullptr);
  });
}

MysqlThread::MysqlThread() {
  InitMysqlLibrary();
  (void)mysql_thread_init();
}

MysqlThread::~MysqlThread() { mysql_thread_end(); }

MysqlConnection::MysqlConnection() : handle_(nullptr) {
  InitMysqlLibrary();
  handle_ = mysql_init(nullptr);
}

MysqlConnection::~MysqlConnection() { Close(); }

void MysqlConnection::Close() {
  if (handle_ != nullptr) mysql_close(static_cast<MYSQL*>(handle_));
  handle_ = nullptr;
}

Login ReadLogin(const Config& cfg, const std::string& option_file) {
  Login login;
  std::string why;
  if (!ReadClientOptions(option_file, &login.options, &why))
    login.error = "credentials " + why;
  else if (!TlsFilesReadable(TlsSettingsFor(cfg.tls), login.options, &why))
    login.error = why;
  return login;
}

bool PrepareConnection(const Config& cfg, const NodeConfig& node, const Login& login, unsigned io_timeout_s,
                       MysqlConnection* conn, ConnectFailure* failure) {
  *failure = ConnectFailure();
  auto local = [failure](const std::string& why) {
    failure->local = true;
    failure->message = why;
    return false;
  };
  MYSQL* m = static_cast<MYSQL*>(conn->handle());
  if (m == nullptr) return local("mysql_init: out of memory");
  if (node.address.kind != Address::kInet4 && node.address.kind != Address::kInet6)
    return local("node " + node.name + " has no IP address");
  if (!login.error.empty()) return local(login.error);

  unsigned connect_s = MysqlTimeoutSeconds(cfg.connect_timeout_ms);
  unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io_timeout_s);
  mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout_s);
  mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
  SetText(m, MYSQL_DEFAULT_AUTH, login.options.default_auth);
  SetText(m, MYSQL_PLUGIN_DIR, login.options.plugin_dir);
  ApplyTls(m, TlsSettingsFor(cfg.tls), login.options);
  return true;
}

bool CheckConnected(const Config& cfg, const NodeConfig& node, const Login& login, bool ok,
                    MysqlConnection* conn, ConnectFailure* failure) {
  MYSQL* m = static_cast<MYSQL*>(conn->handle());
  std::string host = IpText(node.address);
  if (!ok) {
    failure->code = mysql_errno(m);
    failure->message = mysql_error(m);
    if (failure->code == kCrSslConnectionError)
      failure->message = DescribeTlsFailure(cfg.tls, host, login.options.ssl_ca, failure->message);
    return false;
  }
  if (TlsSettingsFor(cfg.tls).must_encrypt && mysql_get_ssl_cipher(m) == nullptr) {
    failure->code = kCrSslConnectionError;
    failure->message = DescribeTlsFailure(cfg.tls, host, login.options.ssl_ca,
                                          "SSL is required, but the server does not support it");
    return false;
  }
  return true;
}

bool ConnectNode(const Config& cfg, const NodeConfig& node, const std::string& option_file,
                 unsigned io_timeout_s, MysqlConnection* conn, ConnectFailure* failure) {
  Login login = ReadLogin(cfg, option_file);
  if (!PrepareConnection(cfg, node, login, io_timeout_s, conn, failure)) return false;
  MYSQL* m = static_cast<MYSQL*>(conn->handle());
  const std::string& user = login.options.user;
  std::string host = IpText(node.address);
  auto t0 = std::chrono::steady_clock::now();
  MYSQL* ok = mysql_real_connect(m, host.c_str(), user.empty() ? nullptr : user.c_str(),
                                 login.options.password.c_str(), nullptr, node.address.port, nullptr, 0);
  failure->elapsed_ms = MsSince(t0);
  return CheckConnected(cfg, node, login, ok != nullptr, conn, failure);
}

}  // namespace mpp
