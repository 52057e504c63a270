// The client library's non-blocking calls behind one small interface, for
// NodePoll (node_poll.h): start a call, wait for what it asks, continue it,
// until it is done.
//
// MariaDB Connector/C (what Debian and MPP's tests use) has _start/_cont
// pairs that say what they wait for: readable, writable, or their own
// timeout. Oracle's libmysqlclient (8.0.16 and later) has one _nonblocking
// call per operation, called again until it completes, which does not say
// what it waits for: there, a call in progress waits for readable (and
// writable while it connects), and only our deadlines time it out. That
// branch is compiled only against Oracle's headers and is not tested here.
//
// Thread-safety: one AsyncCall per connection, used by one thread.
#pragma once

#include <stdint.h>

#include <string>

#include <mysql.h>

namespace mpp {

// What a call in progress waits for.
struct AsyncWait {
  bool done = true;
  bool read = false;
  bool write = false;
  int64_t timeout_ms = -1;  // the library's own timeout, from now; -1: none
};

class AsyncCall {
 public:
  // Switches m to non-blocking calls, before the connect, with a stack of
  // stack_bytes for the library's calls in progress. False when the library
  // cannot (out of memory).
  static bool Enable(MYSQL* m, size_t stack_bytes);
  // Gives the stack back once m will make no more non-blocking calls (an
  // idle watch): it keeps one page. Not while a call is in progress.
  static void Shrink(MYSQL* m);
  // The socket of m, or -1 before it has one.
  static int Socket(MYSQL* m);

  AsyncWait StartConnect(MYSQL* m, const std::string& host, const std::string& user, const std::string& password,
                         unsigned port);
  AsyncWait StartQuery(MYSQL* m, const std::string& sql);
  AsyncWait StartStoreResult(MYSQL* m);
  AsyncWait StartNextResult(MYSQL* m);
  // Continues the call in progress with what happened: the socket became
  // readable or writable, or the time (the library's or ours) ran out.
  AsyncWait Continue(bool readable, bool writable, bool timed_out);

  // Once done:
  bool connected() const { return connect_ret_ != nullptr; }  // StartConnect
  int status() const { return int_ret_; }  // StartQuery: 0 ok; StartNextResult: 0 more, -1 none, > 0 error
  MYSQL_RES* TakeResult();                 // StartStoreResult: nullptr for none, or an error

 private:
  enum class Op { kNone, kConnect, kQuery, kStoreResult, kNextResult };
  AsyncWait Wait(int status);

  MYSQL* m_ = nullptr;
  Op op_ = Op::kNone;
  MYSQL* connect_ret_ = nullptr;
  int int_ret_ = 0;
  MYSQL_RES* res_ret_ = nullptr;
  // The library reads the arguments again while the call is in progress.
  std::string host_, user_, password_, sql_;
  unsigned port_ = 0;
};

}  // namespace mpp
