// ember-serve's engine: one thread owns the decoder and its continuous-
// batching scheduler (ember/runtime/Scheduler.h); HTTP threads hand it
// requests and read each one's tokens as they come.
#pragma once

#include "Metrics.h"

#include "ember/runtime/Scheduler.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ember::serve {

// One request's tokens as the engine generates them.
class PendingRequest {
public:
  struct Update {
    std::vector<int32_t> tokens; // generated since the `seen` asked about
    std::vector<double> logprobs;
    bool done = false;
    std::string error; // when it failed: why (done is set too)
  };
  // Waits up to `timeout` for tokens past the first `seen` or the end.
  Update next(size_t seen, std::chrono::milliseconds timeout);
  // Once done without error: the whole generation.
  const rt::Generation &result() const { return result_; }

private:
  friend class Engine;
  void push(int32_t token, double logprob);
  void finish(rt::Generation generation);
  void fail(const std::string &error);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int32_t> tokens_;
  std::vector<double> logprobs_;
  bool done_ = false;
  std::string error_;
  rt::Generation result_;
  // Engine thread only.
  int64_t id_ = -1;
  std::chrono::steady_clock::time_point submitted_, lastToken_;
};

class Engine {
public:
  // `maxQueued` requests may wait for a slot beyond those in one.
  Engine(rt::Decoder &decoder, int64_t maxQueued, Metrics &metrics);
  ~Engine();

  // Hands a checked request to the engine. Throws ApiError 429 when every
  // slot is busy and maxQueued requests wait, 503 once draining.
  std::shared_ptr<PendingRequest> submit(std::vector<int32_t> prompt, rt::GenerationOptions options);
  // The client left: the request leaves its slot (or the queue) at the
  // engine's next step.
  void cancel(const std::shared_ptr<PendingRequest> &request);
  // Refuses new requests from now on and waits until every accepted one
  // has finished.
  void drain();
  EngineLoad load() const;

private:
  struct Submission {
    std::shared_ptr<PendingRequest> request;
    std::vector<int32_t> prompt;
    rt::GenerationOptions options;
  };
  void run();
  void onToken(PendingRequest &request, int32_t token, double logprob);
  // Engine thread only: hand new requests to the scheduler, drop the
  // cancelled ones, run a step and finish what it completed.
  void admit(std::vector<Submission> submissions);
  void drop(const std::vector<std::shared_ptr<PendingRequest>> &cancelled);
  void step();
  void failAll(const std::string &error);

  rt::Decoder &decoder_;
  int64_t maxQueued_;
  Metrics &metrics_;
  std::unique_ptr<rt::Scheduler> scheduler_;
  std::vector<std::shared_ptr<PendingRequest>> active_; // engine thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_, drained_;
  std::vector<Submission> inbox_;
  std::vector<std::shared_ptr<PendingRequest>> cancels_;
  int64_t inFlight_ = 0; // accepted, not yet finished or cancelled
  bool accepting_ = true, stopping_ = false;
  std::atomic<int64_t> running_{0}, queued_{0};
  std::thread thread_;
};

} // namespace ember::serve
