#include "core/binlog_tail.h"

#include <map>
#include <utility>

namespace mpp {
namespace {

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::string(prefix).size(), prefix) == 0;
}

bool IsFileMark(const std::string& type) {
  return type == "Format_desc" || type == "Gtid_list" || type == "Binlog_checkpoint" || type == "Rotate" ||
         type == "Stop" || type == "Start_encryption";
}

bool IsRowEvent(const std::string& type) {
  return type == "Annotate_rows" || type == "Table_map" || type == "Write_rows_v1" || type == "Update_rows_v1" ||
         type == "Delete_rows_v1" || type == "Write_rows_compressed_v1" || type == "Update_rows_compressed_v1" ||
         type == "Delete_rows_compressed_v1";
}

// The events that carry a statement's context for its replay on a replica.
bool IsStatementContext(const std::string& type) { return type == "Intvar" || type == "Rand" || type == "User_var"; }

bool IsCommit(const BinlogEvent& ev) { return ev.type == "Xid" || (ev.type == "Query" && ev.info == "COMMIT"); }

bool InWriter(const Gtid& g, const std::vector<Gtid>& writer_state) {
  return WhyDiverged({g}, writer_state, "").empty();
}

std::string Where(const BinlogEvent& ev) { return ev.file + ":" + std::to_string(ev.pos); }

