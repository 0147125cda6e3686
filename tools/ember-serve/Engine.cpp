#include "Engine.h"

#include "Api.h"

#include <algorithm>
#include <utility>

namespace ember::serve {

namespace {
double secondsBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}
} // namespace

PendingRequest::Update PendingRequest::next(size_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return done_ || tokens_.size() > seen; });
  Update update;
  seen = std::min(seen, tokens_.size());
  update.tokens.assign(tokens_.begin() + int64_t(seen), tokens_.end());
  if (logprobs_.size() >= tokens_.size())
    update.logprobs.assign(logprobs_.begin() + int64_t(seen), logprobs_.end());
  update.done = done_;
  update.error = error_;
  return update;
}

void PendingRequest::push(int32_t token, double logprob) {
  std::lock_guard<std::mutex> lock(mutex_);
  tokens_.push_back(token);
  logprobs_.push_back(logprob);
  changed_.notify_all();
}

void PendingRequest::finish(rt::Generation generation) {
  std::lock_guard<std::mutex> lock(mutex_);
  result_ = std::move(generation);
  done_ = true;
  changed_.notify_all();
}

void PendingRequest::fail(const std::string &error) {
  std::lock_guard<std::mutex> lock(mutex_);
  error_ = error;
  done_ = true;
  changed_.notify_all();
}

Engine::Engine(rt::Decoder &decoder, int64_t maxQueued, Metrics &metrics)
    : decoder_(decoder), maxQueued_(maxQueued), metrics_(metrics), scheduler_(std::make_unique<rt::Scheduler>(decoder)),
      thread_([this] { run(); }) {}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<PendingRequest> Engine::submit(std::vector<int32_t> prompt, rt::GenerationOptions options) {
  auto request = std::make_shared<PendingRequest>();
  request->submitted_ = std::chrono::steady_clock::now();
  options.onToken = [this, raw = request.get()](int64_t, int32_t token, double logprob) {
    onToken(*raw, token, logprob);
  };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_)
      throw ApiError(503, "the server is shutting down");
    int64_t limit = decoder_.slots() + maxQueued_;
    if (inFlight_ >= limit)
      throw ApiError(429, "all " + std::to_string(decoder_.slots()) + " slots are busy and " +
                              std::to_string(maxQueued_) + " requests are queued (--max-queue); retry later");
    ++inFlight_;
    inbox_.push_back({request, std::move(prompt), std::move(options)});
  }
  wake_.notify_all();
  return request;
}

void Engine::cancel(const std::shared_ptr<PendingRequest> &request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancels_.push_back(request);
  }
  wake_.notify_all();
}

void Engine::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  accepting_ = false;
  drained_.wait(lock, [&] { return inFlight_ == 0; });
}

EngineLoad Engine::load() const { return {decoder_.slots(), running_.load(), queued_.load()}; }

void Engine::onToken(PendingRequest &request, int32_t token, double logprob) {
  auto now = std::chrono::steady_clock::now();
  if (request.lastToken_ == std::chrono::steady_clock::time_point())
    metrics_.firstToken(secondsBetween(request.submitted_, now));
  else
    metrics_.interToken(secondsBetween(request.lastToken_, now));
  request.lastToken_ = now;
  request.push(token, logprob);
}

void Engine::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !cancels_.empty() || !scheduler_->idle(); });
    if (stopping_)
      break;
    std::vector<Submission> submissions = std::exchange(inbox_, {});
    std::vector<std::shared_ptr<PendingRequest>> cancelled = std::exchange(cancels_, {});
    lock.unlock();
    admit(std::move(submissions));
    drop(cancelled);
    step();
    running_ = scheduler_->running();
    queued_ = scheduler_->queued();
    lock.lock();
    inFlight_ = int64_t(active_.size()) + int64_t(inbox_.size());
    drained_.notify_all();
  }
  for (Submission &submission : inbox_)
    active_.push_back(std::move(submission.request));
  lock.unlock();
  failAll("the server stopped");
}

void Engine::admit(std::vector<Submission> submissions) {
  for (Submission &submission : submissions) {
    try {
      submission.request->id_ = scheduler_->submit(std::move(submission.prompt), submission.options);
      active_.push_back(std::move(submission.request));
    } catch (const std::exception &error) { // checked before submission, so not expected
      submission.request->fail(error.what());
      metrics_.finished("error", nullptr);
    }
  }
}

void Engine::drop(const std::vector<std::shared_ptr<PendingRequest>> &cancelled) {
  for (const std::shared_ptr<PendingRequest> &request : cancelled) {
    auto it = std::find(active_.begin(), active_.end(), request);
    if (it == active_.end())
      continue; // it finished before its client left
    scheduler_->cancel(request->id_);
    active_.erase(it);
    request->fail("cancelled: the client disconnected");
    metrics_.finished("cancelled", nullptr);
  }
}

void Engine::step() {
  try {
    if (!scheduler_->step())
      return;
  } catch (const std::exception &error) {
    // A failed step (non-finite logits, a device error) ends every request
    // in it; the scheduler starts afresh with free slots.
    failAll(std::string("generation failed: ") + error.what());
    scheduler_ = std::make_unique<rt::Scheduler>(decoder_);
    return;
  }
  std::vector<std::pair<int64_t, rt::Generation>> finished = scheduler_->takeFinished();
  metrics_.step(scheduler_->running() + int64_t(finished.size()));
  for (auto &[id, generation] : finished) {
    auto it = std::find_if(active_.begin(), active_.end(),
                           [id = id](const std::shared_ptr<PendingRequest> &request) { return request->id_ == id; });
    metrics_.finished(generation.finishReason, &generation);
    (*it)->finish(std::move(generation));
    active_.erase(it);
  }
}

void Engine::failAll(const std::string &error) {
  for (const std::shared_ptr<PendingRequest> &request : active_) {
    request->fail(error);
    metrics_.finished("error", nullptr);
  }
  active_.clear();
}

} // namespace ember::serve
