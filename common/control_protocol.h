// The control protocol between mppctl and mppstate, over the unix socket
// state_dir/mppstate.sock: the client sends one request line of words
// separated by spaces, the daemon answers "ok" or "error" on the first line,
// then the body, and closes the connection. Both sides use these words, so
// they cannot drift apart.
// Thread-safety: constants and pure functions.
#pragma once

#include <stddef.h>

#include <string>
#include <vector>

namespace mpp {

// Requests.
constexpr char kRequestStatus[] = "status";            // the status table
constexpr char kRequestStatusJson[] = "status-json";   // the same as JSON
constexpr char kRequestMetrics[] = "metrics";          // the metrics page (doc/metrics.md)
constexpr char kRequestRecover[] = "recover";          // recover NODE
constexpr char kRequestOffline[] = "offline";          // offline NODE
constexpr char kRequestOnline[] = "online";            // online NODE
constexpr char kRequestSwitchover[] = "switchover";    // switchover POOL [NODE]
constexpr char kRequestRejoin[] = "rejoin";            // rejoin NODE
constexpr char kRequestRewind[] = "rewind";            // rewind NODE

// The first line of every reply.
constexpr char kReplyOk[] = "ok";
constexpr char kReplyError[] = "error";

// The longest request line the daemon reads, newline included; a longer one
// is refused.
constexpr size_t kMaxRequestBytes = 4096;

// "word1 word2 ...\n".
std::string FormatRequest(const std::vector<std::string>& words);

// The words of a request line (without its newline), split on blanks.
std::vector<std::string> RequestWords(const std::string& line);

// "ok\n" or "error\n", then body.
std::string FormatReply(bool ok, const std::string& body);

// Splits a whole reply. Returns false when its first line is neither "ok"
// nor "error" (or missing).
bool ParseReply(const std::string& reply, bool* ok, std::string* body);

}  // namespace mpp
