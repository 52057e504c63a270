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
    it does (SIGTERM);
  - whenever some node is healthy and eligible, the pool has a writable
    ACTIVE within 10 s;
  - db3, which has promote = no, is never ACTIVE and never writable.
"""

import copy
import os
import random

from campaign import CHECK_QUERY, CHECK_TABLE, Campaign
from observers import LivenessWatch, ReadOnlyWatch, StateWatch
from replication_lib import Writer, managed

INTERVAL_S = 0.25
SAMPLE_S = 0.05
LIVENESS_S = 10.0

# A node that may never be the writer, though it replicates and
# acknowledges like the others (doc/pool-logic.md, "Eligible to replace the
# writer").
NEVER_PROMOTED = "db3"

CONFIG = {"global": {"connect_timeout": "1s", "check_query": CHECK_QUERY},
          "pool main": {"semi_sync": "yes", "rewind": "yes", "election_timeout": "1s"},
          "node " + NEVER_PROMOTED: {"promote": "no"}}

# As doc/replication.md recommends for every node: a server that crashed
# while commits waited for an acknowledgement truncates them at its start.
# A small max_connections, so that filling it takes few sessions.
SERVER_OPTIONS = ["rpl-semi-sync-slave-enabled = ON", "init-rpl-role = SLAVE",
                  "rpl-semi-sync-master-wait-point = AFTER_SYNC", "max-connections = 30"]


def start(cluster, mppstate):
    c = cluster(server_options=SERVER_OPTIONS, extra_port=True)
    extra = managed(c, rejoin="auto", interval="%dms" % (INTERVAL_S * 1000), extra=copy.deepcopy(CONFIG))
    watch = ("watch", "watch-" + os.urandom(6).hex())
    filler = ("filler", "filler-" + os.urandom(6).hex())
    c.sql(1, ";\n".join([
        # What a rewind needs beyond fencing and re-pointing (mppstate/node_rewind.h).
        "GRANT BINLOG MONITOR, REPLICATION SLAVE, BINLOG REPLAY, BINLOG ADMIN ON *.* "
        "TO 'mppadmin'@'127.0.0.1'",
        # The check query's table, before mppstate starts.
        "CREATE TABLE %s (i INT PRIMARY KEY)" % CHECK_TABLE,
        "INSERT INTO %s VALUES (1)" % CHECK_TABLE,
        "GRANT SELECT ON %s TO '%s'@'127.0.0.1'" % (CHECK_TABLE, c.mpp_user),
        # The observers' login, on each server's extra_port.
        "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'" % watch,
        "GRANT SLAVE MONITOR ON *.* TO '%s'@'127.0.0.1'" % watch[0],
        "GRANT SELECT ON mpptest.* TO '%s'@'127.0.0.1'" % watch[0],
        # Sessions that fill max_connections: no CONNECTION ADMIN.
        "CREATE USER '%s'@'localhost' IDENTIFIED BY '%s'" % filler,
    ]))
    c.wait_replicated()
    return c, mppstate(c, extra), watch, filler


def liveness_report(live, campaign, minutes_end):
    """(problems, figures): a line per liveness violation with the faults
    around it; the worst time without a writable ACTIVE by the kind of the
    fault that came last before it ("-": none yet)."""
    t0 = campaign.t0
    problems = []
    for v in live.violations:
        end = next((e for s, e, _ in live.gaps if s == v["gap_start"]), None)
        until = end if end is not None else minutes_end
        lines = ["no writable ACTIVE from %.1fs to %s while %s eligible (since %.1fs); at %.1fs: "
                 "ACTIVE %s; state file %s; servers %s"
                 % (v["gap_start"] - t0, "%.1fs" % (end - t0) if end is not None else "the end",
                    ", ".join(v["eligible"]), v["since"] - t0, v["at"] - t0, v["active"] or "none",
                    v["state"], v["servers"])]
        lines += ["    %7.2fs %s" % (t - t0, text) for t, text in campaign.timeline
                  if v["gap_start"] - 15 <= t <= until + 2]
        problems.append("\n".join(lines))
    worst = {}
    for start, end, _ in live.gaps:
        seconds = (end if end is not None else minutes_end) - start
        kind = "-"
        for t, k in campaign.fault_starts:
            if t <= start:
                kind = k
        worst[kind] = max(worst.get(kind, 0.0), seconds)
    figures = ", ".join("%s %.1f" % kv for kv in sorted(worst.items())) or "none"
    return problems, figures


def test_a_random_fault_campaign_keeps_every_invariant(cluster, mppstate, log, note, seed, minutes):
    replay = "replay: tests/chaos/run BUILD -- --seed %d --minutes %g" % (seed, minutes)
    print("chaos seed %d" % seed, flush=True)
    log("seed %d" % seed)
    c, m, watch_login, filler = start(cluster, mppstate)
    with StateWatch(m) as watch, ReadOnlyWatch(c, watch_login, period=SAMPLE_S) as ro, \
            LivenessWatch(c, m.state_path, watch_login, CHECK_QUERY, bound=LIVENESS_S,
                          never_promoted=(NEVER_PROMOTED,)) as live, \
            Writer(c, m.state_path) as writer:
        campaign = Campaign(c, m, watch, random.Random(seed), log, filler_login=filler)
        try:
            active = campaign.go(writer, minutes)
        finally:
            campaign.cleanup()
    live_problems, live_figures = liveness_report(live, campaign, live.stopped_at)
    failovers = sum(1 for _, a in watch.actives if a) - 1
    faults = sum(campaign.counts.values())
    kinds = ", ".join("%s %d" % kv for kv in campaign.counts.items())
    overlaps = ro.overlaps()
    longest = max((seconds for _, seconds, _ in overlaps), default=0.0)
    note("seed %d, %g min: %d faults (%s), %d failovers, %d rewinds, %d switchovers refused; "
         "%d acknowledged commits; heals %.1f s at most; two servers writable %d times, %.2f s at most; "
         "longest without a writable ACTIVE, by the fault before it: %s s"
         % (seed, minutes, faults, kinds, failovers, m.log().count(": rewound "),
            campaign.switchovers_refused, len(writer.acked), max(campaign.heal_seconds, default=0.0),
            len(overlaps), longest, live_figures))

    problems = list(campaign.violations)
    problems += ["mppstate exited (%s) at %.1fs" % (code, t - campaign.t0) for t, code in watch.deaths]
    problems += ["two rw dests up at %.1fs: %s" % (t - campaign.t0, up) for t, up in watch.two_writers[:5]]
    problems += ["%s writable together for %.2fs at %.1fs" % (" and ".join(names), seconds, t - campaign.t0)
                 for t, seconds, names in overlaps if seconds > INTERVAL_S + SAMPLE_S]
    problems += ["%s (promote = no) ACTIVE at %.1fs" % (NEVER_PROMOTED, t - campaign.t0)
                 for t, names in watch.actives if NEVER_PROMOTED in names][:5]
    problems += ["%s (promote = no) writable at %.1fs" % (NEVER_PROMOTED, t - campaign.t0)
                 for t, v in ro.changes[NEVER_PROMOTED] if v == 0][:5]
    problems += ["a node was healthy and eligible, but the pool had no writable ACTIVE within %g s: %s"
                 % (LIVENESS_S, p) for p in live_problems]
    if active is not None:
        have = {r["v"] for r in c.sql_dicts(active, "SELECT v FROM mpptest.t")}
        lost = [v for v in writer.acked if v not in have]
        if lost:
            problems.append("%d acknowledged commits missing on db%d: %s" % (len(lost), active, lost[:10]))
    assert problems == [], "%s\n%s" % ("\n".join(problems), replay)
