// mppctl: operates a running mppstate through its control socket, and
// prints keepalived and ldirectord configuration generated from mppstate.ini.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/control_protocol.h"
#include "common/paths.h"
#include "config/config.h"
#include "keepalived/conf_gen.h"

namespace {

const char kUsage[] =
    "usage: mppctl [-c FILE] COMMAND\n"
    "  status [--json]            pools, nodes and what each virtual server has up\n"
    "  metrics                    the metrics page, in the Prometheus text format\n"
    "  recover NODE               let a demoted (FAIL) node become STANDBY again\n"
    "  offline NODE               take a node out for maintenance (never the ACTIVE)\n"
    "  online NODE                bring it back\n"
    "  switchover POOL [NODE]     planned move of the writer: fence, wait for catch-up, promote\n"
    "  rejoin NODE                attach a FAIL node to the ACTIVE as a replica, if it has not\n"
    "                             diverged (manage_replication)\n"
    "  rewind NODE                undo what a diverged ex-writer has that the ACTIVE lacks, if\n"
    "                             semi-sync proves no client was told it was committed\n"
    "  keepalived-conf [--misc]   keepalived virtual_server blocks (FILE_CHECK; --misc: MISC_CHECK)\n"
    "  ldirectord-conf [--perl]   ldirectord configuration (external; --perl: external-perl)\n"
    "  -c FILE                    configuration (default /etc/mpp/mppstate.ini)\n"
    "  --version                  print the version\n"
    "exit: 0 done, 1 refused, 2 usage or configuration error, 3 mppstate not reachable\n";

int Usage() {
  fputs(kUsage, stderr);
  return 2;
}

// Sends one request line, prints the answer's body: on stdout after "ok",
// on stderr after "error".
int Request(const std::string& socket_path, const std::vector<std::string>& words) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (fd < 0 || socket_path.size() >= sizeof addr.sun_path) {
    fprintf(stderr, "mppctl: %s: bad socket path\n", socket_path.c_str());
    return 3;
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    fprintf(stderr, "mppctl: cannot reach mppstate at %s: %s\n", socket_path.c_str(), strerror(errno));
    return 3;
  }
  std::string line = mpp::FormatRequest(words);
  if (line.size() > mpp::kMaxRequestBytes) {
    fprintf(stderr, "mppctl: request longer than %zu bytes\n", mpp::kMaxRequestBytes);
    return 2;
  }
  // A daemon that refuses at once ("busy") may have closed before the
  // request is written: its answer is still there to read.
  bool sent = send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  int send_errno = errno;
  // The daemon closes the connection after its answer (a refusal may end in
  // ECONNRESET once the answer is read).
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) answer.append(buf, static_cast<size_t>(n));
  close(fd);
  bool ok;
  std::string body;
  if (!mpp::ParseReply(answer, &ok, &body)) {
    if (!sent)
      fprintf(stderr, "mppctl: %s: write failed: %s\n", socket_path.c_str(), strerror(send_errno));
    else
      fprintf(stderr, "mppctl: mppstate closed the connection without an answer\n");
    return 3;
  }
  fputs(body.c_str(), ok ? stdout : stderr);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/mpp/mppstate.ini";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--version") {
      printf("mppctl %s\n", MPP_VERSION);
      return 0;
    } else if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) return Usage();
  mpp::Config cfg;
  std::vector<std::string> errors;
  if (!mpp::ReadConfigFile(config_path, &cfg, &errors)) {
    for (const std::string& e : errors) fprintf(stderr, "%s\n", e.c_str());
    return 2;
  }
  std::string socket_path = mpp::ControlSocketPath(cfg.state_dir);
  const std::string& cmd = args[0];
  if (cmd == "status") {
    if (args.size() == 1) return Request(socket_path, {mpp::kRequestStatus});
    if (args.size() == 2 && args[1] == "--json") return Request(socket_path, {mpp::kRequestStatusJson});
    return Usage();
  }
  if (cmd == "metrics" && args.size() == 1) return Request(socket_path, {mpp::kRequestMetrics});
  const char* node_request = cmd == "recover"   ? mpp::kRequestRecover
                             : cmd == "offline" ? mpp::kRequestOffline
                             : cmd == "online"  ? mpp::kRequestOnline
                             : cmd == "rejoin"  ? mpp::kRequestRejoin
                             : cmd == "rewind"  ? mpp::kRequestRewind
                                                : nullptr;
  if (node_request != nullptr && args.size() == 2) {
    if (cfg.FindNode(args[1]) < 0) {
      fprintf(stderr, "mppctl: unknown node '%s' (not in %s)\n", args[1].c_str(), config_path.c_str());
      return 1;
    }
    return Request(socket_path, {node_request, args[1]});
  }
  if (cmd == "switchover" && (args.size() == 2 || args.size() == 3)) {
    if (cfg.FindPool(args[1]) < 0) {
      fprintf(stderr, "mppctl: unknown pool '%s' (not in %s)\n", args[1].c_str(), config_path.c_str());
      return 1;
    }
    std::vector<std::string> words = {mpp::kRequestSwitchover, args[1]};
    if (args.size() == 3) words.push_back(args[2]);
    return Request(socket_path, words);
  }
  if (cmd == "keepalived-conf" && (args.size() == 1 || (args.size() == 2 && args[1] == "--misc"))) {
    mpp::KeepalivedConfOptions opt;
    opt.misc = args.size() == 2;
    fputs(mpp::KeepalivedConf(cfg, opt).c_str(), stdout);
    return 0;
  }
  if (cmd == "ldirectord-conf" && (args.size() == 1 || (args.size() == 2 && args[1] == "--perl"))) {
    mpp::LdirectordConfOptions opt;
    opt.perl = args.size() == 2;
    fputs(mpp::LdirectordConf(cfg, opt).c_str(), stdout);
    return 0;
  }
  return Usage();
}
