// The HTTP endpoint that Prometheus scrapes (doc/metrics.md): GET or HEAD of
// /metrics answers 200 with what the render callback returns, in the
// Prometheus text format; any other method or path answers 404. It is
// libmicrohttpd driven from its owner's event loop (no thread of its own),
// so the page is rendered on the owner's thread from the owner's data,
// without locks, and nothing it does ever blocks that loop:
//   - every socket is non-blocking; the loop waits on fd() (libmicrohttpd's
//     epoll descriptor) no later than NextWake(), then calls Process();
//   - one request per connection ("Connection: close"): a scrape every few
//     seconds gains nothing from keep-alive, and each connection then has
//     one exchange to bound;
//   - a connection gets exchange_time from its accept to the last byte of
//     its answer, whatever it does meanwhile: a client that trickles its
//     request or reads the answer slowly is cut off then (its socket shut
//     down, so libmicrohttpd closes it at once);
//   - at most max_clients connections at once; more are closed at accept.
// Thread-safety: not thread-safe; one owner (the thread of its loop).
#pragma once

#include <stdint.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/address.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace mpp {

class MetricsEndpoint {
 public:
  using Clock = std::chrono::steady_clock;
  using Render = std::function<std::string()>;
  using LogFn = std::function<void(const std::string&)>;

  struct Limits {
    // Prometheus' own default scrape timeout: a scrape that takes longer
    // has failed anyway.
    Clock::duration exchange_time = std::chrono::seconds(10);
    unsigned max_clients = 16;
  };

  struct Counters {
    uint64_t served = 0;     // 200 answers
    uint64_t not_found = 0;  // 404 answers
    uint64_t cut_off = 0;    // connections shut down at their exchange deadline
  };

  // log: libmicrohttpd's own errors, one line each.
  explicit MetricsEndpoint(LogFn log);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Set before Listen.
  void SetLimits(const Limits& limits) { limits_ = limits; }

  // Listens on addr (an IPv4 or IPv6 address; port 0 takes a free port,
  // for tests), replacing an earlier listener (its connections close).
  // False with *err ("metrics 127.0.0.1:9104: cannot listen: Address
  // already in use") when it cannot; an earlier listener then stays.
  bool Listen(const Address& addr, Render render, std::string* err);
  // Closes the listener and every connection.
  void Close();
  bool listening() const { return daemon_ != nullptr; }
  // The address listened on (its port resolved when 0 was asked).
  const Address& address() const { return address_; }

  // The descriptor to wait on for reading (-1 when not listening).
  int fd() const;
  // When Process is due even if fd() says nothing; Clock::time_point::max()
  // when nothing is timed.
  Clock::time_point NextWake() const;
  // Accepts, reads, answers and writes what is ready, then cuts off the
  // connections past their deadline. Never blocks.
  void Process(Clock::time_point now);

  const Counters& counters() const { return counters_; }
  size_t connections() const { return connections_.size(); }

 private:
  // libmicrohttpd's callbacks (C linkage trampolines in the .cc).
  friend struct MetricsEndpointCallbacks;

  struct Connection {
    Clock::time_point deadline;  // the end of its exchange
    bool cut = false;            // shut down, libmicrohttpd yet to close it
  };

  // Stops the daemon, which closes the listener and every connection.
  void Stop();

  LogFn log_;
  Limits limits_;
  Render render_;
  Address address_;
  MHD_Daemon* daemon_ = nullptr;
  Counters counters_;
  // Every open connection, by its socket (libmicrohttpd's to close).
  std::map<int, Connection> connections_;
  // The time of the Process call running: a connection accepted in it
  // starts its exchange then.
  Clock::time_point now_;
  // While MHD_start_daemon runs, its messages are kept here instead of
  // logged: the last one says why it failed.
  bool starting_ = false;
  std::vector<std::string> start_messages_;
  // While libmicrohttpd closes the connections just cut off, its messages
  // about them are dropped.
  bool quiet_ = false;
};

}  // namespace mpp
