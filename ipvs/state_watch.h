// Tells mpp-ipvs when the state file may have changed: an inotify watch on
// the state directory, because mppstate replaces the file by rename (a watch
// on the file itself would follow the old inode).
// Thread-safety: not thread-safe; one owner.
#pragma once

#include <string>

namespace mpp {

class StateWatch {
 public:
  StateWatch() = default;
  ~StateWatch();
  StateWatch(const StateWatch&) = delete;
  StateWatch& operator=(const StateWatch&) = delete;

  // Watches dir for the file `name` being created, written, renamed over or
  // removed. Replaces any previous watch. On error (the directory does not
  // exist yet, out of watches) returns false and sets *err; the caller
  // retries later.
  bool Open(const std::string& dir, const std::string& name, std::string* err);
  bool is_open() const { return wd_ >= 0; }

  // The descriptor to poll for input, or -1.
  int fd() const { return fd_; }

  // Reads every pending event. Returns true if one concerned the file.
  // Sets *lost when the directory itself went away (then is_open() is
  // false and the caller must Open again).
  bool Drain(bool* lost);

 private:
  void Close();

  int fd_ = -1;
  int wd_ = -1;
  std::string name_;
};

}  // namespace mpp
