#include "config/option_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace mpp {

namespace {

constexpr int kMaxIncludeDepth = 8;
constexpr off_t kMaxFileSize = 1 << 20;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Calls f(number, trimmed line) for every line of text that is not blank or
// a comment, until f returns false; false then.
template <typename F>
bool ForEachLine(const std::string& text, F f) {
  int number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = Trim(text.substr(start, end - start));
    start = end + 1;
    ++number;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (!f(number, line)) return false;
  }
  return true;
}

// For a "!" line: true if it is !include or !includedir (other directives
// the library ignores), with its argument ("" if none).
bool IncludeDirective(const std::string& line, bool* is_dir, std::string* arg) {
  size_t space = line.find_first_of(" \t");
  std::string directive = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
  if (directive != "include" && directive != "includedir") return false;
  *is_dir = directive == "includedir";
  *arg = space == std::string::npos ? "" : Trim(line.substr(space));
  return true;
}

std::string Directive(bool is_dir) { return is_dir ? "!includedir" : "!include"; }

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The readable regular file at path, or why not.
bool ReadText(const std::string& path, std::string* text, struct stat* st, std::string* why) {
  // O_NONBLOCK: a FIFO named here must not hang the poll.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *why = strerror(errno);
    return false;
  }
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size >= kMaxFileSize) {
    close(fd);
    *why = "not a regular file under 1 MiB";
    return false;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text->append(buf, static_cast<size_t>(n));
  int read_errno = errno;
  close(fd);
  if (n < 0) {
    *why = strerror(read_errno);
    return false;
  }
  return true;
}

// One walk. Files are identified by device and inode: the ones being read
// detect loops.
class Walk {
 public:
  explicit Walk(OptionFileVisitor* v) : v_(v) {}

  // False when the visitor ended the walk.
  bool File(const std::string& path, const std::string& where, int depth);

 private:
  bool Dir(const std::string& dir, const std::string& where, int depth);

  OptionFileVisitor* v_;
  std::vector<std::pair<dev_t, ino_t>> reading_;
};

bool Walk::File(const std::string& path, const std::string& where, int depth) {
  OptionFile f;
  f.path = path;
  f.where = where;
  struct stat st;
  std::string why;
  if (!ReadText(path, &f.text, &st, &why)) return v_->CannotRead(path, where, why);
  std::pair<dev_t, ino_t> id(st.st_dev, st.st_ino);
  if (std::find(reading_.begin(), reading_.end(), id) != reading_.end())
    return v_->BadInclude(where + "include loop (" + path + " is already being read)");
  f.mode = st.st_mode;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  switch (v_->File(f)) {
    case OptionFileVisitor::kStop: return false;
    case OptionFileVisitor::kSkip: return true;
    case OptionFileVisitor::kEnter: break;
  }
  reading_.push_back(id);
  bool go = ForEachLine(f.text, [&](int number, const std::string& line) {
    if (line[0] != '!') return v_->Line(f, number, line);
    bool is_dir;
    std::string arg;
    if (!IncludeDirective(line, &is_dir, &arg)) return true;
    std::string at = path + ":" + std::to_string(number) + ": " + Directive(is_dir);
    if (arg.empty()) return v_->BadInclude(at + " needs a " + (is_dir ? "directory" : "file"));
    at += " " + arg + ": ";
    if (depth + 1 > kMaxIncludeDepth)
      return v_->BadInclude(at + "includes nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
    std::string target = arg[0] == '/' ? arg : DirName(path) + "/" + arg;
    return is_dir ? Dir(target, at, depth + 1) : File(target, at, depth + 1);
  });
  reading_.pop_back();
  v_->EndFile();
  return go;
}

// The *.cnf files of dir in name order; the ones that are not readable
// regular files are skipped, as the library skips them.
bool Walk::Dir(const std::string& dir, const std::string& where, int depth) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return v_->CannotRead(dir, where, strerror(errno));
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".cnf") == 0) names.push_back(name);
  }
  closedir(d);
  if (!v_->Dir(dir, where)) return false;
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(path.c_str(), R_OK) != 0)
      continue;
    if (!File(path, where + name + ": ", depth)) return false;
  }
  return true;
}

// A value as the library stores it: one pair of quotes off, escapes done.
std::string Unquote(const std::string& trimmed) {
  size_t b = 0, e = trimmed.size();
  if (e > 0 && (trimmed[0] == '\'' || trimmed[0] == '"')) {
    ++b;
    if (e > b && (trimmed[e - 1] == '\'' || trimmed[e - 1] == '"')) --e;
  }
  std::string out;
  for (size_t i = b; i < e; ++i) {
    if (trimmed[i] != '\\' || i + 1 == e) {
      out += trimmed[i];
      continue;
    }
    char c = trimmed[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 's': out += ' '; break;
      case '"':
      case '\'':
      case '\\': out += c; break;
      default: out += '\\'; out += c; break;  // unknown: kept as written
    }
  }
  return out;
}

