#include "mppstate/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include "mppstate/logger.h"

namespace mpp {
namespace {

// At most this many connections are taken from the backlog per pass, so
// that a flood of connections cannot hold the loop either.
constexpr int kAcceptsPerPass = 64;

std::string Seconds(ControlServer::Clock::duration d) {
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

ControlServer::~ControlServer() { Close(); }

bool ControlServer::Listen(const std::string& path, std::string* err) {
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    unlink(path_.c_str());
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *err = path + ": path too long for a socket";
    return false;
  }
  memcpy(addr.sun_path, path.c_str(), path.size());
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  // Created with no permission for others, then opened to the group only.
  mode_t old_mask = umask(0117);
  bool ok = fd >= 0 && bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0;
  umask(old_mask);
  if (!ok || chmod(path.c_str(), 0660) != 0 || listen(fd, 64) != 0) {
    *err = path + ": cannot listen: " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  listen_fd_ = fd;
  path_ = path;
  return true;
}

uint64_t ControlServer::AddClient(int fd, Clock::time_point now) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  clients_.push_back(Client{next_id_++, fd, Step::kReading, now + limits_.request_time, "", "", 0});
  ++counters_.accepted;
  if (clients_.size() > limits_.max_clients) {
    ++counters_.refused_busy;
    Refuse(&clients_.back(), "busy: " + std::to_string(limits_.max_clients) + " clients already connected");
    clients_.pop_back();
    return 0;
  }
  return clients_.back().id;
}

void ControlServer::Close() {
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    unlink(path_.c_str());
  }
  for (Client& c : clients_) Drop(&c);
  clients_.clear();
}

void ControlServer::PollFds(std::vector<struct pollfd>* fds) const {
  if (listen_fd_ >= 0) fds->push_back({listen_fd_, POLLIN, 0});
  for (const Client& c : clients_) {
    short events = c.step == Step::kReading ? POLLIN : c.step == Step::kWriting ? POLLOUT : 0;
    // Even with no events, poll() reports a hang-up: a client that left
    // while its command waits for the round is closed at once.
    if (c.step != Step::kClosed) fds->push_back({c.fd, events, 0});
  }
}

ControlServer::Clock::time_point ControlServer::NextDeadline() const {
  Clock::time_point next = Clock::time_point::max();
  for (const Client& c : clients_)
    if (c.step != Step::kClosed) next = std::min(next, c.deadline);
  return next;
}

std::vector<ControlServer::Request> ControlServer::Process(const struct pollfd* fds, size_t n,
                                                           Clock::time_point now) {
  std::vector<Request> requests;
  bool accept = false;
  // I/O first, deadlines after: a client whose data waited in the kernel
  // while the loop was busy is served, not timed out.
  for (size_t i = 0; i < n; ++i) {
    const struct pollfd& p = fds[i];
    if (p.revents == 0) continue;
    if (p.fd == listen_fd_) {
      accept = accept || (p.revents & POLLIN);
      continue;
    }
    auto it = std::find_if(clients_.begin(), clients_.end(),
                           [&p](const Client& c) { return c.fd == p.fd && c.step != Step::kClosed; });
    if (it == clients_.end()) continue;
    Client* c = &*it;
    if (c->step == Step::kReading && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      Read(c, &requests, now);
    } else if (c->step == Step::kWriting && (p.revents & (POLLOUT | POLLHUP | POLLERR))) {
      Write(c);
    } else if (c->step == Step::kAnswering && (p.revents & (POLLHUP | POLLERR))) {
      Drop(c);
    }
  }
  Sweep();
  if (accept) Accept(now);
  for (Client& c : clients_) {
    if (c.step == Step::kClosed || c.deadline > now) continue;
    switch (c.step) {
      case Step::kReading:
        ++counters_.request_timeouts;
        Refuse(&c, "request not complete within " + Seconds(limits_.request_time));
        break;
      case Step::kAnswering:
        ++counters_.answer_timeouts;
        Log(LogLevel::kWarning, "control socket: no answer within %s; the client is told so",
            Seconds(limits_.answer_time).c_str());
        c.step = Step::kWriting;
        c.out = FormatReply(false, "no answer from mppstate within " + Seconds(limits_.answer_time) +
                                       "; the command may still take effect: see the log\n");
        c.sent = 0;
        c.deadline = now + limits_.reply_time;
        Write(&c);
        break;
      case Step::kWriting:
        ++counters_.replies_dropped;
        Log(LogLevel::kWarning, "control socket: reply not read within %s (%zu of %zu bytes sent): dropped",
            Seconds(limits_.reply_time).c_str(), c.sent, c.out.size());
        Drop(&c);
        break;
      case Step::kClosed:
        break;
    }
  }
  Sweep();
  return requests;
}

void ControlServer::Reply(uint64_t client, bool ok, const std::string& body, Clock::time_point now) {
  Client* c = Find(client);
  if (c == nullptr || c->step != Step::kAnswering) return;
  c->step = Step::kWriting;
  c->out = FormatReply(ok, body);
  c->sent = 0;
  c->deadline = now + limits_.reply_time;
  Write(c);
}

void ControlServer::Stall(Clock::duration d) {
  if (d <= Clock::duration::zero()) return;
  for (Client& c : clients_)
    if (c.step == Step::kReading || c.step == Step::kWriting) c.deadline += d;
}

void ControlServer::Accept(Clock::time_point now) {
  for (int i = 0; i < kAcceptsPerPass; ++i) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
        Log(LogLevel::kError, "control socket: accept: %s", strerror(errno));
      return;
    }
    AddClient(fd, now);
  }
}

