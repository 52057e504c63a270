// The published decision (core/published_decision.h) as the JSON value of
// the key PREFIX decision in etcd, format 1. Strict both ways: a value that
// is not a complete decision of a known format is refused, never half-used.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "core/published_decision.h"

namespace mpp {

constexpr int kDecisionFormat = 1;

std::string EncodeDecision(const PublishedDecision& d);

// False with *err when text is not a decision of format 1.
bool DecodeDecision(const std::string& text, PublishedDecision* out, std::string* err);

}  // namespace mpp
