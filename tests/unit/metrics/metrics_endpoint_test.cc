// MetricsEndpoint over real sockets on loopback: what it answers, and that
// no client (trickling, never reading, too many) holds it up for long or
// keeps the others from being served.
#include "metrics/metrics_endpoint.h"

#include <dirent.h>
#include <doctest/doctest.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/address_socket.h"

namespace mpp {
namespace {

using Clock = MetricsEndpoint::Clock;
using std::chrono::milliseconds;

Address Loopback4(uint16_t port = 0) {
  Address a;
  a.kind = Address::kInet4;
  a.ip[0] = 127;
  a.ip[3] = 1;
  a.port = port;
  return a;
}

Address Loopback6(uint16_t port = 0) {
  Address a;
  a.kind = Address::kInet6;
  a.ip[15] = 1;
  a.port = port;
  return a;
}

std::string Text(const Address& a) {
  char buf[kAddressTextMax];
  return FormatAddress(a, buf);
}

// True when this machine has ::1 to bind to.
bool HaveIpv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct sockaddr_storage ss;
  socklen_t len = ToSockaddr(Loopback6(), &ss);
  bool ok = bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) == 0;
  close(fd);
  return ok;
}

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

// A plain blocking client (timeouts of 2 s, so a test fails instead of
// hanging), read without waiting while the endpoint's loop runs.
class Client {
 public:
  // rcvbuf > 0 shrinks the receive buffer, for a client that never reads.
  explicit Client(const Address& to, int rcvbuf = 0) {
    struct sockaddr_storage ss;
    socklen_t len = ToSockaddr(to, &ss);
    fd_ = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    struct timeval tv = {2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) REQUIRE(setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    connected_ = connect(fd_, reinterpret_cast<struct sockaddr*>(&ss), len) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }

  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // Reads what has arrived, without waiting. True once the server has
  // closed the connection (EOF or a reset).
  bool Pump() {
    char buf[65536];
    while (!ended_) {
      ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        ended_ = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      } else if (errno != EINTR) {
        ended_ = true;
        end_errno_ = errno;
      }
    }
    if (ended_ && ended_at_ == Clock::time_point()) ended_at_ = Clock::now();
    return ended_;
  }

  void ShutdownWrite() { REQUIRE(shutdown(fd_, SHUT_WR) == 0); }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  const std::string& received() const { return received_; }
  bool ended() const { return ended_; }
  int end_errno() const { return end_errno_; }  // 0: EOF
  Clock::time_point ended_at() const { return ended_at_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
  std::string received_;
  bool ended_ = false;
  int end_errno_ = 0;
  Clock::time_point ended_at_;
};

struct Response {
  int code = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

Response Parse(const std::string& raw) {
  Response r;
  size_t end = raw.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  r.body = raw.substr(end + 4);
  std::string head = raw.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string status = head.substr(0, eol);
  REQUIRE(status.compare(0, 9, "HTTP/1.1 ") == 0);
  r.code = atoi(status.c_str() + 9);
  for (size_t at = eol + 2; at < head.size(); at = eol + 2) {
    eol = head.find("\r\n", at);
    std::string line = head.substr(at, eol - at);
    size_t colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    size_t value = line.find_first_not_of(' ', colon + 1);
    r.headers[name] = value == std::string::npos ? "" : line.substr(value);
  }
  return r;
}

// The owner's loop: wait on fd() no later than NextWake() (and at most
// step, so done() is looked at often), then Process(). Runs until done()
// or limit; returns whether done() came true. *passes counts the rounds.
template <typename Done>
bool Drive(MetricsEndpoint* ep, Done done, milliseconds limit, int* passes = nullptr,
           milliseconds step = milliseconds(10)) {
  Clock::time_point give_up = Clock::now() + limit;
  while (!done()) {
    Clock::time_point now = Clock::now();
    if (now >= give_up) return false;
    Clock::time_point wake = std::min({ep->NextWake(), give_up, now + step});
    auto wait = std::chrono::ceil<milliseconds>(wake - now).count();
    struct pollfd p = {ep->fd(), POLLIN, 0};
    REQUIRE(poll(&p, 1, static_cast<int>(std::max<decltype(wait)>(wait, 0))) >= 0);
    ep->Process(Clock::now());
    if (passes != nullptr) ++*passes;
  }
  return true;
}

// Sends request and runs the loop until the server has closed the
// connection.
Response Exchange(MetricsEndpoint* ep, const std::string& request, Address to = Address()) {
  Client c(to.kind == Address::kNone ? ep->address() : to);
  REQUIRE(c.connected());
  REQUIRE(c.Send(request));
  REQUIRE(Drive(ep, [&] { return c.Pump(); }, milliseconds(3000)));
  return Parse(c.received());
}

std::string Get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n"; }

// An endpoint listening on 127.0.0.1 (a free port), rendering page (which
// a test may change) and counting the renders.
struct Served {
  explicit Served(MetricsEndpoint::Limits limits = MetricsEndpoint::Limits())
      : ep([this](const std::string& line) { log.push_back(line); }) {
    ep.SetLimits(limits);
    std::string err;
    REQUIRE(ep.Listen(
        Loopback4(),
        [this] {
          ++renders;
          return page;
        },
        &err));
    REQUIRE(ep.listening());
    REQUIRE(ep.address().port != 0);
  }

