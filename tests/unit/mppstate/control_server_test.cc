// ControlServer: whatever a client sends, leaves unread or never finishes,
// it costs the loop nothing, and the other clients are still served.
#include "mppstate/control_server.h"

#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace mpp {
namespace {

using Clock = ControlServer::Clock;
using std::chrono::milliseconds;

// One pass of the loop at time now, without waiting: poll() fills in what
// is ready, Process() handles it.
std::vector<ControlServer::Request> Pass(ControlServer* s, Clock::time_point now) {
  std::vector<struct pollfd> fds;
  s->PollFds(&fds);
  REQUIRE(poll(fds.data(), fds.size(), 0) >= 0);
  return s->Process(fds.data(), fds.size(), now);
}

// A connected pair: the server's end is given to s, the client's returned.
int Connect(ControlServer* s, Clock::time_point now, uint64_t* id = nullptr) {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  uint64_t client = s->AddClient(sv[0], now);
  if (id != nullptr) *id = client;
  return sv[1];
}

void Send(int fd, const std::string& text) {
  REQUIRE(send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
}

// Everything the server sent until it closed the connection (blocking).
std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF, or ECONNRESET after a refusal
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// What the client can read now, without waiting.
std::string ReadReady(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST_CASE("ControlServer: a request sent in pieces is assembled, then answered") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  uint64_t id;
  int c = Connect(&s, t0, &id);
  Send(c, "sta");
  CHECK(Pass(&s, t0).empty());
  Send(c, "tus-j");
  CHECK(Pass(&s, t0 + milliseconds(500)).empty());
  Send(c, "son\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0 + milliseconds(900));
  REQUIRE(r.size() == 1);
  CHECK(r[0].client == id);
  CHECK(r[0].line == "status-json");
  s.Reply(id, true, "{}\n", t0 + milliseconds(900));
  CHECK(ReadAll(c) == "ok\n{}\n");
  Pass(&s, t0 + milliseconds(901));
  CHECK(s.clients() == 0);
}

TEST_CASE("ControlServer: a client that ends its side without a newline has sent its request") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, "status");
  REQUIRE(shutdown(c, SHUT_WR) == 0);
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 1);
  CHECK(r[0].line == "status");
  s.Reply(r[0].client, false, "no\n", t0);
  CHECK(ReadAll(c) == "error\nno\n");
}

TEST_CASE("ControlServer: a client that leaves without a word is closed without one") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  REQUIRE(shutdown(c, SHUT_WR) == 0);
  CHECK(Pass(&s, t0).empty());
  CHECK(s.clients() == 0);
  CHECK(ReadAll(c) == "");
}

TEST_CASE("ControlServer: a request longer than the limit is refused and closed") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, std::string(kMaxRequestBytes, 'x'));
  CHECK(Pass(&s, t0).empty());
  CHECK(s.counters().refused_oversize == 1);
  CHECK(s.clients() == 0);
  CHECK(ReadAll(c) == "error\nrequest longer than 4096 bytes\n");
}

TEST_CASE("ControlServer: the longest request allowed is taken") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, std::string(kMaxRequestBytes - 1, 'x') + "\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 1);
  CHECK(r[0].line.size() == kMaxRequestBytes - 1);
  close(c);
}

TEST_CASE("ControlServer: a client that trickles its request is closed at the request deadline") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  for (int i = 0; i < 4; ++i) {  // a byte every 0.5s never makes a line
    Send(c, "s");
    CHECK(Pass(&s, t0 + milliseconds(500 * i)).empty());
    CHECK(s.clients() == 1);
  }
  CHECK(s.NextDeadline() == t0 + std::chrono::seconds(2));
  Send(c, "t");
  CHECK(Pass(&s, t0 + milliseconds(2000)).empty());
  CHECK(s.clients() == 0);
  CHECK(s.counters().request_timeouts == 1);
  CHECK(ReadAll(c) == "error\nrequest not complete within 2s\n");
}

TEST_CASE("ControlServer: a request waiting in the kernel while the loop was busy is served, not timed out") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, "status\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0 + std::chrono::seconds(10));
  REQUIRE(r.size() == 1);
  CHECK(s.counters().request_timeouts == 0);
  close(c);
}

TEST_CASE("ControlServer: Stall moves the request deadline on by the time the loop was busy") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, "st");
  CHECK(Pass(&s, t0).empty());
  s.Stall(milliseconds(900));
  CHECK(s.NextDeadline() == t0 + milliseconds(2900));
  CHECK(Pass(&s, t0 + milliseconds(2500)).empty());
  CHECK(s.clients() == 1);
  CHECK(Pass(&s, t0 + milliseconds(2900)).empty());
  CHECK(s.clients() == 0);
  close(c);
}

TEST_CASE("ControlServer: a command not answered in time gets an error, and a late answer is ignored") {
  ControlServer s;
  ControlServer::Limits l;
  l.answer_time = std::chrono::seconds(7);
  s.SetLimits(l);
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, "recover db1\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 1);
  // Answer deadlines count rounds: a stall does not move them.
  s.Stall(std::chrono::seconds(3));
  CHECK(s.NextDeadline() == t0 + std::chrono::seconds(7));
  Pass(&s, t0 + std::chrono::seconds(7));
  CHECK(s.counters().answer_timeouts == 1);
  s.Reply(r[0].client, true, "late\n", t0 + std::chrono::seconds(8));
  CHECK(ReadAll(c) == "error\nno answer from mppstate within 7s; the command may still take effect: see the log\n");
}

