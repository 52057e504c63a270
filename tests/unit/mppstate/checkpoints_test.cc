// Checkpoints: an accept or a refusal is an answer; silence is not.
#include "mppstate/checkpoints.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace mpp {
namespace {

// A loopback listener; returns its fd and sets *addr.
int Listen(int backlog, Address* addr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<struct sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(listen(fd, backlog) == 0);
  socklen_t len = sizeof sin;
  getsockname(fd, reinterpret_cast<struct sockaddr*>(&sin), &len);
  const char* why;
  REQUIRE(ParseAddressPair("127.0.0.1", std::to_string(ntohs(sin.sin_port)).c_str(), addr, &why));
  return fd;
}

TEST_CASE("Checkpoints: a listening or a refusing checkpoint answers") {
  Address open_addr;
  int fd = Listen(8, &open_addr);
  CHECK(ProbeCheckpoints({open_addr}, 500) == 1);
  close(fd);
  // The port is closed now: the refusal is an answer too.
  CHECK(ProbeCheckpoints({open_addr}, 500) == 1);
}

TEST_CASE("Checkpoints: silence from every checkpoint is no answer") {
  Address addr;
  int fd = Listen(0, &addr);
  // Fill the accept queue: the kernel then drops further SYNs silently.
  std::vector<int> clients;
  for (int i = 0; i < 4; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = {};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(addr.port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(c, reinterpret_cast<struct sockaddr*>(&sin), sizeof sin);
    clients.push_back(c);
  }
  usleep(100000);
  CHECK(ProbeCheckpoints({addr}, 300) == 0);
  CHECK(ProbeCheckpoints({}, 300) == 0);
  for (int c : clients) close(c);
  close(fd);
}

}  // namespace
}  // namespace mpp
