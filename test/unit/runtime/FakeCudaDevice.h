// What the fake CUDA device (FakeCudaDevice.cpp) records, shared with the
// tests reading it.
#pragma once

#include <cstddef>
#include <thread>

// One driver call that takes a stream (nullptr: the legacy default stream),
// or creates one (the new stream).
struct FakeCudaCall {
  const char *function; // "cuMemcpyHtoDAsync_v2"
  void *stream;
  std::thread::id thread;
};

// The fake's exported fake_cuda_calls: copies up to `capacity` of the calls
// since the last fake_cuda_clear_calls, in order, and returns their count.
using FakeCudaCallsFn = size_t (*)(FakeCudaCall *calls, size_t capacity);
using FakeCudaClearCallsFn = void (*)();
