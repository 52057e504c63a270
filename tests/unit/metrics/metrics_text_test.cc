// MetricsText and Histogram: the Prometheus text format, written exactly.
#include <doctest/doctest.h>

#include <math.h>

#include <string>

#include "metrics/metrics_text.h"

namespace mpp {
namespace {

TEST_CASE("MetricsText: a family is its HELP and TYPE lines, then its samples with labels in order") {
  MetricsText t;
  t.Family("mpp_node_polls_total", MetricType::kCounter, "Polls finished, by outcome.");
  t.Sample("mpp_node_polls_total", {{"pool", "main"}, {"node", "db1"}, {"outcome", "ok"}}, 12);
  t.Family("mpp_rounds_total", MetricType::kCounter, "Rounds.");
  t.Sample("mpp_rounds_total", {}, 3);
  CHECK(t.text() ==
        "# HELP mpp_node_polls_total Polls finished, by outcome.\n"
        "# TYPE mpp_node_polls_total counter\n"
        "mpp_node_polls_total{pool=\"main\",node=\"db1\",outcome=\"ok\"} 12\n"
        "# HELP mpp_rounds_total Rounds.\n"
        "# TYPE mpp_rounds_total counter\n"
        "mpp_rounds_total 3\n");
}

TEST_CASE("MetricsText: label values escape backslash, quote and newline; HELP escapes backslash and newline") {
  MetricsText t;
  t.Family("m", MetricType::kGauge, "a \\ b\nc \"q\"");
  t.Sample("m", {{"node", "a\\b\"c\nd"}}, 1);
  CHECK(t.text() ==
        "# HELP m a \\\\ b\\nc \"q\"\n"
        "# TYPE m gauge\n"
        "m{node=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST_CASE("MetricValueText: integers whole, fractions with their digits, NaN and infinities by name") {
  CHECK(MetricValueText(0) == "0");
  CHECK(MetricValueText(-3) == "-3");
  CHECK(MetricValueText(1700000000.0) == "1700000000");
  CHECK(MetricValueText(9007199254740991.0) == "9007199254740991");
  CHECK(MetricValueText(0.0025) == "0.0025");
  CHECK(MetricValueText(1700000000.123) == "1700000000.12");
  CHECK(MetricValueText(NAN) == "NaN");
  CHECK(MetricValueText(INFINITY) == "+Inf");
  CHECK(MetricValueText(-INFINITY) == "-Inf");
}

TEST_CASE("Histogram: buckets are cumulative, a value on a bound falls in it, +Inf counts all") {
  std::vector<double> bounds = {0.01, 0.1, 1};
  Histogram h(&bounds);
  h.Observe(0.005);
  h.Observe(0.01);
  h.Observe(0.5);
  h.Observe(7);
  CHECK(h.count() == 4);
  CHECK(h.sum() == doctest::Approx(7.515));
  MetricsText t;
  t.Family("d_seconds", MetricType::kHistogram, "D.");
  h.WriteTo(&t, "d_seconds", {{"node", "db1"}});
  CHECK(t.text() ==
        "# HELP d_seconds D.\n"
        "# TYPE d_seconds histogram\n"
        "d_seconds_bucket{node=\"db1\",le=\"0.01\"} 2\n"
        "d_seconds_bucket{node=\"db1\",le=\"0.1\"} 2\n"
        "d_seconds_bucket{node=\"db1\",le=\"1\"} 3\n"
        "d_seconds_bucket{node=\"db1\",le=\"+Inf\"} 4\n"
        "d_seconds_sum{node=\"db1\"} 7.515\n"
        "d_seconds_count{node=\"db1\"} 4\n");
}

TEST_CASE("Histogram: one without labels and without observations writes zeros") {
  Histogram h(&DurationBuckets());
  MetricsText t;
  h.WriteTo(&t, "r_seconds", {});
  CHECK(t.text().find("r_seconds_bucket{le=\"0.001\"} 0\n") == 0);
  CHECK(t.text().find("r_seconds_bucket{le=\"+Inf\"} 0\nr_seconds_sum 0\nr_seconds_count 0\n") != std::string::npos);
  CHECK(DurationBuckets().size() == 13);
}

}  // namespace
}  // namespace mpp
