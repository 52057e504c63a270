// MySQL option files (credentials =, admin_credentials =): the one walk
// over a file and the files it includes, and the reader of their client
// part (the login and the TLS files). config/credentials.h checks the modes
// of the files this walk visits, so the check and the reader see the same
// files.
//
// The walk follows MariaDB Connector/C: "!include FILE" is read in place,
// and so is "!includedir DIR": its files whose names end in ".cnf" (.ini
// only on Windows), in name order, those it cannot read skipped; a relative
// FILE or DIR is taken from the including file's directory; other "!" lines
// are ignored, as the library ignores them. Includes nest at most 8 deep; a
// file that includes itself, directly or not, is a loop.
//
// mppstate reads the file itself rather than handing it to the client
// library (MYSQL_READ_DEFAULT_FILE): the library applies the file inside
// mysql_real_connect, after every option we set, so an ssl-ca there would
// turn TLS on, and verify the chain, whatever [global] tls says.
//
// The syntax is Connector/C's: the groups [client], [client-server] and
// [client-mariadb]; "key = value", "key=value" or a bare "key"; '_' and '-'
// alike in keys; one pair of quotes around a value removed; the escapes
// \n \t \r \b \s \" \' \\; lines starting with # or ; are comments (nothing
// after a value is); a later value replaces an earlier one. Keys
// ClientOptions does not hold are ignored, as the library ignores keys it
// does not know: host, port and the timeouts come from mppstate.ini, and so
// does the TLS policy (ssl-mode, ssl-verify-server-cert or ssl-enforce here
// change nothing).
//
// Thread-safety: pure functions, plus file reads in WalkOptionFiles and
// ReadClientOptions.
#pragma once

#include <sys/types.h>

#include <string>

namespace mpp {

// A file the walk read.
struct OptionFile {
  std::string path;  // as opened: a relative include is resolved
  std::string text;
  mode_t mode = 0;   // st_mode
  dev_t dev = 0;     // with ino, the file whatever path names it
  ino_t ino = 0;
  // The start of messages about the file: "" for the file the walk starts
  // from, else "including.cnf:LINE: !include FILE: " (plus "NAME: " for a
  // file of an !includedir).
  std::string where;
};

// What WalkOptionFiles tells as it goes. A false or kStop ends the walk.
class OptionFileVisitor {
 public:
  enum Next { kStop, kSkip, kEnter };
  virtual ~OptionFileVisitor() = default;

  // A file read: kEnter goes through its lines and includes, kSkip leaves
  // them out (and ends nothing).
  virtual Next File(const OptionFile& file) = 0;
  // Each line of an entered file that is not blank, a comment or a "!"
  // directive, trimmed, with its number; an include's files come in place
  // of its line, and EndFile closes every file entered.
  virtual bool Line(const OptionFile& /*file*/, int /*number*/, const std::string& /*line*/) {
    return true;
  }
  virtual void EndFile() {}
  // An !includedir directory, before its files.
  virtual bool Dir(const std::string& /*dir*/, const std::string& /*where*/) { return true; }
  // A file or directory that cannot be read; why is strerror(errno) or
  // "not a regular file under 1 MiB".
  virtual bool CannotRead(const std::string& path, const std::string& where, const std::string& why) = 0;
  // An include the library would not follow, as a whole message
  // ("file:line: !include X: includes nested more than 8 deep").
  virtual bool BadInclude(const std::string& message) = 0;
};

// Reads path and the files it includes, in the order the library reads
// them, telling visitor about each.
void WalkOptionFiles(const std::string& path, OptionFileVisitor* visitor);

struct ClientOptions {
  std::string user;
  std::string password;
  // TLS: the CA (and revocation lists) the server's certificate is checked
  // against, the client's own certificate and key, and the protocol limits.
  std::string ssl_ca, ssl_capath, ssl_crl, ssl_crlpath;
  std::string ssl_cert, ssl_key, ssl_passphrase;
  std::string ssl_cipher, tls_version;
  // Authentication plugins.
  std::string default_auth, plugin_dir;
};

// Applies the client groups of option file text to *out; an include is an
// error. name is used in messages ("name:line: ..."). Returns false with
// *err set on a syntax error (the values before it stay applied).
bool ParseClientOptions(const std::string& text, const std::string& name, ClientOptions* out,
                        std::string* err);

// Reads path and the files it includes into *out.
bool ReadClientOptions(const std::string& path, ClientOptions* out, std::string* err);

}  // namespace mpp
