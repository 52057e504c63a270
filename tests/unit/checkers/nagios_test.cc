// mpp-check --nagios (checkers/nagios.h): which plugin code a decision of
// mppstate deserves, and the plugin line with its perfdata.
#include <doctest/doctest.h>
#include <string.h>

#include <string>

#include "checkers/message.h"
#include "checkers/nagios.h"
#include "common/state_reader.h"

namespace mpp {
namespace {

Text T(const char* s) { return Text{s, strlen(s)}; }

DestRecord Dest(const char* vs, const char* role, const char* node, bool up, int64_t weight) {
  DestRecord d;
  d.vs = T(vs);
  d.role = T(role);
  d.node = T(node);
  d.up = up;
  d.weight = weight;
  return d;
}

NodeRecord Node(const char* state, const char* status, int64_t lag_s = -1, const char* reason = "-") {
  NodeRecord n;
  n.name = T("db1");
  n.state = T(state);
  n.status = T(status);
  n.lag_s = lag_s;
  n.reason = T(reason);
  return n;
}

std::string Line(NagiosCode code, const DestRecord& d, const NodeRecord& n, int64_t age_ms = 250) {
  char buf[1024];
  Message m(buf, sizeof buf);
  FormatNagiosLine(code, d, n, age_ms, 30000, &m);
  return std::string(m.data(), m.size());
}

TEST_CASE("Nagios: the codes are 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN") {
  CHECK(kNagiosOk == 0);
  CHECK(kNagiosWarning == 1);
  CHECK(kNagiosCritical == 2);
  CHECK(kNagiosUnknown == 3);
  CHECK(std::string(NagiosCodeName(kNagiosOk)) == "OK");
  CHECK(std::string(NagiosCodeName(kNagiosWarning)) == "WARNING");
  CHECK(std::string(NagiosCodeName(kNagiosCritical)) == "CRITICAL");
  CHECK(std::string(NagiosCodeName(kNagiosUnknown)) == "UNKNOWN");
  CHECK(std::string(NagiosCodeName(7)) == "UNKNOWN");
}

TEST_CASE("Nagios: an up node's STATUS sets the code: OK/INFO 0, WARN 1, CRITICAL/FAIL 2") {
  DestRecord up = Dest("writer", "rw", "db1", true, 1);
  CHECK(NagiosSeverity(up, Node("ACTIVE", "OK")) == kNagiosOk);
  CHECK(NagiosSeverity(up, Node("ACTIVE", "INFO")) == kNagiosOk);
  CHECK(NagiosSeverity(up, Node("ACTIVE", "WARN")) == kNagiosWarning);
  CHECK(NagiosSeverity(up, Node("ACTIVE", "CRITICAL")) == kNagiosCritical);
  CHECK(NagiosSeverity(up, Node("ACTIVE", "FAIL")) == kNagiosCritical);
}

TEST_CASE("Nagios: STATE OFFLINE is WARNING, FAIL is CRITICAL, UNKNOWN is UNKNOWN") {
  DestRecord down = Dest("reader", "ro", "db1", false, 0);
  CHECK(NagiosSeverity(down, Node("OFFLINE", "OK")) == kNagiosWarning);
  CHECK(NagiosSeverity(down, Node("FAIL", "OK")) == kNagiosCritical);
  CHECK(NagiosSeverity(down, Node("UNKNOWN", "OK")) == kNagiosUnknown);
}

TEST_CASE("Nagios: down by design is OK, down against its role is not") {
  // A standby behind the writer's virtual server is down by design.
  CHECK(NagiosSeverity(Dest("writer", "rw", "db2", false, 0), Node("STANDBY", "OK")) == kNagiosOk);
  // The ACTIVE left out of the readers (standbys serve them) is fine too.
  CHECK(NagiosSeverity(Dest("reader", "ro", "db1", false, 0), Node("ACTIVE", "OK")) == kNagiosOk);
  // The writer down: CRITICAL; a standby not serving reads: WARNING.
  CHECK(NagiosSeverity(Dest("writer", "rw", "db1", false, 0), Node("ACTIVE", "OK")) == kNagiosCritical);
  CHECK(NagiosSeverity(Dest("reader", "ro", "db2", false, 0), Node("STANDBY", "OK")) == kNagiosWarning);
}

TEST_CASE("Nagios: the worst wins, and UNKNOWN ranks between OK and WARNING") {
  DestRecord up = Dest("reader", "ro", "db1", true, 1);
  CHECK(NagiosSeverity(up, Node("UNKNOWN", "WARN")) == kNagiosWarning);
  CHECK(NagiosSeverity(up, Node("UNKNOWN", "INFO")) == kNagiosUnknown);
  CHECK(NagiosSeverity(up, Node("OFFLINE", "CRITICAL")) == kNagiosCritical);
  CHECK(NagiosSeverity(Dest("reader", "ro", "db2", false, 0), Node("STANDBY", "FAIL")) == kNagiosCritical);
  // A word the reader would have refused never reads as healthy.
  CHECK(NagiosSeverity(up, Node("ACTIVE", "GOOD")) == kNagiosCritical);
  CHECK(NagiosSeverity(up, Node("BOSS", "OK")) == kNagiosUnknown);
}

TEST_CASE("Nagios: the line of an up node with its perfdata") {
  CHECK(Line(kNagiosOk, Dest("writer", "rw", "db1", true, 7), Node("ACTIVE", "OK"), 1500) ==
        "MPP OK - writer/db1 up, weight 7: ACTIVE/OK, lag - | up=1 weight=7 state=1;;;0;4 "
        "status=0;;;0;4 lag=U age=1.500s;;30.000;0");
}

TEST_CASE("Nagios: the line of a down node gives its lag, its reason and every STATE and STATUS number") {
  CHECK(Line(kNagiosWarning, Dest("reader", "ro", "db3", false, 0),
             Node("STANDBY", "WARN", 45, "lag 45s > max_lag 10s")) ==
        "MPP WARNING - reader/db3 down: STANDBY/WARN, lag 45s (lag 45s > max_lag 10s) | up=0 weight=0 "
        "state=2;;;0;4 status=2;;;0;4 lag=45s;;;0 age=0.250s;;30.000;0");
  const char* states[] = {"UNKNOWN", "ACTIVE", "STANDBY", "FAIL", "OFFLINE"};
  const char* statuses[] = {"OK", "INFO", "WARN", "CRITICAL", "FAIL"};
  for (int i = 0; i < 5; ++i) {
    std::string line = Line(kNagiosOk, Dest("w", "rw", "n", true, 1), Node(states[i], statuses[i], 0));
    CAPTURE(line);
    CHECK(line.find(" state=" + std::to_string(i) + ";;;0;4 status=" + std::to_string(i) + ";;;0;4 lag=0s;;;0 ") !=
          std::string::npos);
  }
}

TEST_CASE("Nagios: a reason stays on one line and is cut after 200 bytes; a file from the future has a negative age") {
  std::string long_reason = "x\ty\n" + std::string(300, 'r');
  std::string line = Line(kNagiosCritical, Dest("writer", "rw", "db1", false, 0),
                          Node("FAIL", "FAIL", -1, long_reason.c_str()), -1250);
  CHECK(line == "MPP CRITICAL - writer/db1 down: FAIL/FAIL, lag - (x?y?" + std::string(196, 'r') +
                    "...) | up=0 weight=0 state=3;;;0;4 status=4;;;0;4 lag=U age=-1.250s;;30.000;0");
}

}  // namespace
}  // namespace mpp
