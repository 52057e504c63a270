// The MySQL option file that holds the monitoring user's login ([client]
// user, password). mppstate never reads the password itself: the client
// library does. This check refuses a password that others can read.
// Thread-safety: pure functions (plus file reads).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mpp {

// Appends "file:line: message" errors if the option file text holds a
// password and mode lets group or others read it. name is used in messages.
void CheckCredentialsText(const std::string& text, const std::string& name, mode_t mode,
                          std::vector<std::string>* errors);

// Reads path and checks it as above; a missing or unreadable file is an
// error too. Returns true if nothing was appended.
bool CheckCredentialsFile(const std::string& path, std::vector<std::string>* errors);

}  // namespace mpp
