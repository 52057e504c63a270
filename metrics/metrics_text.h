// The Prometheus text exposition format (version 0.0.4), written: a page
// of metric families, each a HELP and a TYPE line followed by its samples,
// and histograms with cumulative buckets. Label values are escaped; names
// are the caller's constants.
// Thread-safety: value types.
#pragma once

#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

namespace mpp {

// (name, value) pairs, in the order written.
using MetricLabels = std::vector<std::pair<const char*, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricsText {
 public:
  // Starts a family. Its samples follow, before the next family.
  void Family(const char* name, MetricType type, const char* help);
  // name{labels} value. For a histogram family, name is the family's name
  // with _bucket, _sum or _count (Histogram::WriteTo does it).
  void Sample(const char* name, const MetricLabels& labels, double value);
  // A histogram's name_bucket{labels,le="bound"} sample.
  void BucketSample(const char* name, const MetricLabels& labels, double bound, uint64_t cumulative);

  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

// The values of one histogram: how many observations fell at or below
// each bound, their sum and count. The bounds are shared by every
// histogram of a kind, so each costs only its counts.
class Histogram {
 public:
  // REQUIRES: bounds ascending, and outliving the histogram.
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // The _bucket (cumulative, le="+Inf" last), _sum and _count samples.
  void WriteTo(MetricsText* out, const char* family, const MetricLabels& labels) const;

 private:
  const std::vector<double>* bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; +Inf last
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Seconds, for timings from a few hundred microseconds to a poll's
// timeouts: 1ms .. 10s.
const std::vector<double>& DurationBuckets();

// A value as the format writes it: integers without a fraction, NaN,
// +Inf and -Inf by name.
std::string MetricValueText(double v);

}  // namespace mpp
