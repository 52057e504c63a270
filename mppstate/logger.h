// Where mppstate's messages go: stderr (systemd's journal adds time and
// priority) or syslog. Logs transitions, not steady state.
// Thread-safety: Log may be called from any thread; Init before threads start.
#pragma once

namespace mpp {

enum class LogLevel { kError, kWarning, kNotice, kInfo, kDebug };

void InitLog(const char* ident, bool use_syslog);
void Log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace mpp
