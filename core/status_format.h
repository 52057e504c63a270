// What `mppctl status` shows: a table an operator takes in at a glance, and
// the same facts as JSON for scripts and tests.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "config/config.h"
#include "core/evaluation.h"

namespace mpp {

std::string StatusTable(const Config& cfg, const Evaluation& ev, int64_t now_ms);
std::string StatusJson(const Config& cfg, const Evaluation& ev);
std::string JsonString(const std::string& s);

}  // namespace mpp