  std::string page = "# TYPE up gauge\nup 1\n";
  int renders = 0;
  std::vector<std::string> log;
  MetricsEndpoint ep;
};

MetricsEndpoint::Limits Quick() {
  MetricsEndpoint::Limits l;
  l.exchange_time = milliseconds(300);
  return l;
}

TEST_CASE("MetricsEndpoint: a GET of /metrics answers 200 with the rendered page") {
  Served s;
  CHECK(s.ep.NextWake() == Clock::time_point::max());  // nothing to time while idle
  Client c(s.ep.address());
  REQUIRE(c.connected());
  REQUIRE(c.Send(Get("/metrics")));
  REQUIRE(Drive(&s.ep, [&] { return c.Pump(); }, milliseconds(3000)));
  CHECK(c.end_errno() == 0);  // closed by the server after the answer
  Response r = Parse(c.received());
  CHECK(r.code == 200);
  CHECK(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.headers["connection"] == "close");
  CHECK(r.headers["content-length"] == std::to_string(s.page.size()));
  CHECK(r.body == s.page);
  CHECK(s.renders == 1);
  CHECK(s.ep.counters().served == 1);
  CHECK(s.ep.counters().not_found == 0);
  REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 0; }, milliseconds(1000)));
  CHECK(s.log.empty());
}

TEST_CASE("MetricsEndpoint: a client that ends its side after the request is still answered") {
  Served s;
  Client c(s.ep.address());
  REQUIRE(c.connected());
  REQUIRE(c.Send(Get("/metrics")));
  c.ShutdownWrite();
  REQUIRE(Drive(&s.ep, [&] { return c.Pump(); }, milliseconds(3000)));
  CHECK(Parse(c.received()).body == s.page);
}

TEST_CASE("MetricsEndpoint: the page is rendered anew for each scrape") {
  Served s;
  CHECK(Exchange(&s.ep, Get("/metrics")).body == s.page);
  s.page = "up 0\n";
  CHECK(Exchange(&s.ep, Get("/metrics?x=1")).body == "up 0\n");  // the query is not the path
  CHECK(s.renders == 2);
  CHECK(s.ep.counters().served == 2);
}

