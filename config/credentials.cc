#include "config/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

namespace mpp {

void CheckCredentialsText(const std::string& text, const std::string& name, mode_t mode,
                          std::vector<std::string>* errors) {
  if ((mode & 077) == 0) return;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    // Option files accept "password", "password=..." and "password = ...".
    if (line.compare(b, 8, "password") != 0) continue;
    size_t after = line.find_first_not_of(" \t", b + 8);
    if (after != std::string::npos && line[after] != '=') continue;
    char octal[8];
    snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    errors->push_back(name + ":" + std::to_string(lineno) +
                      ": password in a file readable by group or others (mode " + octal +
                      "): chmod 600 " + name);
    return;
  }
}

bool CheckCredentialsFile(const std::string& path, std::vector<std::string>* errors) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    errors->push_back(path + ": cannot read credentials: " + strerror(errno));
    return false;
  }
  struct stat st;
  std::string text;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (1 << 20)) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  } else {
    close(fd);
    errors->push_back(path + ": credentials must be a regular file under 1 MiB");
    return false;
  }
  close(fd);
  size_t before = errors->size();
  CheckCredentialsText(text, path, st.st_mode, errors);
  return errors->size() == before;
}

}  // namespace mpp
