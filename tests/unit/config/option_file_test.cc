// The option file reader: the client groups only, Connector/C's value
// syntax, includes, and errors that name the file and line.
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "config/option_file.h"
#include "tests/unit/test_util.h"

namespace {

using mpp::testing::TempDir;

mpp::ClientOptions Parse(const std::string& text, std::string* err = nullptr) {
  mpp::ClientOptions o;
  std::string e;
  bool ok = mpp::ParseClientOptions(text, "client.cnf", &o, &e);
  if (err != nullptr) *err = ok ? "" : e;
  else CHECK_MESSAGE(ok, e);
  return o;
}


}  // namespace

TEST_CASE("OptionFile: the client groups give the login and the TLS files") {
  mpp::ClientOptions o = Parse(
      "# monitoring login\n"
      "[mysqld]\nuser = not-this-one\n"
      "[client]\nuser = mpp\npassword = s3cret\nssl-ca = /etc/mpp/ca.pem\n"
      "[mysql]\nssl_cert = /not/this\n"
      "[client-server]\nssl_cert=/etc/mpp/client.pem\n"
      "[client-mariadb]\n  tls-key =  /etc/mpp/client.key  \n");
  CHECK(o.user == "mpp");
  CHECK(o.password == "s3cret");
  CHECK(o.ssl_ca == "/etc/mpp/ca.pem");
  CHECK(o.ssl_cert == "/etc/mpp/client.pem");
  CHECK(o.ssl_key == "/etc/mpp/client.key");
}

TEST_CASE("OptionFile: quotes and escapes are read the way the client library reads them") {
  mpp::ClientOptions o = Parse(
      "[client]\npassword = \"with # and ; and spaces \"\nuser='a\\\\b'\n"
      "ssl-cipher = x\\sy\\tz\\q\n");
  CHECK(o.password == "with # and ; and spaces ");
  CHECK(o.user == "a\\b");
  CHECK(o.ssl_cipher == "x y\tz\\q");
}

TEST_CASE("OptionFile: a later value wins, a bare key empties it, unknown keys are ignored") {
  mpp::ClientOptions o = Parse(
      "[client]\nuser = first\nuser = second\npassword = x\npassword\n"
      "host = 192.0.2.1\nport = 1\nssl-verify-server-cert\nssl-mode = DISABLED\n");
  CHECK(o.user == "second");
  CHECK(o.password.empty());
}

TEST_CASE("OptionFile: a key before any group and a broken group header are errors") {
  std::string err;
  Parse("user = mpp\n[client]\n", &err);
  CHECK(err == "client.cnf:1: an option before any [group]");
  Parse("[client]\nuser = a\n\n[client\n", &err);
  CHECK(err == "client.cnf:4: group without ']'");
  Parse("[client]\n!include /etc/mpp/more.cnf\n", &err);
  CHECK(err == "client.cnf:2: !include is not allowed here");
  Parse("[client]\n!includedir\n", &err);
  CHECK(err == "client.cnf:2: !includedir needs a directory");
  // Other directives are ignored, as the library ignores them.
  Parse("[client]\n!exclude /etc/mpp/more.cnf\nuser = mpp\n", &err);
  CHECK(err.empty());
}

TEST_CASE("OptionFile: an included file is read in place, relative to the file including it") {
  TempDir dir;
  dir.Write("tls.cnf", "[client]\nssl-ca = /etc/mpp/ca.pem\nuser = from-include\n");
  std::string main = dir.Write("client.cnf", "[client]\nuser = mpp\n!include tls.cnf\npassword = p\n");
  mpp::ClientOptions o;
  std::string err;
  REQUIRE_MESSAGE(mpp::ReadClientOptions(main, &o, &err), err);
  CHECK(o.user == "from-include");
  CHECK(o.ssl_ca == "/etc/mpp/ca.pem");
  CHECK(o.password == "p");
}