TEST_CASE("MetricsEndpoint: a HEAD of /metrics answers 200 without a body") {
  Served s;
  Response r = Exchange(&s.ep, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  CHECK(r.code == 200);
  CHECK(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.headers["content-length"] == std::to_string(s.page.size()));
  CHECK(r.body == "");
  CHECK(s.ep.counters().served == 1);
}

TEST_CASE("MetricsEndpoint: any other path or method answers 404") {
  Served s;
  const char* requests[] = {
      "GET /other HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics/ HTTP/1.0\r\n\r\n",
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=1",
      "PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
      // Answered without waiting for a body that does not come.
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc",
      "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const char* request : requests) {
    CAPTURE(request);
    Response r = Exchange(&s.ep, request);
    CHECK(r.code == 404);
    CHECK(r.body == "not found\n");
    CHECK(r.headers["content-type"] == "text/plain");
    CHECK(r.headers["connection"] == "close");
  }
  CHECK(s.ep.counters().not_found == sizeof requests / sizeof requests[0]);
  CHECK(s.ep.counters().served == 0);
  CHECK(s.renders == 0);
  CHECK(s.ep.counters().cut_off == 0);
}

TEST_CASE("MetricsEndpoint: a client that trickles its request is cut off at exchange_time, "
          "and others are served meanwhile") {
  Served s(Quick());
  Client slow(s.ep.address());
  REQUIRE(slow.connected());
  Clock::time_point t0 = Clock::now();
  const std::string request = Get("/metrics");  // never sent whole: 1 byte / 50 ms
  size_t sent = 0;
  Clock::time_point next_byte = t0;
  std::unique_ptr<Client> other;
  int passes = 0;
  REQUIRE(Drive(
      &s.ep,
      [&] {
        Clock::time_point now = Clock::now();
        if (!slow.Pump() && now >= next_byte && sent < request.size() - 1) {
          slow.Send(request.substr(sent++, 1));
          next_byte += milliseconds(50);
        }
        if (other == nullptr && now >= t0 + milliseconds(100)) {
          other.reset(new Client(s.ep.address()));
          REQUIRE(other->connected());
          REQUIRE(other->Send(Get("/metrics")));
        }
        if (other != nullptr) other->Pump();
        return slow.ended() && other != nullptr && other->ended();
      },
      milliseconds(3000), &passes));
  // Cut off at its deadline, not before and not much after.
  auto slow_for = std::chrono::duration_cast<milliseconds>(slow.ended_at() - t0).count();
  CHECK(slow_for >= 290);
  CHECK(slow_for < 800);
  CHECK((slow.end_errno() == 0 || slow.end_errno() == ECONNRESET));
  CHECK(slow.received() == "");
  CHECK(sent < request.size() - 1);
  // The other was answered while the slow one still held its connection.
  CHECK(Parse(other->received()).body == s.page);
  CHECK(other->ended_at() < slow.ended_at());
  CHECK(s.ep.counters().cut_off == 1);
  CHECK(s.ep.counters().served == 1);
  REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 0; }, milliseconds(1000)));
  // The loop slept between events: about one round per 10 ms step.
  CHECK(passes < 150);
  CHECK(s.log.empty());  // the cut is counted, not logged as an error
}

TEST_CASE("MetricsEndpoint: a client that never reads a large page is cut off at exchange_time, "
          "and others are served meanwhile") {
  Served s(Quick());
  s.page = std::string(8 << 20, 'x');
  Client stuck(s.ep.address(), 4096);
  REQUIRE(stuck.connected());
  REQUIRE(stuck.Send(Get("/metrics")));
  Clock::time_point t0 = Clock::now();
  REQUIRE(Drive(&s.ep, [&] { return s.ep.counters().served == 1; }, milliseconds(1000)));
  s.page = "up 1\n";
  Response r = Exchange(&s.ep, Get("/metrics"));
  CHECK(r.body == "up 1\n");
  CHECK(s.ep.connections() == 1);  // the stuck one, still within its time
  CHECK(s.ep.counters().cut_off == 0);
  REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 0; }, milliseconds(2000)));
  auto stuck_for = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  CHECK(stuck_for >= 290);
  CHECK(stuck_for < 800);
  CHECK(s.ep.counters().cut_off == 1);
  // What was in flight arrives, then the reset: never the whole page.
  while (!stuck.Pump()) {
    struct pollfd p = {-1, 0, 0};
    poll(&p, 0, 5);
    REQUIRE(Clock::now() - t0 < std::chrono::seconds(5));
  }
  CHECK(stuck.end_errno() == ECONNRESET);
  CHECK(stuck.received().size() < (8u << 20));
  CHECK(s.log.empty());
  CHECK(Exchange(&s.ep, Get("/metrics")).code == 200);
}

TEST_CASE("MetricsEndpoint: connections beyond max_clients are closed at accept") {
  MetricsEndpoint::Limits limits;
  limits.max_clients = 2;
  Served s(limits);
  Client a(s.ep.address()), b(s.ep.address());
  REQUIRE((a.connected() && b.connected()));
  REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 2; }, milliseconds(1000)));
  Client c(s.ep.address()), d(s.ep.address());
  REQUIRE((c.connected() && d.connected()));
  c.Send(Get("/metrics"));
  d.Send(Get("/metrics"));
  REQUIRE(Drive(&s.ep, [&] { return c.Pump() && d.Pump(); }, milliseconds(1000)));
  CHECK(c.received() == "");
  CHECK(d.received() == "");
  CHECK(s.ep.connections() == 2);
  CHECK(s.renders == 0);
  // The two holding the places go; a scrape is served again.
  a.Close();
  b.Close();
  REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 0; }, milliseconds(1000)));
  CHECK(Exchange(&s.ep, Get("/metrics")).code == 200);
  CHECK(s.ep.counters().cut_off == 0);
}

