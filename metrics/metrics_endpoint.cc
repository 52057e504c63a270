#include "metrics/metrics_endpoint.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "common/address_socket.h"

namespace mpp {
namespace {

constexpr char kPageType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kNotFound[] = "not found\n";

// The longest wait NextWake derives from libmicrohttpd's timeout: more
// would only risk overflowing the time_point.
constexpr MHD_UNSIGNED_LONG_LONG kMaxTimeoutMs = 24ull * 3600 * 1000;

// A bound, listening, non-blocking socket on addr, or -1 with errno set.
// *port is the port it got (addr.port, or the one the kernel chose for 0).
int OpenListener(const Address& addr, uint16_t* port) {
  struct sockaddr_storage ss;
  socklen_t len = ToSockaddr(addr, &ss);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  bool ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
  // [::]:port means IPv6 only, as written; IPv4 is its own address.
  if (ok && ss.ss_family == AF_INET6) ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0;
  ok = ok && bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) == 0 && listen(fd, SOMAXCONN) == 0;
  len = sizeof ss;
  ok = ok && getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) == 0;
  if (!ok) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  *port = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

// After a failed MHD_start_daemon: libmicrohttpd 0.9.75 closes the listening
// socket on some of its failure paths and not on others. Closes fd if it is
// still the socket we made (same inode), never a descriptor another thread
// has opened under the same number since.
void CloseIfStillOurs(int fd, const struct stat& ours) {
  struct stat now;
  if (fstat(fd, &now) == 0 && now.st_dev == ours.st_dev && now.st_ino == ours.st_ino) close(fd);
}

void FreePage(void* page) { delete static_cast<std::string*>(page); }

}  // namespace

// libmicrohttpd calls these from inside MHD_start_daemon, MHD_run and
// MHD_stop_daemon, on the owner's thread. None lets an exception out.
struct MetricsEndpointCallbacks {
  static void Log(MetricsEndpoint* self, const char* format, va_list ap) {
    if (self->quiet_) return;
    char line[512];
    vsnprintf(line, sizeof line, format, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (!self->starting_) {
      LogLine(self, std::string("metrics: ") + line);
      return;
    }
    try {
      self->start_messages_.emplace_back(line);
    } catch (...) {
    }
  }

  static void LogLine(MetricsEndpoint* self, const std::string& line) {
    try {
      if (self->log_) self->log_(line);
    } catch (...) {
    }
  }

  // Beyond max_clients a connection is closed at accept. libmicrohttpd's
  // own limit cannot do it: at its limit it stops accepting (with epoll),
  // and the extra clients would wait in the backlog instead.
  static MHD_Result Accept(MetricsEndpoint* self) {
    return self->connections_.size() < self->limits_.max_clients ? MHD_YES : MHD_NO;
  }

  static void Notify(MetricsEndpoint* self, MHD_Connection* connection, MHD_ConnectionNotificationCode code) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == nullptr) return;
    int fd = info->connect_fd;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      self->connections_.erase(fd);
      return;
    }
    try {
      self->connections_[fd] = MetricsEndpoint::Connection{self->now_ + self->limits_.exchange_time, false};
    } catch (...) {
      // Untracked, it would have no deadline: end it now instead.
      shutdown(fd, SHUT_RDWR);
    }
  }

  // Answers on the first call, before any request body is read: no answer
  // needs one, and libmicrohttpd then discards the body and closes the
  // connection after the answer.
  static MHD_Result Access(MetricsEndpoint* self, MHD_Connection* connection, const char* url, const char* method) {
    try {
      bool page = (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) &&
                  strcmp(url, "/metrics") == 0;
      MHD_Response* response;
      if (page) {
        // HEAD renders too, for its Content-Length.
        auto* text = new std::string(self->render_());
        response = MHD_create_response_from_buffer_with_free_callback_cls(text->size(), text->data(), &FreePage, text);
        if (response == nullptr) {
          delete text;
          return MHD_NO;
        }
      } else {
        response =
            MHD_create_response_from_buffer(sizeof kNotFound - 1, const_cast<char*>(kNotFound), MHD_RESPMEM_PERSISTENT);
        if (response == nullptr) return MHD_NO;
      }
      bool ok =
          MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, page ? kPageType : "text/plain") == MHD_YES &&
          MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES &&
          MHD_queue_response(connection, page ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, response) == MHD_YES;
      MHD_destroy_response(response);
      if (!ok) return MHD_NO;
      ++(page ? self->counters_.served : self->counters_.not_found);
      return MHD_YES;
    } catch (const std::exception& e) {
      LogLine(self, std::string("metrics: cannot answer ") + url + ": " + e.what());
    } catch (...) {
    }
    return MHD_NO;  // libmicrohttpd closes the connection
  }
};

