// The MySQL option files that hold the logins (credentials =,
// admin_credentials =: [client] user, password). This check refuses a
// secret that others can read or replace, in the file named and in every
// file it pulls in: the files config/option_file.h walks, the ones the
// reader reads. A missing include is an error here (the login would not be
// what the file says), and so are an include loop and includes nested too
// deep.
// Thread-safety: pure functions (plus file reads).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mpp {

// Appends a "name:line: message" error if option file text holds a secret
// (password, passwd, ssl-passphrase, tls-passphrase) and mode lets group or
// others read or write it. Includes are not followed (see below).
void CheckCredentialsText(const std::string& text, const std::string& name, mode_t mode,
                          std::vector<std::string>* errors);

// Reads path and every file it includes, checking each as above, and the
// directories they lie in: a file holding a secret must not be in a
// directory that group or others may write to (unless it is sticky, like
// /tmp), and an !includedir directory must not be writable by group or
// others at all (they could add a file). A missing or unreadable file is an
// error. Returns true if nothing was appended.
bool CheckCredentialsFile(const std::string& path, std::vector<std::string>* errors);

}  // namespace mpp