TEST_CASE("MetricsEndpoint: a port already taken cannot be listened on, and the earlier listener stays") {
  Served taken;
  Served s;
  Address before = s.ep.address();
  std::string err;
  CHECK_FALSE(s.ep.Listen(taken.ep.address(), [] { return std::string("other\n"); }, &err));
  CHECK(err == "metrics " + Text(taken.ep.address()) + ": cannot listen: Address already in use");
  CHECK(s.ep.listening());
  CHECK(s.ep.address() == before);
  CHECK(Exchange(&s.ep, Get("/metrics")).body == s.page);

  // A free address replaces the listener: the old port is closed.
  REQUIRE(s.ep.Listen(Loopback4(), [] { return std::string("new\n"); }, &err));
  CHECK(s.ep.address() != before);
  CHECK(Exchange(&s.ep, Get("/metrics")).body == "new\n");
  Client old(before);
  CHECK_FALSE(old.connected());
  CHECK(old.connect_errno() == ECONNREFUSED);

  CHECK_FALSE(s.ep.Listen(Address(), [] { return std::string(); }, &err));
  CHECK(err.find("cannot listen: ") != std::string::npos);
  CHECK(s.ep.listening());
}

TEST_CASE("MetricsEndpoint: it listens on IPv6 ::1") {
  if (!HaveIpv6Loopback()) {
    MESSAGE("skipped: this machine has no ::1");
    return;
  }
  MetricsEndpoint ep(nullptr);
  std::string err;
  REQUIRE(ep.Listen(Loopback6(), [] { return std::string("up 1\n"); }, &err));
  CHECK(ep.address().kind == Address::kInet6);
  CHECK(Text(ep.address()) == "[::1]:" + std::to_string(ep.address().port));
  Response r = Exchange(&ep, Get("/metrics"));
  CHECK(r.code == 200);
  CHECK(r.body == "up 1\n");

  MetricsEndpoint second(nullptr);
  CHECK_FALSE(second.Listen(ep.address(), [] { return std::string(); }, &err));
  CHECK(err == "metrics [::1]:" + std::to_string(ep.address().port) + ": cannot listen: Address already in use");
}

TEST_CASE("MetricsEndpoint: after Close nothing listens") {
  Served s;
  Address was = s.ep.address();
  CHECK(s.ep.fd() >= 0);
  Client open(was);
  REQUIRE(open.connected());
  REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 1; }, milliseconds(1000)));
  s.ep.Close();
  CHECK_FALSE(s.ep.listening());
  CHECK(s.ep.fd() == -1);
  CHECK(s.ep.connections() == 0);
  CHECK(s.ep.NextWake() == Clock::time_point::max());
  s.ep.Process(Clock::now());  // harmless
  // The connection open at Close was closed with it.
  while (!open.Pump()) {
    struct pollfd p = {-1, 0, 0};
    poll(&p, 0, 5);
  }
  Client late(was);
  CHECK_FALSE(late.connected());
  CHECK(late.connect_errno() == ECONNREFUSED);
}

TEST_CASE("MetricsEndpoint: it leaves no descriptor open") {
  int before = OpenFds();
  {
    MetricsEndpoint::Limits limits = Quick();
    limits.max_clients = 1;
    Served s(limits);
    std::string err;
    CHECK_FALSE(s.ep.Listen(s.ep.address(), [] { return std::string(); }, &err));  // taken
    Client slow(s.ep.address());
    REQUIRE(slow.connected());
    REQUIRE(Drive(&s.ep, [&] { return s.ep.connections() == 1; }, milliseconds(1000)));
    Client refused(s.ep.address());
    REQUIRE(Drive(&s.ep, [&] { return refused.Pump(); }, milliseconds(1000)));
    REQUIRE(Drive(&s.ep, [&] { return slow.Pump() && s.ep.connections() == 0; }, milliseconds(2000)));
    CHECK(s.ep.counters().cut_off == 1);
    CHECK(Exchange(&s.ep, Get("/metrics")).code == 200);
    CHECK(Exchange(&s.ep, Get("/nothing")).code == 404);
    REQUIRE(s.ep.Listen(Loopback4(), [] { return std::string(); }, &err));  // replaces
  }
  CHECK(OpenFds() == before);
}

}  // namespace
}  // namespace mpp