namespace {

extern "C" {

static void OnLog(void* cls, const char* format, va_list ap) {
  MetricsEndpointCallbacks::Log(static_cast<MetricsEndpoint*>(cls), format, ap);
}

static MHD_Result OnAccept(void* cls, const struct sockaddr*, socklen_t) {
  return MetricsEndpointCallbacks::Accept(static_cast<MetricsEndpoint*>(cls));
}

static void OnNotify(void* cls, MHD_Connection* connection, void**, MHD_ConnectionNotificationCode code) {
  MetricsEndpointCallbacks::Notify(static_cast<MetricsEndpoint*>(cls), connection, code);
}

static MHD_Result OnAccess(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                           const char*, size_t*, void**) {
  return MetricsEndpointCallbacks::Access(static_cast<MetricsEndpoint*>(cls), connection, url, method);
}

}  // extern "C"

}  // namespace

MetricsEndpoint::MetricsEndpoint(LogFn log) : log_(std::move(log)) {}

MetricsEndpoint::~MetricsEndpoint() { Close(); }

bool MetricsEndpoint::Listen(const Address& addr, Render render, std::string* err) {
  char text[kAddressTextMax];
  FormatAddress(addr, text);
  auto fail = [&](const std::string& why) {
    *err = std::string("metrics ") + text + ": cannot listen: " + why;
    return false;
  };
  if (addr.kind != Address::kInet4 && addr.kind != Address::kInet6) return fail(strerror(EAFNOSUPPORT));
  uint16_t port = 0;
  int fd = OpenListener(addr, &port);
  if (fd < 0) return fail(strerror(errno));
  struct stat listener = {};
  fstat(fd, &listener);

  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  if (addr.kind == Address::kInet6) flags |= MHD_USE_IPv6;
  // libmicrohttpd's idle timeout only backs up the exchange deadline.
  auto idle = std::chrono::ceil<std::chrono::seconds>(limits_.exchange_time).count();
  unsigned idle_seconds = static_cast<unsigned>(std::max<decltype(idle)>(idle, 1));
  starting_ = true;
  start_messages_.clear();
  // libmicrohttpd's connection limit is one above ours, so that OnAccept
  // refuses the extra connections (see there). The logger goes first:
  // messages about the options before it would go to stderr.
  unsigned mhd_limit = limits_.max_clients + 1;
  MHD_Daemon* daemon = MHD_start_daemon(flags, port, &OnAccept, this, &OnAccess, this,          //
                                        MHD_OPTION_EXTERNAL_LOGGER, &OnLog, this,               //
                                        MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),  //
                                        MHD_OPTION_NOTIFY_CONNECTION, &OnNotify, this,          //
                                        MHD_OPTION_CONNECTION_TIMEOUT, idle_seconds,            //
                                        MHD_OPTION_CONNECTION_LIMIT, mhd_limit, MHD_OPTION_END);
  starting_ = false;
  std::vector<std::string> messages = std::move(start_messages_);
  start_messages_.clear();
  if (daemon == nullptr) {
    CloseIfStillOurs(fd, listener);
    return fail(messages.empty() ? "libmicrohttpd cannot start" : messages.back());
  }
  Stop();
  daemon_ = daemon;
  address_ = addr;
  address_.port = port;
  render_ = std::move(render);
  if (log_) {
    for (const std::string& m : messages) log_("metrics: " + m);
  }
  return true;
}

void MetricsEndpoint::Stop() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  connections_.clear();
}

void MetricsEndpoint::Close() {
  Stop();
  render_ = nullptr;
  address_ = Address();
}

int MetricsEndpoint::fd() const {
  if (daemon_ == nullptr) return -1;
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
  return info != nullptr ? info->epoll_fd : -1;
}

MetricsEndpoint::Clock::time_point MetricsEndpoint::NextWake() const {
  Clock::time_point wake = Clock::time_point::max();
  if (daemon_ == nullptr) return wake;
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(daemon_, &ms) == MHD_YES) {
    wake = Clock::now() + std::chrono::milliseconds(std::min(ms, kMaxTimeoutMs));
  }
  // A connection already cut off waits for libmicrohttpd to see it, which
  // fd() reports.
  for (const auto& c : connections_) {
    if (!c.second.cut) wake = std::min(wake, c.second.deadline);
  }
  return wake;
}

void MetricsEndpoint::Process(Clock::time_point now) {
  if (daemon_ == nullptr) return;
  now_ = now;
  MHD_run(daemon_);
  bool cut = false;
  for (auto& c : connections_) {
    if (c.second.cut || c.second.deadline > now) continue;
    // A reset rather than a FIN after the unsent rest of the page: the
    // kernel would otherwise go on feeding a slow reader after the close.
    struct linger reset = {1, 0};
    setsockopt(c.first, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    // libmicrohttpd owns the socket: shut down, it reads the end and
    // closes it itself.
    shutdown(c.first, SHUT_RDWR);
    c.second.cut = true;
    ++counters_.cut_off;
    cut = true;
  }
  if (!cut) return;
  // libmicrohttpd reports each as a read or write error: noise, since the
  // cut is ours (and counted).
  quiet_ = true;
  MHD_run(daemon_);
  quiet_ = false;
}

}  // namespace mpp
