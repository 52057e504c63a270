// Shared by the unit tests: printing of values doctest does not know, and
// a temporary directory.
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const std::string& s : v) out += "\n  \"" + s + "\"";
    out += "}";
    return String(out.c_str());
  }
};
}  // namespace doctest

namespace mpp {
namespace testing {

// A private directory (mode 0700) under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char dir[] = "/tmp/mpp-unit-test.XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    path_ = dir;
  }
  ~TempDir() { Remove(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

  // Writes dir/name with mode and returns its path.
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::string p = Path(name);
    std::ofstream(p) << text;
    REQUIRE(chmod(p.c_str(), mode) == 0);
    return p;
  }

  // An executable script: "#!/bin/sh" and body.
  std::string Script(const std::string& name, const std::string& body) const {
    return Write(name, "#!/bin/sh\n" + body, 0755);
  }

  std::string Mkdir(const std::string& name, mode_t mode = 0700) const {
    std::string p = Path(name);
    mkdir(p.c_str(), 0700);
    chmod(p.c_str(), mode);
    return p;
  }

 private:
  static void Remove(const std::string& p) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
      if (DIR* d = opendir(p.c_str())) {
        while (struct dirent* e = readdir(d)) {
          std::string name = e->d_name;
          if (name != "." && name != "..") Remove(p + "/" + name);
        }
        closedir(d);
      }
      rmdir(p.c_str());
    } else {
      unlink(p.c_str());
    }
  }

  std::string path_;
};

}  // namespace testing
}  // namespace mpp
