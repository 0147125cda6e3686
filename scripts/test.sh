#!/usr/bin/env bash
# Builds ember and runs every test: the lit suite (IR, tools, end-to-end
# against the PyTorch reference) and the GoogleTest binaries via ctest;
# then the unit tests and the lit suites (but the slow tests sanitize.sh names)
# again under ASan + UBSan (scripts/sanitize.sh, ./build-san), and each
# libFuzzer harness for EMBER_FUZZ_SECONDS (default 20; scripts/fuzz.sh,
# clang, ./build-fuzz).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EMBER_BUILD_DIR:-$ROOT/build}"
EMBER_EXTRA_PACKAGES="python3-torch python3-numpy python3-pip curl" source "$ROOT/scripts/setup.sh"
# cuobjdump and nvdisasm (NVIDIA's wheels, pinned) for the SASS checks.
CUDA_TOOLS="$BUILD/cuda-tools"
if [ ! -x "$CUDA_TOOLS/nvidia/cu13/bin/nvdisasm" ]; then
  python3 -m pip install -q --no-deps --break-system-packages --target "$CUDA_TOOLS" \
    nvidia-cuda-cuobjdump==13.2.78 nvidia-cuda-nvdisasm==13.2.78 ||
    echo "warning: cuobjdump/nvdisasm wheels not installed: SASS checks will be skipped" >&2
fi

# The Python test references, pinned, from PyPI: HF tokenizers (the
# tokenizer parity tests), jinja2 with its one dependency (the chat template
# parity tests), ml_dtypes (FP8 E4M3 for the checkpoint reference), OpenAI's
# client with its dependencies (ember-serve's tests). A failed install fails
# the run: the tests would otherwise be skipped.
PY_TOOLS="$BUILD/py-tools"
install_reference() {
  local module="$1"
  shift
  [ -d "$PY_TOOLS/$module" ] && return
  python3 -m pip install -q --no-deps --break-system-packages --target "$PY_TOOLS" "$@" ||
    { echo "error: pip could not install $* into $PY_TOOLS (the parity tests need it)" >&2; exit 1; }
}
install_reference tokenizers tokenizers==0.21.1
install_reference jinja2 jinja2==3.1.4 markupsafe==2.1.5
install_reference ml_dtypes ml_dtypes==0.4.1
install_reference openai openai==1.58.1 httpx==0.27.2 httpcore==1.0.7 h11==0.14.0 anyio==4.7.0 sniffio==1.3.1 \
  idna==3.10 certifi==2024.12.14 pydantic==2.10.4 pydantic-core==2.27.2 annotated-types==0.7.0 \
  typing-extensions==4.12.2 distro==1.9.0 jiter==0.8.2 tqdm==4.67.1

status=0
# -v shows failures in full; skipped tests say why in lit's notes above.
/usr/lib/llvm-22/bin/lit -v --show-unsupported "$BUILD/test" || status=1
(cd "$BUILD" && ctest --output-on-failure -j2) || status=1
bash "$ROOT/scripts/sanitize.sh" || status=1
bash "$ROOT/scripts/fuzz.sh" || status=1
exit $status
