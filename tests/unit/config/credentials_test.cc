// Credentials: a secret in an option file, or in a file it includes, that
// others could read or replace is refused, as "file:line: message".
#include <doctest/doctest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "config/config.h"
#include "config/credentials.h"
#include "tests/unit/test_util.h"

namespace mpp {
namespace {

using testing::TempDir;


std::vector<std::string> Check(const std::string& path) {
  std::vector<std::string> errors;
  bool ok = CheckCredentialsFile(path, &errors);
  CHECK(ok == errors.empty());
  return errors;
}

std::string Readable(const std::string& file, int line, const char* key = "password") {
  return file + ":" + std::to_string(line) + ": " + key +
         " in a file readable by group or others (mode 0644): chmod 600 " + file;
}

TEST_CASE("Credentials: a password in a group- or world-readable file is refused") {
  std::vector<std::string> errors;
  CheckCredentialsText("[client]\nuser = mpp\npassword = s3cret\n", "client.cnf", 0644, &errors);
  CHECK(errors == std::vector<std::string>{
                      "client.cnf:3: password in a file readable by group or others (mode 0644): chmod 600 client.cnf"});
  errors.clear();
  CheckCredentialsText("[client]\npassword=x\n", "client.cnf", 0640, &errors);
  CHECK(errors.size() == 1);
  errors.clear();
  CheckCredentialsText("[client]\nuser = mpp\npassword = s3cret\n", "client.cnf", 0600, &errors);
  CHECK(errors.empty());
  CheckCredentialsText("[client]\nuser = mpp\n", "client.cnf", 0644, &errors);
  CHECK(errors.empty());
  CheckCredentialsText("[client]\n# password = old\npasswords = 3\n", "client.cnf", 0644, &errors);
  CHECK(errors.empty());
}

TEST_CASE("Credentials: every spelling of a secret counts") {
  std::vector<std::string> errors;
  CheckCredentialsText("[client]\n  passwd=x\n", "a.cnf", 0644, &errors);
  CheckCredentialsText("[client]\nssl_passphrase = x\n", "b.cnf", 0604, &errors);
  CheckCredentialsText("[client]\ntls-passphrase=x\n", "c.cnf", 0620, &errors);
  CHECK(errors == std::vector<std::string>{
                      "a.cnf:2: passwd in a file readable by group or others (mode 0644): chmod 600 a.cnf",
                      "b.cnf:2: ssl_passphrase in a file readable by group or others (mode 0604): chmod 600 b.cnf",
                      "c.cnf:2: tls-passphrase in a file readable by group or others (mode 0620): chmod 600 c.cnf"});
}

TEST_CASE("Credentials: LoadConfig refuses a readable password file") {
  TempDir dir;
  std::string cnf = dir.Write("client.cnf", "[client]\nuser=mpp\npassword=secret\n", 0644);
  std::string ini = dir.Write("mppstate.ini", "[global]\ncredentials = " + cnf +
                                                  "\n[pool p]\nnodes = a\n[node a]\naddress = 127.0.0.1:3306\n");
  Config cfg;
  std::vector<std::string> errors;
  CHECK_FALSE(LoadConfig(ini, &cfg, &errors));
  CHECK(errors == std::vector<std::string>{Readable(cnf, 3)});
  chmod(cnf.c_str(), 0600);
  errors.clear();
  CHECK(LoadConfig(ini, &cfg, &errors));
  CHECK(errors.empty());
}

TEST_CASE("Credentials: LoadConfig checks replication_credentials like the other logins") {
  TempDir dir;
  std::string client = dir.Write("client.cnf", "[client]\nuser=mpp\npassword=secret\n", 0600);
  std::string repl = dir.Write("replication.cnf", "[client]\nuser=repl\npassword=secret\n", 0644);
  std::string ini = dir.Write("mppstate.ini", "[global]\ncredentials = " + client + "\nreplication_credentials = " +
                                                  repl +
                                                  "\n[pool p]\nnodes = a\nmanage_replication = yes\n"
                                                  "[node a]\naddress = 127.0.0.1:3306\n");
  Config cfg;
  std::vector<std::string> errors;
  CHECK_FALSE(LoadConfig(ini, &cfg, &errors));
  CHECK(errors == std::vector<std::string>{Readable(repl, 3)});
  chmod(repl.c_str(), 0600);
  errors.clear();
  REQUIRE(LoadConfig(ini, &cfg, &errors));
  CHECK(errors.empty());
  CHECK(cfg.replication_credentials == repl);
  CHECK(cfg.pools[0].manage_read_only);
  unlink(repl.c_str());
  CHECK_FALSE(LoadConfig(ini, &cfg, &errors));
  CHECK(errors == std::vector<std::string>{repl + ": cannot read credentials: No such file or directory"});
}

TEST_CASE("Credentials: a missing file is an error") {
  TempDir dir;
  CHECK(Check(dir.path() + "/none.cnf") ==
        std::vector<std::string>{dir.path() + "/none.cnf: cannot read credentials: No such file or directory"});
  CHECK(Check(dir.path()) ==
        std::vector<std::string>{dir.path() + ": cannot read credentials: not a regular file under 1 MiB"});
}

TEST_CASE("Credentials: a password in an included 0644 file is refused with that file's line") {
  TempDir dir;
  std::string inc = dir.Write("secret.cnf", "[client]\n\npassword = s3cret\n", 0644);
  std::string cnf = dir.Write("client.cnf", "[client]\nuser = mpp\n!include " + inc + "\n");
  CHECK(Check(cnf) == std::vector<std::string>{Readable(inc, 3)});
  // A relative name is taken from the including file's directory.
  dir.Write("client.cnf", "[client]\n!include secret.cnf\n");
  CHECK(Check(cnf) == std::vector<std::string>{Readable(dir.path() + "/secret.cnf", 3)});
  chmod(inc.c_str(), 0600);
  CHECK(Check(cnf).empty());
}

TEST_CASE("Credentials: includes are followed to any depth up to the limit") {
  TempDir dir;
  // c0 includes c1 ... c7 includes c8: eight levels, the most allowed.
  for (int i = 0; i < 8; ++i)
    dir.Write("c" + std::to_string(i) + ".cnf", "[client]\n!include c" + std::to_string(i + 1) + ".cnf\n");
  std::string last = dir.Write("c8.cnf", "[client]\npassword = x\n", 0644);
  CHECK(Check(dir.path() + "/c0.cnf") == std::vector<std::string>{Readable(last, 2)});
  chmod(last.c_str(), 0600);
  CHECK(Check(dir.path() + "/c0.cnf").empty());
  dir.Write("c8.cnf", "[client]\n!include c9.cnf\n");
  dir.Write("c9.cnf", "[client]\n");
  CHECK(Check(dir.path() + "/c0.cnf") ==
        std::vector<std::string>{dir.path() + "/c8.cnf:2: !include c9.cnf: includes nested more than 8 deep"});
}

TEST_CASE("Credentials: an includedir with a readable password file is refused") {
  TempDir dir;
  std::string conf_d = dir.Mkdir("conf.d");
  dir.Write("conf.d/10-user.cnf", "[client]\nuser = mpp\n", 0644);
  std::string secret = dir.Write("conf.d/20-login.cnf", "[client]\npassword = s3cret\n", 0644);
  // Connector/C reads only *.cnf from the directory.
  dir.Write("conf.d/30-old.cnf.bak", "[client]\npassword = old\n", 0644);
  dir.Write("conf.d/README", "password = none\n", 0644);
  std::string cnf = dir.Write("client.cnf", "[client]\n!includedir " + conf_d + "\n");
  CHECK(Check(cnf) == std::vector<std::string>{Readable(secret, 2)});
  chmod(secret.c_str(), 0600);
  CHECK(Check(cnf).empty());
}

TEST_CASE("Credentials: a missing include or includedir is reported") {
  TempDir dir;
  std::string cnf = dir.Write("client.cnf", "[client]\nuser = mpp\n!include " + dir.path() +
                                                "/gone.cnf\n!includedir conf.d\n");
  CHECK(Check(cnf) ==
        std::vector<std::string>{
            cnf + ":3: !include " + dir.path() + "/gone.cnf: cannot read: No such file or directory",
            cnf + ":4: !includedir conf.d: cannot read: No such file or directory"});
  std::string empty = dir.Write("empty.cnf", "[client]\n!include\n");
  CHECK(Check(empty) == std::vector<std::string>{empty + ":2: !include needs a file"});
}

TEST_CASE("Credentials: an include loop ends with an error") {
  TempDir dir;
  std::string a = dir.Write("a.cnf", "[client]\n!include b.cnf\n");
  std::string b = dir.Write("b.cnf", "[client]\nuser = mpp\n!include a.cnf\n");
  CHECK(Check(a) ==
        std::vector<std::string>{b + ":3: !include a.cnf: include loop (" + dir.path() + "/a.cnf is already being read)"});
  std::string self = dir.Write("self.cnf", "!include self.cnf\n");
  CHECK(Check(self) ==
        std::vector<std::string>{self + ":1: !include self.cnf: include loop (" + self + " is already being read)"});
  // Through a directory that includes itself.
  std::string conf_d = dir.Mkdir("conf.d");
  dir.Write("conf.d/x.cnf", "!includedir " + conf_d + "\n");
  std::string top = dir.Write("top.cnf", "!includedir conf.d\n");
  CHECK(Check(top) == std::vector<std::string>{conf_d + "/x.cnf:1: !includedir " + conf_d + ": x.cnf: include loop (" +
                                               conf_d + "/x.cnf is already being read)"});
  // Two files including a third is no loop.
  dir.Write("c.cnf", "[client]\n");
  dir.Write("d.cnf", "!include c.cnf\n!include c.cnf\n");
  CHECK(Check(dir.path() + "/d.cnf").empty());
}

TEST_CASE("Credentials: a password file others may replace is refused") {
  TempDir dir;
  std::string open_dir = dir.Mkdir("open", 0777);
  std::string cnf = dir.Write("open/client.cnf", "[client]\npassword = s3cret\n");
  CHECK(Check(cnf) == std::vector<std::string>{cnf + ":2: password in a directory writable by group or others (" +
                                               open_dir + ", mode 0777): chmod go-w " + open_dir});
  // The sticky bit (as on /tmp) keeps others from replacing it.
  chmod(open_dir.c_str(), 01777);
  CHECK(Check(cnf).empty());
  // A file without a secret there is not a concern of this check.
  chmod(open_dir.c_str(), 0777);
  dir.Write("open/client.cnf", "[client]\nuser = mpp\n");
  CHECK(Check(cnf).empty());
}

TEST_CASE("Credentials: an includedir others may add files to is refused") {
  TempDir dir;
  std::string conf_d = dir.Mkdir("conf.d", 01777);
  std::string cnf = dir.Write("client.cnf", "[client]\n!includedir " + conf_d + "\n");
  CHECK(Check(cnf) == std::vector<std::string>{cnf + ":2: !includedir " + conf_d +
                                               ": directory writable by group or others (mode 1777): they could "
                                               "add options; chmod go-w " + conf_d});
  chmod(conf_d.c_str(), 0755);
  CHECK(Check(cnf).empty());
}

}  // namespace
}  // namespace mpp