TEST_CASE("ControlServer: a client that leaves while its command waits is closed at once") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, "offline db2\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 1);
  close(c);
  Pass(&s, t0);
  CHECK(s.clients() == 0);
  s.Reply(r[0].client, true, "done\n", t0);  // nobody to tell: ignored
  CHECK(s.clients() == 0);
}

TEST_CASE("ControlServer: an unread reply is dropped at its deadline while other clients are served") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int slow = Connect(&s, t0);
  Send(slow, "status-json\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 1);
  const std::string big(4 << 20, 'j');  // far more than a socket buffer holds
  s.Reply(r[0].client, true, big, t0);
  CHECK(s.clients() == 1);

  // Others come and go while the slow one sits on its reply.
  for (int i = 1; i <= 3; ++i) {
    Clock::time_point t = t0 + milliseconds(1000 * i);
    int quick = Connect(&s, t);
    Send(quick, "status\n");
    std::vector<ControlServer::Request> q = Pass(&s, t);
    REQUIRE(q.size() == 1);
    s.Reply(q[0].client, true, "table " + std::to_string(i) + "\n", t);
    CHECK(ReadAll(quick) == "ok\ntable " + std::to_string(i) + "\n");
    Pass(&s, t);
  }
  CHECK(s.clients() == 1);
  CHECK(s.NextDeadline() == t0 + std::chrono::seconds(5));
  Pass(&s, t0 + milliseconds(4999));
  CHECK(s.clients() == 1);
  Pass(&s, t0 + std::chrono::seconds(5));
  CHECK(s.clients() == 0);
  CHECK(s.counters().replies_dropped == 1);
  std::string got = ReadAll(slow);
  CHECK(got.compare(0, 3, "ok\n") == 0);
  CHECK(got.size() < big.size());  // cut off, not waited for
}

TEST_CASE("ControlServer: a reply read as it comes is sent whole, whatever its size") {
  ControlServer s;
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  Send(c, "status-json\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 1);
  const std::string big(2 << 20, 'j');
  s.Reply(r[0].client, true, big, t0);
  std::string got;
  for (int i = 0; i < 10000 && s.clients() > 0; ++i) {
    got += ReadReady(c);
    Pass(&s, t0 + milliseconds(1));
  }
  got += ReadAll(c);
  CHECK(got.size() == big.size() + 3);
  CHECK(got == "ok\n" + big);
  CHECK(s.counters().replies_dropped == 0);
}

TEST_CASE("ControlServer: beyond the client cap a connection is refused at once, the others are served") {
  char dir[] = "/tmp/mpp-ctl-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/mppstate.sock";
  ControlServer s;
  ControlServer::Limits l;
  l.max_clients = 2;
  s.SetLimits(l);
  std::string err;
  REQUIRE(s.Listen(path, &err));

  auto connect_to = [&path] {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path.c_str(), path.size());
    REQUIRE(connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
  };
  Clock::time_point t0 = Clock::now();
  int a = connect_to(), b = connect_to(), c = connect_to();
  Pass(&s, t0);
  CHECK(s.clients() == 2);
  CHECK(s.counters().refused_busy == 1);
  CHECK(ReadAll(c) == "error\nbusy: 2 clients already connected\n");

  Send(a, "status\n");
  Send(b, "status\n");
  std::vector<ControlServer::Request> r = Pass(&s, t0);
  REQUIRE(r.size() == 2);
  for (const ControlServer::Request& q : r) s.Reply(q.client, true, "fine\n", t0);
  CHECK(ReadAll(a) == "ok\nfine\n");
  CHECK(ReadAll(b) == "ok\nfine\n");
  Pass(&s, t0);
  CHECK(s.clients() == 0);

  // A slot freed is a slot taken.
  int d = connect_to();
  Send(d, "status\n");
  CHECK(Pass(&s, t0).empty());  // accepted; read on the next pass
  CHECK(s.clients() == 1);
  CHECK(Pass(&s, t0).size() == 1);
  close(d);
  s.Close();
  CHECK(access(path.c_str(), F_OK) != 0);  // the socket file is gone
  rmdir(dir);
}

TEST_CASE("ControlServer: Listen replaces a stale socket file and keeps connected clients") {
  char dir[] = "/tmp/mpp-ctl-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string first = std::string(dir) + "/a.sock", second = std::string(dir) + "/b.sock";
  ControlServer s;
  std::string err;
  REQUIRE(s.Listen(first, &err));
  Clock::time_point t0 = Clock::now();
  int c = Connect(&s, t0);
  REQUIRE(s.Listen(second, &err));
  CHECK(access(first.c_str(), F_OK) != 0);
  CHECK(access(second.c_str(), F_OK) == 0);
  CHECK(s.clients() == 1);
  Send(c, "status\n");
  CHECK(Pass(&s, t0).size() == 1);
  close(c);
  s.Close();
  // A socket file left behind by a dead process is replaced.
  int dead = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, second.c_str(), second.size());
  REQUIRE(bind(dead, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0);
  close(dead);
  REQUIRE(access(second.c_str(), F_OK) == 0);
  ControlServer again;
  REQUIRE(again.Listen(second, &err));
  again.Close();
  rmdir(dir);
}

}  // namespace
}  // namespace mpp
