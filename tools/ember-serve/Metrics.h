// ember-serve's counters and histograms, rendered in Prometheus' text
// format for GET /metrics. Every method may be called from any thread.
#pragma once

#include "ember/runtime/Generate.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ember::serve {

class Histogram {
public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // "# HELP", "# TYPE", the cumulative buckets, _sum and _count.
  void render(std::string &out, const std::string &name, const std::string &help) const;

private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_; // per bucket, the last one past every bound
  double sum_ = 0;
  int64_t count_ = 0;
};

// The engine's state when /metrics is read.
struct EngineLoad {
  int64_t slots = 0, running = 0, queued = 0;
};

class Metrics {
public:
  Metrics();
  // An HTTP response sent (by path and status).
  void response(const std::string &path, int status);
  void firstToken(double secondsSinceSubmitted);
  void interToken(double secondsSincePrevious);
  // A step ran with `running` sequences.
  void step(int64_t running);
  // A request ended: "stop", "length", "cancelled" (its client left) or
  // "error"; `generation` holds what it generated (none when cancelled).
  void finished(const std::string &reason, const rt::Generation *generation);
  std::string render(const EngineLoad &load) const;

private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> responses_;
  std::map<std::string, int64_t> finished_;
  int64_t promptTokens_ = 0, generatedTokens_ = 0, steps_ = 0, drafted_ = 0, accepted_ = 0;
  Histogram firstToken_, interToken_, running_;
};

} // namespace ember::serve