void ControlServer::Read(Client* c, std::vector<Request>* requests, Clock::time_point now) {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) {
      Drop(c);
      return;
    }
    if (n == 0) {
      // The client ended its side: what it sent is the request. Nothing at
      // all is a probe, not a request: closed without a word.
      if (c->in.empty()) {
        Drop(c);
        return;
      }
      c->in.push_back('\n');
    } else {
      c->in.append(buf, static_cast<size_t>(n));
    }
    size_t nl = c->in.find('\n');
    if (nl != std::string::npos && nl < limits_.max_request) {
      requests->push_back(Request{c->id, c->in.substr(0, nl)});
      c->in.clear();
      c->in.shrink_to_fit();
      c->step = Step::kAnswering;
      c->deadline = now + limits_.answer_time;
      return;
    }
    if (c->in.size() >= limits_.max_request) {
      ++counters_.refused_oversize;
      Refuse(c, "request longer than " + std::to_string(limits_.max_request) + " bytes");
      return;
    }
  }
}

void ControlServer::Write(Client* c) {
  while (c->sent < c->out.size()) {
    ssize_t n = send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) break;  // the client is gone
    c->sent += static_cast<size_t>(n);
  }
  Drop(c);
}

void ControlServer::Refuse(Client* c, const std::string& why) {
  Log(LogLevel::kWarning, "control socket: client refused: %s", why.c_str());
  // One try: a fresh socket's buffer takes a short line; a client that
  // cannot take it gets nothing.
  std::string out = FormatReply(false, why + "\n");
  ssize_t ignored = send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)ignored;
  Drop(c);
}

void ControlServer::Drop(Client* c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->step = Step::kClosed;
  std::string().swap(c->in);
  std::string().swap(c->out);
}

void ControlServer::Sweep() {
  clients_.erase(std::remove_if(clients_.begin(), clients_.end(),
                                [](const Client& c) { return c.step == Step::kClosed; }),
                 clients_.end());
}

ControlServer::Client* ControlServer::Find(uint64_t id) {
  for (Client& c : clients_)
    if (c.id == id && c.step != Step::kClosed) return &c;
  return nullptr;
}

}  // namespace mpp
