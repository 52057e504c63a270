#include "mppstate/logger.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include <mutex>

namespace mpp {
namespace {

bool g_syslog = false;
const char* g_ident = "mpp";
std::mutex g_mu;

int SyslogPriority(LogLevel l) {
  switch (l) {
    case LogLevel::kError: return LOG_ERR;
    case LogLevel::kWarning: return LOG_WARNING;
    case LogLevel::kNotice: return LOG_NOTICE;
    case LogLevel::kInfo: return LOG_INFO;
    case LogLevel::kDebug: return LOG_DEBUG;
  }
  return LOG_INFO;
}

}  // namespace

void InitLog(const char* ident, bool use_syslog) {
  g_ident = ident;
  g_syslog = use_syslog;
  if (use_syslog) openlog(ident, LOG_PID, LOG_DAEMON);
}

void Log(LogLevel level, const char* fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_syslog) {
    syslog(SyslogPriority(level), "%s", msg);
    return;
  }
  // "<N>" prefixes are read by the journal as the priority.
  std::lock_guard<std::mutex> lock(g_mu);
  fprintf(stderr, "<%d>%s: %s\n", SyslogPriority(level), g_ident, msg);
}

}  // namespace mpp