std::string WithArticle(const std::string& word) {
  bool vowel = !word.empty() && std::string("AEIOUaeiou").find(word[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + word;
}

// "BEGIN GTID 0-1-7 cid=5", "GTID 0-1-1".
bool ParseGtidInfo(const std::string& info, Gtid* out) {
  size_t at = info.find("GTID ");
  if (at == std::string::npos) return false;
  size_t begin = at + 5;
  size_t end = info.find(' ', begin);
  std::vector<Gtid> list;
  if (!ParseGtidList(info.substr(begin, end == std::string::npos ? std::string::npos : end - begin), &list) ||
      list.size() != 1)
    return false;
  *out = list[0];
  return true;
}

// "[]", "[0-1-7,0-2-3]".
bool ParseGtidListInfo(const std::string& info, std::vector<Gtid>* out) {
  if (info.size() < 2 || info.front() != '[' || info.back() != ']') return false;
  return ParseGtidList(info.substr(1, info.size() - 2), out);
}

// A statement as a refusal quotes it: on one line, short enough for a log
// line, without the "use `db`; " the server puts before it.
std::string Quote(const std::string& info) {
  std::string s = info;
  if (StartsWith(s, "use `")) {
    size_t end = s.find("`; ", 5);
    if (end != std::string::npos) s = s.substr(end + 3);
  }
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  const size_t kMax = 60;
  if (s.size() <= kMax) return s;
  size_t cut = kMax;
  // Not inside a UTF-8 character.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

// Why the extra transaction whose Gtid event is events[begin], and whose
// events run up to events[end] (the next Gtid event or the log's end),
// cannot be undone from its row images; "" when it can.
std::string WhyNotRows(const std::vector<BinlogEvent>& events, size_t begin, size_t end, const Gtid& gtid) {
  const std::string id = GtidText(gtid);
  if (!StartsWith(events[begin].info, "BEGIN GTID ")) {
    std::string why = id + " is DDL or another statement outside a transaction";
    for (size_t i = begin + 1; i < end; ++i)
      if (events[i].type == "Query") return why + " (" + Quote(events[i].info) + ")";
    return why;
  }
  size_t i = begin + 1;
  for (; i < end && !IsCommit(events[i]); ++i) {
    const BinlogEvent& ev = events[i];
    if (IsRowEvent(ev.type)) continue;
    if (ev.type == "Query") return id + " is in statement format (" + Quote(ev.info) + ")";
    if (IsStatementContext(ev.type)) {
      // The statement it belongs to says more than "INSERT_ID=2".
      for (size_t j = i + 1; j < end; ++j)
        if (events[j].type == "Query" && !IsCommit(events[j]))
          return id + " is in statement format (" + Quote(events[j].info) + ")";
      return id + " is in statement format (" + Quote(ev.info) + ")";
    }
    return id + " holds " + WithArticle(ev.type) + " event";
  }
  if (i == end) {
    if (end == events.size()) return id + " has no end: the binlog ends before its commit";
    return id + " has no end: another transaction starts at " + Where(events[end]) + " before its commit";
  }
  if (events[i].type != "Xid")
    return id + " changes a non-transactional table (it ends with COMMIT, not Xid): a crash could leave its undo "
                "half done";
  for (++i; i < end; ++i)
    if (!IsFileMark(events[i].type))
      return WithArticle(events[i].type) + " event at " + Where(events[i]) + " follows " + id +
             " outside any transaction";
  return "";
}

// "table_id: 33 (mpptest.t)" -> "mpptest.t".
std::string TableMapName(const std::string& info) {
  size_t open = info.rfind('(');
  if (open == std::string::npos || info.empty() || info.back() != ')') return "";
  return info.substr(open + 1, info.size() - open - 2);
}

struct Transaction {
  size_t at = 0;  // its Gtid event
  Gtid gtid;
};

}  // namespace

RewindTail FindRewindTail(const std::vector<BinlogEvent>& events, const std::vector<Gtid>& writer_state,
                          const std::string& writer_name) {
  RewindTail out;
  if (events.empty()) {
    // The server lists at least a Format_desc and a Gtid_list for any file:
    // no rows is a failed read, not a log with nothing to rewind.
    out.refused = "no binlog events, so no Gtid_list";
    return out;
  }
  bool have_list = false;
  std::vector<Gtid> list;
  std::vector<Transaction> txns;
  for (size_t i = 0; i < events.size(); ++i) {
    const BinlogEvent& ev = events[i];
    if (ev.type == "Gtid_list" && !have_list) {
      if (!ParseGtidListInfo(ev.info, &list)) {
        out.refused = "unparsable Gtid_list at " + Where(ev) + ": " + ev.info;
        return out;
      }
      have_list = true;
    } else if (ev.type == "Gtid") {
      if (!have_list) break;
      Transaction t;
      t.at = i;
      if (!ParseGtidInfo(ev.info, &t.gtid)) {
        out.refused = "unparsable GTID at " + Where(ev) + ": " + ev.info;
        return out;
      }
      txns.push_back(t);
    }
  }
  if (!have_list) {
    out.refused = "no Gtid_list at the start of " + events.front().file;
    return out;
  }
  size_t fork = 0;
  while (fork < txns.size() && InWriter(txns[fork].gtid, writer_state)) ++fork;
  if (fork == txns.size()) return out;

  std::map<std::pair<uint32_t, uint32_t>, uint64_t> state;  // (domain, server_id) -> seq
  std::map<uint32_t, Gtid> last;                            // per domain
  for (const Gtid& g : list) {
    uint64_t& seq = state[{g.domain, g.server_id}];
    if (g.seq > seq) seq = g.seq;
    auto it = last.find(g.domain);
    // The server lists a domain's last GTID last: it wins a tie.
    if (it == last.end() || g.seq >= it->second.seq) last[g.domain] = g;
  }
  for (size_t k = 0; k < fork; ++k) {
    const Gtid& g = txns[k].gtid;
    state[{g.domain, g.server_id}] = g.seq;
    last[g.domain] = g;
  }
  for (const auto& [domain, g] : last) {
    out.pos_at_fork.push_back(g);
    for (auto it = state.lower_bound({domain, 0}); it != state.end() && it->first.first == domain; ++it)
      if (it->first.second != g.server_id) out.state_at_fork.push_back(Gtid{domain, it->first.second, it->second});
    out.state_at_fork.push_back(g);
  }
  for (size_t k = fork; k < txns.size(); ++k) out.extra.push_back(txns[k].gtid);
  out.start_file = events[txns[fork].at].file;
  out.start_pos = events[txns[fork].at].pos;

  for (size_t k = fork + 1; k < txns.size(); ++k) {
    if (InWriter(txns[k].gtid, writer_state)) {
      out.refused = "not a tail: " + GtidText(txns[k].gtid) + " comes after " + GtidText(txns[fork].gtid) + ", which " +
                    writer_name + " lacks, and " + writer_name + " has it";
      return out;
    }
  }
  for (size_t k = fork; k < txns.size(); ++k) {
    size_t end = k + 1 < txns.size() ? txns[k + 1].at : events.size();
    out.refused = WhyNotRows(events, txns[k].at, end, txns[k].gtid);
    if (!out.refused.empty()) return out;
    for (size_t i = txns[k].at; i < end; ++i) {
      if (events[i].type != "Table_map") continue;
      std::string table = TableMapName(events[i].info);
      bool seen = false;
      for (const std::string& t : out.tables) seen = seen || t == table;
      if (!table.empty() && !seen) out.tables.push_back(table);
    }
  }
  return out;
}

bool DecodeInnodbName(const std::string& innodb_name, std::string* out) {
  out->clear();
  for (size_t i = 0; i < innodb_name.size(); ++i) {
    char c = innodb_name[i];
    if (c == '/') {
      *out += '.';
    } else if (c != '@') {
      *out += c;
    } else {
      uint32_t code = 0;
      for (size_t k = 1; k <= 4; ++k) {
        char h = i + k < innodb_name.size() ? innodb_name[i + k] : 'x';
        int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
        if (digit < 0) return false;
        code = code * 16 + static_cast<uint32_t>(digit);
      }
      if (code == 0 || code >= 0x80) return false;
      *out += static_cast<char>(code);
      i += 4;
    }
  }
  return true;
}

std::string WhyNotOwnTail(const RewindTail& tail, uint32_t server_id, const std::string& node_name) {
  for (const Gtid& g : tail.extra)
    if (g.server_id != server_id)
      return GtidText(g) + " came from server " + std::to_string(g.server_id) + ": " + node_name +
             " received it as a replica, and may have acknowledged it";
  return "";
}

}  // namespace mpp