TEST_CASE("OptionFile: an included directory gives its .cnf files in name order") {
  TempDir dir;
  TempDir conf;
  conf.Write("20-tls.cnf", "[client]\nssl-ca = /etc/mpp/second.pem\nssl-key = /etc/mpp/key.pem\n");
  conf.Write("10-tls.cnf", "[client]\nssl-ca = /etc/mpp/first.pem\nssl-cert = /etc/mpp/cert.pem\n");
  conf.Write("30-tls.cnf.disabled", "[client]\nssl-ca = /etc/mpp/never.pem\n");
  std::string main = dir.Write("client.cnf", "[client]\nuser = mpp\n!includedir " + conf.path() + "\n");
  mpp::ClientOptions o;
  std::string err;
  REQUIRE_MESSAGE(mpp::ReadClientOptions(main, &o, &err), err);
  CHECK(o.user == "mpp");
  CHECK(o.ssl_ca == "/etc/mpp/second.pem");
  CHECK(o.ssl_cert == "/etc/mpp/cert.pem");
  CHECK(o.ssl_key == "/etc/mpp/key.pem");
}

TEST_CASE("OptionFile: a missing file, or a missing include, is an error naming it") {
  TempDir dir;
  mpp::ClientOptions o;
  std::string err;
  CHECK_FALSE(mpp::ReadClientOptions("/nonexistent/client.cnf", &o, &err));
  CHECK(err == "/nonexistent/client.cnf: No such file or directory");
  std::string main = dir.Write("client.cnf", "[client]\n!include /nonexistent/tls.cnf\n");
  CHECK_FALSE(mpp::ReadClientOptions(main, &o, &err));
  CHECK(err == main + ":2: !include /nonexistent/tls.cnf: /nonexistent/tls.cnf: No such file or directory");
}

TEST_CASE("OptionFile: an error in an included file names the chain of includes") {
  TempDir dir;
  dir.Write("b.cnf", "[client]\n!include c.cnf\n");
  dir.Write("c.cnf", "user = mpp\n");
  std::string main = dir.Write("client.cnf", "[client]\n!include b.cnf\n");
  mpp::ClientOptions o;
  std::string err;
  CHECK_FALSE(mpp::ReadClientOptions(main, &o, &err));
  CHECK(err == main + ":2: !include b.cnf: " + dir.path() + "/b.cnf:2: !include c.cnf: " + dir.path() +
                   "/c.cnf:1: an option before any [group]");
}

TEST_CASE("OptionFile: includes nest at most 8 deep") {
  TempDir dir;
  // c0 includes c1 ... c7 includes c8: eight levels, the most allowed.
  for (int i = 0; i < 8; ++i)
    dir.Write("c" + std::to_string(i) + ".cnf", "[client]\n!include c" + std::to_string(i + 1) + ".cnf\n");
  dir.Write("c8.cnf", "[client]\nuser = deep\n");
  mpp::ClientOptions o;
  std::string err;
  REQUIRE_MESSAGE(mpp::ReadClientOptions(dir.path() + "/c0.cnf", &o, &err), err);
  CHECK(o.user == "deep");
  dir.Write("c8.cnf", "[client]\n!include c9.cnf\n");
  dir.Write("c9.cnf", "[client]\n");
  CHECK_FALSE(mpp::ReadClientOptions(dir.path() + "/c0.cnf", &o, &err));
  CHECK(err.find(dir.path() + "/c8.cnf:2: !include c9.cnf: includes nested more than 8 deep") != std::string::npos);
}

TEST_CASE("OptionFile: a file that includes itself is an include loop") {
  TempDir dir;
  std::string main = dir.Write("client.cnf", "[client]\n!include client.cnf\n");
  mpp::ClientOptions o;
  std::string err;
  CHECK_FALSE(mpp::ReadClientOptions(main, &o, &err));
  CHECK(err == main + ":2: !include client.cnf: include loop (" + dir.path() + "/client.cnf is already being read)");
}

TEST_CASE("OptionFile: a file included twice is read twice, in place") {
  TempDir dir;
  dir.Write("user.cnf", "[client]\nuser = included\n");
  std::string main =
      dir.Write("client.cnf", "[client]\n!include user.cnf\nuser = own\n!include user.cnf\npassword = p\n");
  mpp::ClientOptions o;
  std::string err;
  REQUIRE_MESSAGE(mpp::ReadClientOptions(main, &o, &err), err);
  CHECK(o.user == "included");
  CHECK(o.password == "p");
}
