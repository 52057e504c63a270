#include "metrics/metrics_text.h"

#include <math.h>
#include <stdio.h>

namespace mpp {
namespace {

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and newline; label values also the quote.
void AppendEscaped(std::string* out, const std::string& s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quote) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

void AppendSample(std::string* out, const char* name, const MetricLabels& labels, const char* le,
                  const std::string& value) {
  *out += name;
  if (!labels.empty() || le != nullptr) {
    *out += '{';
    bool first = true;
    for (const auto& l : labels) {
      if (!first) *out += ',';
      first = false;
      *out += l.first;
      *out += "=\"";
      AppendEscaped(out, l.second, true);
      *out += '"';
    }
    if (le != nullptr) {
      if (!first) *out += ',';
      *out += "le=\"";
      *out += le;
      *out += '"';
    }
    *out += '}';
  }
  *out += ' ';
  *out += value;
  *out += '\n';
}

}  // namespace

std::string MetricValueText(double v) {
  if (isnan(v)) return "NaN";
  if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  // Integers exactly (counters up to 2^53), anything else with enough
  // digits for microseconds in a day.
  if (v == floor(v) && fabs(v) < 9007199254740992.0)
    snprintf(buf, sizeof buf, "%.0f", v);
  else
    snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

void MetricsText::Family(const char* name, MetricType type, const char* help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscaped(&text_, help, false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += TypeName(type);
  text_ += '\n';
}

void MetricsText::Sample(const char* name, const MetricLabels& labels, double value) {
  AppendSample(&text_, name, labels, nullptr, MetricValueText(value));
}

void MetricsText::BucketSample(const char* name, const MetricLabels& labels, double bound, uint64_t cumulative) {
  AppendSample(&text_, name, labels, MetricValueText(bound).c_str(), MetricValueText(static_cast<double>(cumulative)));
}

Histogram::Histogram(const std::vector<double>* bounds) : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_->size() && value > (*bounds_)[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::WriteTo(MetricsText* out, const char* family, const MetricLabels& labels) const {
  std::string name = family;
  std::string bucket = name + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    cumulative += counts_[i];
    out->BucketSample(bucket.c_str(), labels, i < bounds_->size() ? (*bounds_)[i] : INFINITY,
                      cumulative);
  }
  out->Sample((name + "_sum").c_str(), labels, sum_);
  out->Sample((name + "_count").c_str(), labels, static_cast<double>(count_));
}

const std::vector<double>& DurationBuckets() {
  static const std::vector<double> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,  0.5,    1,     2.5,  5,     10};
  return kBounds;
}

}  // namespace mpp
