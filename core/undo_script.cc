#include "core/undo_script.h"

namespace mpp {
namespace {

const char kDelimiterOn[] = "DELIMITER /*!*/;";
const char kDelimiterOff[] = "DELIMITER ;";
const char kEndOfStatement[] = "/*!*/;";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

std::string Trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

bool UndoStatements(const std::string& flashback, uint32_t domain, std::vector<std::string>* out,
                    std::string* why) {
  std::vector<std::string> lines = Lines(flashback);
  std::vector<std::string> statements;
  int starts = 0, commits = 0, on = 0, off = 0, client_commands = 0;
  std::string chunk;
  auto take = [&](const std::string& text) {
    std::string statement = Trimmed(text);
    if (statement.empty()) return;
    if (statement == "START TRANSACTION") {
      // The first opens the one transaction; the others are dropped.
      if (starts++ == 0) {
        statements.push_back("SET SESSION gtid_domain_id = " + std::to_string(domain));
        statements.push_back(statement);
      }
    } else if (statement == "COMMIT") {
      ++commits;
    } else if (statement.compare(0, 5, "/*!\\C") == 0) {
      ++client_commands;  // "/*!\C utf8mb3 */": the mariadb client's, not the server's
    } else {
      statements.push_back(statement);
    }
  };
  for (const std::string& line : lines) {
    if (line == kDelimiterOn) {
      ++on;
      continue;
    }
    if (line == kDelimiterOff) {
      ++off;
      break;  // what follows restores the client's settings
    }
    if (!line.empty() && line[0] == '#') continue;  // a comment: the event's header
    if (on == 0) {
      // The session settings before the delimiter changes, "/*!50530 SET ...*/;".
      std::string s = Trimmed(line);
      if (!s.empty() && s.back() == ';') take(s.substr(0, s.size() - 1));
      continue;
    }
    chunk += line + "\n";
    for (size_t end; (end = chunk.find(kEndOfStatement)) != std::string::npos;) {
      take(chunk.substr(0, end));
      chunk.erase(0, end + sizeof(kEndOfStatement) - 1);
    }
  }
  if (starts == 0 || commits < starts || on != 1 || off != 1 || client_commands > 0 || !Trimmed(chunk).empty()) {
    *why = "the inverse of the tail is not laid out as expected (" + std::to_string(starts) +
           " START TRANSACTION, " + std::to_string(commits) + " COMMIT, " + std::to_string(on + off) +
           " DELIMITER): it is not made one transaction";
    return false;
  }
  statements.push_back("COMMIT");
  *out = statements;
  return true;
}

UndoLeft WhatUndoLeft(const std::vector<Gtid>& now, const std::vector<Gtid>& at, uint32_t domain) {
  std::vector<Gtid> rest, undo;
  for (const Gtid& g : now) (g.domain == domain ? undo : rest).push_back(g);
  for (const Gtid& g : at)
    if (g.domain == domain) return UndoLeft::kUnknown;
  if (!SameGtids(rest, at)) return UndoLeft::kUnknown;
  if (undo.empty()) return UndoLeft::kNone;
  if (undo.size() == 1 && undo[0].seq == 1) return UndoLeft::kAll;
  return UndoLeft::kUnknown;
}

}  // namespace mpp
