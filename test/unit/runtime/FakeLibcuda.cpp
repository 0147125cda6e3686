// A stand-in libcuda.so.1 for machines without a GPU: a driver that finds no
// device. cuInit returns $EMBER_FAKE_CUINIT_RESULT (default 100,
// CUDA_ERROR_NO_DEVICE); with 0 the loader goes on and finds none of the
// other entry points. Tests load it by path or through LD_LIBRARY_PATH.

#include <cstdlib>

namespace {
constexpr int kNoDevice = 100;
constexpr int kInvalidValue = 1;
} // namespace

extern "C" {

int cuInit(unsigned) {
  const char *result = std::getenv("EMBER_FAKE_CUINIT_RESULT");
  return result ? std::atoi(result) : kNoDevice;
}

int cuDriverGetVersion(int *version) {
  *version = 12080;
  return 0;
}

int cuGetErrorName(int error, const char **name) {
  *name = error == 0 ? "CUDA_SUCCESS" : error == kNoDevice ? "CUDA_ERROR_NO_DEVICE" : nullptr;
  return *name ? 0 : kInvalidValue;
}

int cuGetErrorString(int error, const char **text) {
  *text = error == 0 ? "no error" : error == kNoDevice ? "no CUDA-capable device is detected" : nullptr;
  return *text ? 0 : kInvalidValue;
}

} // extern "C"
