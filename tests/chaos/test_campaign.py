"""The randomized fault campaign (README.md here): faults nobody scripted,
on three real MariaDB servers that mppstate manages with semi-sync, rewind
and automatic rejoin, while a client without SUPER writes through whichever
node the state file names ACTIVE. It checks the invariants of
doc/replication.md, not a script:

  - no acknowledged commit is missing on the final writer;
  - never two servers writable (@@read_only = 0) for longer than one
    interval (plus the 50 ms the samples are apart);
  - never two rw dests up in the state file;
  - after each burst of faults every node is ACTIVE or STANDBY again
    within 60 s, with the client's commits going through;
  - mppstate never exits unless the campaign stops it, and exits 0 when
    it does (SIGTERM).
"""

import copy
import random

from campaign import Campaign
from observers import ReadOnlyWatch, StateWatch
from replication_lib import Writer, managed

INTERVAL_S = 0.25
SAMPLE_S = 0.05

CONFIG = {"global": {"connect_timeout": "1s"},
          "pool main": {"semi_sync": "yes", "rewind": "yes", "election_timeout": "1s"}}

# As doc/replication.md recommends for every node: a server that crashed
# while commits waited for an acknowledgement truncates them at its start.
SERVER_OPTIONS = ["rpl-semi-sync-slave-enabled = ON", "init-rpl-role = SLAVE",
                  "rpl-semi-sync-master-wait-point = AFTER_SYNC"]


def start(cluster, mppstate):
    c = cluster(server_options=SERVER_OPTIONS)
    extra = managed(c, rejoin="auto", interval="%dms" % (INTERVAL_S * 1000), extra=copy.deepcopy(CONFIG))
    # What a rewind needs beyond fencing and re-pointing (mppstate/node_rewind.h).
    c.sql(1, "GRANT BINLOG MONITOR, REPLICATION SLAVE, BINLOG REPLAY, BINLOG ADMIN ON *.* "
             "TO 'mppadmin'@'127.0.0.1'")
    c.wait_replicated()
    return c, mppstate(c, extra)


def test_a_random_fault_campaign_keeps_every_invariant(cluster, mppstate, log, note, seed, minutes):
    replay = "replay: tests/chaos/run BUILD -- --seed %d --minutes %g" % (seed, minutes)
    print("chaos seed %d" % seed, flush=True)
    log("seed %d" % seed)
    c, m = start(cluster, mppstate)
    with StateWatch(m) as watch, ReadOnlyWatch(c, period=SAMPLE_S) as ro, Writer(c, m.state_path) as writer:
        campaign = Campaign(c, m, watch, random.Random(seed), log)
        active = campaign.go(writer, minutes)
    failovers = sum(1 for _, a in watch.actives if a) - 1
    faults = sum(campaign.counts.values())
    kinds = ", ".join("%s %d" % kv for kv in campaign.counts.items())
    overlaps = ro.overlaps()
    longest = max((seconds for _, seconds, _ in overlaps), default=0.0)
    note("seed %d, %g min: %d faults (%s), %d failovers, %d rewinds, %d switchovers refused; "
         "%d acknowledged commits; heals %.1f s at most; two servers writable %d times, %.2f s at most"
         % (seed, minutes, faults, kinds, failovers, m.log().count(": rewound "),
            campaign.switchovers_refused, len(writer.acked), max(campaign.heal_seconds, default=0.0),
            len(overlaps), longest))

    problems = list(campaign.violations)
    problems += ["mppstate exited (%s) at %.1fs" % (code, t - campaign.t0) for t, code in watch.deaths]
    problems += ["two rw dests up at %.1fs: %s" % (t - campaign.t0, up) for t, up in watch.two_writers[:5]]
    problems += ["%s writable together for %.2fs at %.1fs" % (" and ".join(names), seconds, t - campaign.t0)
                 for t, seconds, names in overlaps if seconds > INTERVAL_S + SAMPLE_S]
    if active is not None:
        have = {r["v"] for r in c.sql_dicts(active, "SELECT v FROM mpptest.t")}
        lost = [v for v in writer.acked if v not in have]
        if lost:
            problems.append("%d acknowledged commits missing on db%d: %s" % (len(lost), active, lost[:10]))
    assert problems == [], "%s\n%s" % ("\n".join(problems), replay)
