#include "mppstate/restart_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/paths.h"
#include "common/state_reader.h"
#include "mppstate/state_writer.h"

namespace mpp {
namespace {

// Far more than any pool memory (a line per pool and per flagged node).
constexpr size_t kPoolMemoryMax = 4u << 20;

}  // namespace

std::vector<std::pair<std::string, State>> RecordedStatesFromText(const char* data, size_t len) {
  std::vector<std::pair<std::string, State>> out;
  StateFile f;
  const char* why;
  if (ParseStateFile(data, len, &f, &why) != StateError::kOk) return out;
  StateCursor c = BeginRecords(f);
  NodeRecord n;
  while (NextNode(&c, &n)) {
    State s;
    if (ParseState(n.state.data, n.state.len, &s)) out.emplace_back(std::string(n.name.data, n.name.len), s);
  }
  return out;
}

std::vector<std::pair<std::string, State>> RecordedStates(const std::string& path) {
  static char buf[kStateFileMax];
  StateFile f;
  const char* why;
  if (LoadStateFile(path.c_str(), buf, sizeof buf, &f, &why) != StateError::kOk) return {};
  return RecordedStatesFromText(f.data, f.len);
}

MemoryLoad LoadPoolMemory(const std::string& data_dir, PoolMemory* out, std::string* err) {
  std::string path = PoolMemoryPath(data_dir);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return MemoryLoad::kMissing;
    *err = path + ": cannot open: " + strerror(errno);
    return MemoryLoad::kError;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kPoolMemoryMax) {
    close(fd);
    *err = path + ": not a regular file of at most " + std::to_string(kPoolMemoryMax) + " bytes";
    return MemoryLoad::kError;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd, &text[got], text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  int read_errno = errno;
  close(fd);
  if (got != text.size()) {
    *err = path + ": read failed: " + (got < text.size() ? strerror(read_errno) : "short read");
    return MemoryLoad::kError;
  }
  return ParsePoolMemory(text, path, out, err) ? MemoryLoad::kLoaded : MemoryLoad::kError;
}

void PoolMemoryWriter::Start(const std::string& data_dir, const PoolMemory* loaded) {
  path_ = PoolMemoryPath(data_dir);
  written_ = loaded != nullptr ? FormatPoolMemory(*loaded) : "";
}

bool PoolMemoryWriter::Save(const PoolMemory& m, std::string* err) {
  std::string text = FormatPoolMemory(m);
  if (text == written_) return true;
  if (!WriteFileDurable(path_, text, 0644, err)) return false;
  written_ = text;
  return true;
}

}  // namespace mpp
