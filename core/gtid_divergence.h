// Whether a node has a transaction that another lacks, exactly, from their
// MariaDB GTID positions: the check before a node is attached to the ACTIVE
// (doc/replication.md, "Divergence").
//
// A GTID is (domain, server_id, sequence). Comparing sequence numbers per
// domain is not enough: a node whose last GTID is 0-1-57 has diverged from
// an ACTIVE whose last is 0-2-57, although the numbers are equal. Nor is
// the last GTID per domain: an errant 0-3-9 hides behind a later 0-1-11 in
// gtid_binlog_pos. So every GTID the node holds (its gtid_binlog_state,
// gtid_slave_pos and received Gtid_IO_Pos) must be in the ACTIVE's binary
// log: the ACTIVE's gtid_binlog_state (the last GTID of every domain and
// server_id in its binlog) must hold the same domain and server_id with at
// least that sequence number. A server writes its own GTIDs in sequence
// order, so that proves the ACTIVE has it.
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace mpp {

struct Gtid {
  uint32_t domain = 0;
  uint32_t server_id = 0;
  uint64_t seq = 0;
};

// "0-1-100,1-2-7" (blanks and newlines around the commas allowed, as the
// server prints them). Returns false on malformed text.
bool ParseGtidList(const std::string& text, std::vector<Gtid>* out);

// "0-1-100".
std::string GtidText(const Gtid& g);
std::string GtidListText(const std::vector<Gtid>& list);

// The same GTIDs, in any order (the server lists a state in an order of
// its own).
bool SameGtids(const std::vector<Gtid>& a, const std::vector<Gtid>& b);

// The last GTID of each domain that a node has, from its gtid_binlog_pos
// (what it wrote or logged) and gtid_slave_pos (what it applied as a
// replica): per domain the one with the higher sequence number, the binlog's
// on a tie.
std::vector<Gtid> LastGtidPerDomain(const std::vector<Gtid>& binlog_pos, const std::vector<Gtid>& slave_pos);

// Why a node whose last GTIDs are node_last has diverged from an ACTIVE whose
// gtid_binlog_state is active_binlog_state, as "0-1-57 is not in db2's
// binlog"; "" when it has nothing the ACTIVE lacks.
std::string WhyDiverged(const std::vector<Gtid>& node_last, const std::vector<Gtid>& active_binlog_state,
                        const std::string& active_name);

// A writer's whole history, as far as it can be proven from its variables:
// its binlog, and what it applied as a replica. A replica with
// log_slave_updates = OFF, or with a replication filter that skipped a
// transaction, moves its gtid_slave_pos past GTIDs its binlog never gets.
struct GtidHistory {
  std::vector<Gtid> binlog_state;  // @@gtid_binlog_state
  std::vector<Gtid> slave_pos;     // @@gtid_slave_pos: the last GTID applied (or skipped) per domain
  uint32_t server_id = 0;          // @@server_id: its own writes
};

// The GTIDs of h's gtid_slave_pos that its binlog lacks: applied or
// skipped as a replica and never logged.
std::vector<Gtid> UnloggedSlavePos(const GtidHistory& h);

// Whether h holds g: in its binlog (as WhyDiverged), or applied or skipped
// by it as a replica. gtid_slave_pos keeps only the last GTID of each
// domain, so g (domain D, server S, sequence n) counts as applied only when
// that last GTID is S's too, with at least n, and the binlog shows no other
// server's GTID in D past it (apart from h's own writes, which come after):
// replication applies a domain in order, so h went through S's n on its way
// to S's later one.
bool HistoryHolds(const GtidHistory& h, const Gtid& g);

// WhyDiverged against a writer's whole history: "" when each of node_held
// is held (HistoryHolds); else "0-1-57 is not in db2's binlog", and where
// the writer has GTIDs of that domain it never logged, "..., nor among what
// it applied as a replica (0-1-12)".
std::string WhyDivergedFrom(const std::vector<Gtid>& node_held, const GtidHistory& writer,
                            const std::string& writer_name);

// Why the writer cannot send a node whose last GTIDs are node_last all it
// lacks, "" when it can. Where the writer applied GTIDs it never logged
// (UnloggedSlavePos), MariaDB serves a replica that asks for exactly that
// last applied GTID (it starts after it), but a replica behind it would be
// refused, or, asking from a GTID the binlog has, silently sent nothing of
// what was never logged. So in such a domain the node must be at that GTID
// or past it: "db3 is at 0-1-11 in domain 0, but db2 applied up to 0-1-12
// as a replica without logging it: db2 cannot send what db3 lacks".
// REQUIRES: node_last is held by the writer (WhyDivergedFrom is "").
std::string WhyCannotFollow(const std::vector<Gtid>& node_last, const GtidHistory& writer,
                            const std::string& node_name, const std::string& writer_name);

// Why a standby that replicates from the ACTIVE holds an errant
// transaction, one written on it or on a server the ACTIVE never had, from
// both binlog states as polled (gtid_binlog_state): "0-3-9 is not in db1's
// binlog"; "" when none. What the ACTIVE applied as a replica without
// logging it counts as its own (HistoryHolds). The polls are not taken at
// the same instant, so the ACTIVE's own GTIDs (its server_id) are left
// out: the standby may have received one the ACTIVE's poll came too early
// to show.
std::string WhyErrant(const std::vector<Gtid>& standby_binlog_state, const GtidHistory& active,
                      const std::string& active_name);

}  // namespace mpp
