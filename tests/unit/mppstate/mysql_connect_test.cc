// Connection setup without a server: what each TLS mode asks of the client
// library, the words a TLS failure is reported in, and the failures that
// are the monitor's own. The real handshakes are in
// tests/integration/test_tls.py.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <doctest/doctest.h>

#include "mppstate/mysql_connect.h"
#include "mppstate/poller.h"

namespace {

using mpp::TlsMode;

// A port of 127.0.0.1 that refuses connections.
uint16_t ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  close(fd);
  return ntohs(sa.sin_port);
}

mpp::NodeConfig Node(uint16_t port) {
  mpp::NodeConfig n;
  n.name = "db1";
  n.address.kind = mpp::Address::kInet4;
  n.address.ip[0] = 127;
  n.address.ip[3] = 1;
  n.address.port = port;
  return n;
}

// An option file, removed with the object.
struct TempOptionFile {
  std::string path;
  explicit TempOptionFile(const std::string& text) {
    char tmpl[] = "/tmp/mpp-connect-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    path = tmpl;
  }
  ~TempOptionFile() { unlink(path.c_str()); }
};

mpp::ConnectFailure Connect(TlsMode mode, const std::string& option_file) {
  mpp::Config cfg;
  cfg.tls = mode;
  mpp::MysqlConnection conn;
  mpp::ConnectFailure failure;
  CHECK_FALSE(mpp::ConnectNode(cfg, Node(ClosedPort()), option_file, 1, &conn, &failure));
  return failure;
}

}  // namespace

TEST_CASE("MysqlConnect: each TLS mode asks the client library for exactly its promise") {
  mpp::TlsSettings off = mpp::TlsSettingsFor(TlsMode::kOff);
  CHECK_FALSE(off.enforce);
  CHECK_FALSE(off.verify);
  CHECK_FALSE(off.pass_ca);  // an ssl-ca alone would turn TLS on
  CHECK_FALSE(off.pass_client);
  CHECK_FALSE(off.must_encrypt);

  mpp::TlsSettings preferred = mpp::TlsSettingsFor(TlsMode::kPreferred);
  CHECK(preferred.enforce);
  CHECK_FALSE(preferred.verify);
  CHECK_FALSE(preferred.pass_ca);  // an ssl-ca alone would have the chain verified
  CHECK(preferred.pass_client);
  CHECK_FALSE(preferred.must_encrypt);

  mpp::TlsSettings required = mpp::TlsSettingsFor(TlsMode::kRequired);
  CHECK(required.enforce);
  CHECK_FALSE(required.verify);
  CHECK_FALSE(required.pass_ca);
  CHECK(required.pass_client);
  CHECK(required.must_encrypt);  // the library falls back to plain by itself

  mpp::TlsSettings verify = mpp::TlsSettingsFor(TlsMode::kVerifyIdentity);
  CHECK(verify.enforce);
  CHECK(verify.verify);
  CHECK(verify.pass_ca);
  CHECK(verify.pass_client);
  CHECK(verify.must_encrypt);
}

TEST_CASE("MysqlConnect: a TLS failure is told in words an operator can act on") {
  const std::string host = "127.0.0.1";
  CHECK(mpp::DescribeTlsFailure(TlsMode::kVerifyIdentity, host, "/etc/mpp/ca.pem",
                                "TLS/SSL error: SSL is required, but the server does not support it") ==
        "TLS required but the server does not offer it (tls = verify_identity)");
  CHECK(mpp::DescribeTlsFailure(TlsMode::kVerifyIdentity, host, "/etc/mpp/ca.pem",
                                "TLS/SSL error: Validation of SSL server certificate failed") ==
        "TLS: the server's certificate does not match 127.0.0.1 (tls = verify_identity)");
  CHECK(mpp::DescribeTlsFailure(TlsMode::kVerifyIdentity, host, "/etc/mpp/ca.pem",
                                "TLS/SSL error: unable to get local issuer certificate") ==
        "TLS: certificate verify failed against ssl-ca /etc/mpp/ca.pem: unable to get local issuer "
        "certificate");
  CHECK(mpp::DescribeTlsFailure(TlsMode::kVerifyIdentity, host, "",
                                "TLS/SSL error: certificate has expired") ==
        "TLS: certificate verify failed against the client library's default CAs: certificate has "
        "expired");
  CHECK(mpp::DescribeTlsFailure(TlsMode::kRequired, host, "", "TLS/SSL error: sslv3 alert bad certificate") ==
        "TLS: the server refused the handshake: sslv3 alert bad certificate (tls = required)");
  CHECK(mpp::DescribeTlsFailure(TlsMode::kPreferred, host, "", "TLS/SSL error: wrong version number") ==
        "TLS: wrong version number (tls = preferred)");
}

TEST_CASE("MysqlConnect: a TLS failure is a failed poll, or a timeout when it took the whole timeout") {
  CHECK(mpp::ClassifyMysqlError(2026, 5, 1000) == mpp::PollOutcome::kRefused);
  CHECK(mpp::ClassifyMysqlError(2026, 1000, 1000) == mpp::PollOutcome::kTimeout);
}

TEST_CASE("MysqlConnect: an unreadable option file is the monitor's failure, before any connect") {
  mpp::ConnectFailure f = Connect(TlsMode::kPreferred, "/nonexistent/client.cnf");
  CHECK(f.local);
  CHECK(f.code == 0);
  CHECK(f.message == "credentials /nonexistent/client.cnf: No such file or directory");
}

TEST_CASE("MysqlConnect: a TLS file the mode needs must be readable; one it ignores need not") {
  TempOptionFile cnf("[client]\nuser = nobody\npassword = wrong\nssl-ca = /nonexistent/ca.pem\n");
  mpp::ConnectFailure f = Connect(TlsMode::kVerifyIdentity, cnf.path);
  CHECK(f.local);
  CHECK(f.message == "cannot read ssl-ca /nonexistent/ca.pem: No such file or directory");

  // Only verify_identity uses the CA: the others go on to the (closed) port.
  for (TlsMode mode : {TlsMode::kOff, TlsMode::kPreferred, TlsMode::kRequired}) {
    f = Connect(mode, cnf.path);
    CHECK_FALSE(f.local);
    CHECK((f.code == 2002 || f.code == 2003));
  }

  TempOptionFile with_key("[client]\nuser = nobody\nssl-key = /nonexistent/client.key\n");
  f = Connect(TlsMode::kPreferred, with_key.path);
  CHECK(f.local);
  CHECK(f.message == "cannot read ssl-key /nonexistent/client.key: No such file or directory");
  f = Connect(TlsMode::kOff, with_key.path);
  CHECK_FALSE(f.local);
}
