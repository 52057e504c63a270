#include "mppstate/checkpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/address_socket.h"

namespace mpp {
namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Starts a non-blocking connect; returns the fd, or -1 if it already
// finished (*answered says how).
int StartConnect(const Address& a, bool* answered) {
  *answered = false;
  struct sockaddr_storage ss;
  socklen_t len = ToSockaddr(a, &ss);
  if (len == 0) return -1;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&ss), len) == 0 || errno == ECONNREFUSED) {
    *answered = true;
    close(fd);
    return -1;
  }
  if (errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int ProbeCheckpoints(const std::vector<Address>& checkpoints, int64_t timeout_ms) {
  int answered = 0;
  std::vector<struct pollfd> fds;
  for (const Address& a : checkpoints) {
    bool done;
    int fd = StartConnect(a, &done);
    if (done) ++answered;
    if (fd >= 0) fds.push_back(pollfd{fd, POLLOUT, 0});
  }
  int64_t deadline = NowMs() + timeout_ms;
  while (answered == 0 && !fds.empty()) {
    int64_t left = deadline - NowMs();
    if (left <= 0) break;
    int n = poll(fds.data(), fds.size(), static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (struct pollfd& p : fds) {
      if (p.fd < 0 || p.revents == 0) continue;
      int err = 0;
      socklen_t elen = sizeof err;
      getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
      if (err == 0 || err == ECONNREFUSED) ++answered;
      close(p.fd);
      p.fd = -1;
    }
  }
  for (struct pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  return answered;
}

}  // namespace mpp
