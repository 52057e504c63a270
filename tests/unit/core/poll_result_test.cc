// What a poll says of a node (core/poll_result.h).
#include "core/poll_result.h"

#include <doctest/doctest.h>

namespace mpp {
namespace {

TEST_CASE("UnloggedNote: a node that logs all it applies has nothing to say") {
  PollResult p;
  CHECK(UnloggedNote(p) == "");
  p.log_slave_updates = 1;
  CHECK(UnloggedNote(p) == "");
}

TEST_CASE("UnloggedNote: log_slave_updates OFF and replication filters are named for what they are") {
  PollResult p;
  p.log_slave_updates = 0;
  CHECK(UnloggedNote(p) == "log_slave_updates is OFF: positions compared on gtid_slave_pos");
  p.log_slave_updates = 1;
  p.repl.filters = "replicate-ignore-db=scratch";
  CHECK(UnloggedNote(p) ==
        "replication filters (replicate-ignore-db=scratch): positions compared on gtid_slave_pos");
  p.log_slave_updates = 0;
  CHECK(UnloggedNote(p) == "log_slave_updates is OFF; replication filters (replicate-ignore-db=scratch): "
                           "positions compared on gtid_slave_pos");
}

}  // namespace
}  // namespace mpp
