// The control socket of mppstate (state_dir/mppstate.sock), served from the
// daemon's poll loop without ever blocking it: the listening socket and every
// client are non-blocking, and each client is held to limits, so that a
// client that trickles, floods, never reads or vanishes costs the loop
// nothing and the poll rounds stay on time.
//
// A client goes through three steps, each with a deadline:
//   reading    from accept to its whole request line (request_time; at most
//              max_request bytes, newline included);
//   answering  the daemon has the request and owes an answer (answer_time:
//              commands that complete at the end of the next round wait here);
//   writing    the answer is sent as the client reads it (reply_time, from
//              when the answer was queued; after it the connection is dropped).
// A refusal (busy, oversize, timed out) is one short "error" reply sent
// without waiting, then the connection is closed.
//
// Time the loop spends elsewhere (a poll round) is not charged to clients:
// the daemon reports it with Stall(), which moves the reading and writing
// deadlines on.
//
// Use: each pass of the loop appends PollFds() to its pollfd array, waits in
// poll() no later than NextDeadline(), then calls Process() with the same
// entries and answers the requests it returns with Reply().
//
// Thread-safety: not thread-safe; one owner (the daemon's loop).
#pragma once

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/control_protocol.h"

namespace mpp {

class ControlServer {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    Clock::duration request_time = std::chrono::seconds(2);
    size_t max_request = kMaxRequestBytes;
    // Connections beyond this are accepted and refused at once ("busy"):
    // left in the backlog they would keep the listening socket readable
    // (a busy loop) and leave mppctl hanging without a word.
    size_t max_clients = 16;
    Clock::duration answer_time = std::chrono::seconds(30);
    Clock::duration reply_time = std::chrono::seconds(5);
  };

  // What happened to clients that did not play by the rules (for tests and
  // the log).
  struct Counters {
    uint64_t accepted = 0;  // every connection, refused ones included
    uint64_t refused_busy = 0;
    uint64_t refused_oversize = 0;
    uint64_t request_timeouts = 0;
    uint64_t answer_timeouts = 0;
    uint64_t replies_dropped = 0;
  };

  // A complete request line, without its newline. client identifies the
  // connection for Reply(); ids are never reused.
  struct Request {
    uint64_t client;
    std::string line;
  };

  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void SetLimits(const Limits& limits) { limits_ = limits; }
  const Limits& limits() const { return limits_; }
  const Counters& counters() const { return counters_; }

  // Listens on a unix socket at path (mode 0660), replacing a socket file
  // left there and the listening socket of an earlier Listen (whose file is
  // removed). Clients already connected stay.
  // REQUIRES: the caller owns path's directory (holds its lock), since a
  // socket file found there is removed.
  bool Listen(const std::string& path, std::string* err);
  bool listening() const { return listen_fd_ >= 0; }

  // Serves a connected socket (made non-blocking here); takes ownership.
  // Returns its id. Beyond max_clients it is refused at once and 0 is
  // returned.
  uint64_t AddClient(int fd, Clock::time_point now);
  size_t clients() const { return clients_.size(); }

  // Closes the listening socket (and removes its file) and every client.
  void Close();

  // Appends the descriptors to wait on and the events wanted.
  void PollFds(std::vector<struct pollfd>* fds) const;
  // The earliest client deadline, or Clock::time_point::max().
  Clock::time_point NextDeadline() const;
  // Handles what poll() reported in fds[0..n) (the entries PollFds
  // appended), then the deadlines due at now. Returns the requests now
  // complete, in arrival order.
  std::vector<Request> Process(const struct pollfd* fds, size_t n, Clock::time_point now);

  // Queues the answer to client's request ("ok"/"error" + body) and sends
  // what the socket takes now. A client that is gone is ignored.
  void Reply(uint64_t client, bool ok, const std::string& body, Clock::time_point now);

  // The loop was busy elsewhere for d: moves the reading and writing
  // deadlines on by d. The answer deadlines stay (they count rounds).
  void Stall(Clock::duration d);

 private:
  enum class Step { kReading, kAnswering, kWriting, kClosed };
  struct Client {
    uint64_t id;
    int fd;
    Step step;
    Clock::time_point deadline;
    std::string in;
    std::string out;
    size_t sent = 0;
  };

  void Accept(Clock::time_point now);
  void Read(Client* c, std::vector<Request>* requests, Clock::time_point now);
  void Write(Client* c);
  void Refuse(Client* c, const std::string& why);
  void Drop(Client* c);
  void Sweep();  // forgets closed clients
  Client* Find(uint64_t id);

  Limits limits_;
  Counters counters_;
  int listen_fd_ = -1;
  std::string path_;
  std::vector<Client> clients_;
  uint64_t next_id_ = 1;
};

}  // namespace mpp