// The field a key sets, or nullptr for a key we ignore.
std::string* Field(const std::string& key, ClientOptions* o) {
  struct Entry {
    const char* key;
    std::string ClientOptions::*field;
  };
  static const Entry kKeys[] = {
      {"user", &ClientOptions::user},
      {"password", &ClientOptions::password},
      {"passwd", &ClientOptions::password},
      {"ssl-ca", &ClientOptions::ssl_ca},
      {"tls-ca", &ClientOptions::ssl_ca},
      {"ssl-capath", &ClientOptions::ssl_capath},
      {"tls-capath", &ClientOptions::ssl_capath},
      {"ssl-crl", &ClientOptions::ssl_crl},
      {"tls-crl", &ClientOptions::ssl_crl},
      {"ssl-crlpath", &ClientOptions::ssl_crlpath},
      {"tls-crlpath", &ClientOptions::ssl_crlpath},
      {"ssl-cert", &ClientOptions::ssl_cert},
      {"tls-cert", &ClientOptions::ssl_cert},
      {"ssl-key", &ClientOptions::ssl_key},
      {"tls-key", &ClientOptions::ssl_key},
      {"ssl-passphrase", &ClientOptions::ssl_passphrase},
      {"tls-passphrase", &ClientOptions::ssl_passphrase},
      {"ssl-cipher", &ClientOptions::ssl_cipher},
      {"tls-cipher", &ClientOptions::ssl_cipher},
      {"tls-version", &ClientOptions::tls_version},
      {"default-auth", &ClientOptions::default_auth},
      {"plugin-dir", &ClientOptions::plugin_dir},
  };
  for (const Entry& e : kKeys) {
    if (key == e.key) return &(o->*e.field);
  }
  return nullptr;
}

bool IsClientGroup(const std::string& g) {
  return g == "client" || g == "client-server" || g == "client-mariadb";
}

// The client groups of one file: a line at a time.
class GroupParser {
 public:
  // Applies line (trimmed, not blank, a comment or a directive) to *out;
  // false with *err set (without the place) on a syntax error.
  bool Line(const std::string& line, ClientOptions* out, std::string* err) {
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string::npos) {
        *err = "group without ']'";
        return false;
      }
      in_group_ = IsClientGroup(Trim(line.substr(1, close - 1)));
      seen_group_ = true;
      return true;
    }
    if (!seen_group_) {
      *err = "an option before any [group]";
      return false;
    }
    if (!in_group_) return true;
    size_t eq = line.find('=');
    std::string key = Trim(line.substr(0, eq));
    std::replace(key.begin(), key.end(), '_', '-');
    std::string* field = Field(key, out);
    if (field != nullptr) *field = eq == std::string::npos ? "" : Unquote(Trim(line.substr(eq + 1)));
    return true;
  }

 private:
  bool in_group_ = false, seen_group_ = false;
};

// Reads the client groups of every file of a walk; the first error ends it.
// An error inside an include is told from the top file down:
// "client.cnf:3: !include tls.cnf: tls.cnf:1: group without ']'".
class Reader : public OptionFileVisitor {
 public:
  Reader(ClientOptions* out, std::string* err) : out_(out), err_(err) {}

  Next File(const OptionFile& file) override {
    files_.push_back({file.where, GroupParser()});
    return kEnter;
  }
  bool Line(const OptionFile& file, int number, const std::string& line) override {
    std::string why;
    if (files_.back().second.Line(line, out_, &why)) return true;
    return Fail(file.path + ":" + std::to_string(number) + ": " + why);
  }
  void EndFile() override { files_.pop_back(); }
  bool CannotRead(const std::string& path, const std::string& where, const std::string& why) override {
    return Fail(where + path + ": " + why);
  }
  bool BadInclude(const std::string& message) override { return Fail(message); }

  bool ok() const { return ok_; }

 private:
  bool Fail(const std::string& message) {
    err_->clear();
    for (const auto& f : files_) *err_ += f.first;
    *err_ += message;
    ok_ = false;
    return false;
  }

  ClientOptions* out_;
  std::string* err_;
  std::vector<std::pair<std::string, GroupParser>> files_;  // the where of each file being read
  bool ok_ = true;
};

}  // namespace

void WalkOptionFiles(const std::string& path, OptionFileVisitor* visitor) {
  Walk(visitor).File(path, "", 0);
}

bool ParseClientOptions(const std::string& text, const std::string& name, ClientOptions* out,
                        std::string* err) {
  GroupParser groups;
  return ForEachLine(text, [&](int number, const std::string& line) {
    std::string why;
    if (line[0] == '!') {
      bool is_dir;
      std::string arg;
      if (!IncludeDirective(line, &is_dir, &arg)) return true;
      why = Directive(is_dir) + (arg.empty() ? std::string(" needs a ") + (is_dir ? "directory" : "file")
                                             : std::string(" is not allowed here"));
    } else if (groups.Line(line, out, &why)) {
      return true;
    }
    *err = name + ":" + std::to_string(number) + ": " + why;
    return false;
  });
}

bool ReadClientOptions(const std::string& path, ClientOptions* out, std::string* err) {
  Reader reader(out, err);
  WalkOptionFiles(path, &reader);
  return reader.ok();
}

}  // namespace mpp
