// The fake decoder's record of its last call, read from the loaded library.
#pragma once

#include "FakeDecoderCall.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

namespace ember::rt::test {

// A variable the fake exports; the library must be loaded (by a Decoder).
template <typename T> T &fakeDecoderVariable(const char *name) {
  void *handle = dlopen(EMBER_FAKE_ARTIFACT, RTLD_NOW | RTLD_NOLOAD);
  EXPECT_NE(handle, nullptr);
  auto *variable = static_cast<T *>(dlsym(handle, name));
  EXPECT_NE(variable, nullptr);
  dlclose(handle); // the Decoder under test still holds the library open
  return *variable;
}

inline const FakeDecoderCall &fakeDecoderLastCall() {
  return fakeDecoderVariable<FakeDecoderCall>("fake_decoder_last_call");
}

inline int64_t &fakeDrafterInconsistentRows() { return fakeDecoderVariable<int64_t>("fake_drafter_inconsistent_rows"); }
inline int64_t &fakeDrafterCalls() { return fakeDecoderVariable<int64_t>("fake_drafter_calls"); }
inline int64_t &fakeEmbeddedRows() { return fakeDecoderVariable<int64_t>("fake_embedded_rows"); }

} // namespace ember::rt::test
