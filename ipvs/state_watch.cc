#include "ipvs/state_watch.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace mpp {

StateWatch::~StateWatch() { Close(); }

void StateWatch::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  wd_ = -1;
}

bool StateWatch::Open(const std::string& dir, const std::string& name, std::string* err) {
  Close();
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    *err = std::string("inotify: ") + strerror(errno);
    return false;
  }
  uint32_t mask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  wd_ = inotify_add_watch(fd_, dir.c_str(), mask);
  if (wd_ < 0) {
    *err = dir + ": cannot watch: " + strerror(errno);
    Close();
    return false;
  }
  name_ = name;
  return true;
}

bool StateWatch::Drain(bool* lost) {
  *lost = false;
  if (fd_ < 0) return false;
  bool hit = false;
  alignas(inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) *lost = true;
      // A full queue loses events: read the file anyway.
      if (ev->mask & IN_Q_OVERFLOW) hit = true;
      if (ev->len > 0 && name_ == ev->name) hit = true;
    }
  }
  if (*lost) {
    Close();
    hit = true;
  }
  return hit;
}

}  // namespace mpp
