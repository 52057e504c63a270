#include "config/credentials.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <utility>

#include "config/option_file.h"

namespace mpp {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string Octal(mode_t mode) {
  char octal[8];
  snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
  return octal;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The keys whose value is a secret, as Connector/C spells them ('_' and '-'
// are the same in option files).
bool IsSecretKey(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key == "password" || key == "passwd" || key == "ssl-passphrase" ||
         key == "tls-passphrase";
}

struct Line {
  int number = 0;
  std::string text;  // trimmed
};

// Calls f for every line of text that is not blank or a comment.
template <typename F>
void ForEachLine(const std::string& text, F f) {
  Line line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line.number;
    line.text = Trim(text.substr(start, end - start));
    start = end + 1;
    if (line.text.empty() || line.text[0] == '#' || line.text[0] == ';') continue;
    f(line);
  }
}

// The first line holding a secret, or 0: its key in *key.
int SecretLine(const std::string& text, std::string* key) {
  int found = 0;
  ForEachLine(text, [&](const Line& l) {
    if (found != 0 || l.text[0] == '[' || l.text[0] == '!') return;
    std::string k = Trim(l.text.substr(0, l.text.find('=')));
    if (IsSecretKey(k)) {
      found = l.number;
      *key = k;
    }
  });
  return found;
}

// Group or others may create, rename or delete entries of dir (for an
// existing file: replace it, unless the sticky bit protects it).
bool DirWritable(const std::string& dir, bool sticky_protects, mode_t* mode) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return false;  // the walk has just read it
  *mode = st.st_mode;
  if (sticky_protects && (st.st_mode & S_ISVTX)) return false;
  return (st.st_mode & 022) != 0;
}

// Checks every file a walk reads, and the directories they lie in, and
// reports every problem. A file two others include is checked once.
class Checker : public OptionFileVisitor {
 public:
  explicit Checker(std::vector<std::string>* errors) : errors_(errors) {}

  Next File(const OptionFile& f) override;
  bool Dir(const std::string& dir, const std::string& where) override;
  bool CannotRead(const std::string& path, const std::string& where, const std::string& why) override {
    errors_->push_back(where.empty() ? path + ": cannot read credentials: " + why : where + "cannot read: " + why);
    return true;
  }
  bool BadInclude(const std::string& message) override {
    errors_->push_back(message);
    return true;
  }

 private:
  void CheckDirOf(const std::string& path, const std::string& what);

  std::vector<std::string>* errors_;
  std::set<std::pair<dev_t, ino_t>> done_;
};

OptionFileVisitor::Next Checker::File(const OptionFile& f) {
  if (!done_.insert({f.dev, f.ino}).second) return kSkip;
  size_t before = errors_->size();
  CheckCredentialsText(f.text, f.path, f.mode, errors_);
  std::string key;
  int secret = SecretLine(f.text, &key);
  if (errors_->size() == before && secret != 0)
    CheckDirOf(f.path, f.path + ":" + std::to_string(secret) + ": " + key + " ");
  return kEnter;
}

bool Checker::Dir(const std::string& dir, const std::string& where) {
  mode_t mode;
  if (DirWritable(dir, false, &mode)) {
    errors_->push_back(where + "directory writable by group or others (mode " + Octal(mode) +
                       "): they could add options; chmod go-w " + dir);
  }
  return true;
}

// A file holding a secret in a directory others may write to could be
// replaced (with a copy they can read, or other options). Checks the
// directory as written and, through symbolic links, the real one.
void Checker::CheckDirOf(const std::string& path, const std::string& what) {
  std::vector<std::string> dirs{DirName(path)};
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) != nullptr && DirName(real) != dirs[0]) dirs.push_back(DirName(real));
  for (const std::string& dir : dirs) {
    mode_t mode;
    if (DirWritable(dir, true, &mode)) {
      errors_->push_back(what + "in a directory writable by group or others (" + dir + ", mode " +
                         Octal(mode) + "): chmod go-w " + dir);
      return;
    }
  }
}

}  // namespace

void CheckCredentialsText(const std::string& text, const std::string& name, mode_t mode,
                          std::vector<std::string>* errors) {
  if ((mode & 077) == 0) return;
  std::string key;
  int line = SecretLine(text, &key);
  if (line == 0) return;
  errors->push_back(name + ":" + std::to_string(line) + ": " + key +
                    " in a file readable by group or others (mode " + Octal(mode) + "): chmod 600 " +
                    name);
}

bool CheckCredentialsFile(const std::string& path, std::vector<std::string>* errors) {
  size_t before = errors->size();
  Checker checker(errors);
  WalkOptionFiles(path, &checker);
  return errors->size() == before;
}

}  // namespace mpp
