# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config

config.name = "ember"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".py"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit"]
config.test_source_root = os.path.dirname(__file__)
# Files named with a leading underscore are helpers the tests run or import.
config.excludes.extend(sorted({name for _, _, files in os.walk(config.test_source_root)
                               for name in files if name.startswith("_")}))
config.test_exec_root = os.path.join(config.ember_obj_root, "test")

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.ember_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# Compiled artifacts go to a cache private to the test run.
config.environment["EMBER_CACHE_DIR"] = os.path.join(config.test_exec_root, "artifact-cache")

python = "/usr/bin/python3"
config.substitutions.append(("%python", python))
config.substitutions.append(("%ember_src", config.ember_src_root))
config.substitutions.append(("%ember_build", config.ember_obj_root))
# mlir-runner's support libraries (printMemrefF32) for tests that run loop IR.
config.substitutions.append(("%mlir_lib_dir",
                             os.path.normpath(os.path.join(config.llvm_tools_dir, "..", "lib"))))

# The fake CUDA device (test/unit/runtime/FakeCudaDevice.cpp): a libcuda.so.1
# whose memory is host memory and which runs an nvptx artifact's kernels on
# the CPU, so --backend cuda runs the GPU kernels without a GPU.
config.substitutions.append(("%fake_cuda", "env LD_LIBRARY_PATH=" +
                             os.path.join(config.ember_obj_root, "test", "fake-cuda-device")))

# Permission errors are tested unprivileged: root passes access(2) on any
# folder. As root, %unprivileged runs the command as nobody (util-linux's
# setpriv), where nobody can reach the build (a checkout under /root may be
# closed to it); otherwise it runs the command as it is.
drop_to_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
if os.geteuid() != 0:
    config.available_features.add("unprivileged")
    config.substitutions.append(("%unprivileged", ""))
elif shutil.which("setpriv") and subprocess.run(
        drop_to_nobody + ["test", "-x", os.path.join(config.ember_tools_dir, "ember-run")]).returncode == 0:
    config.available_features.add("unprivileged")
    config.substitutions.append(("%unprivileged", " ".join(drop_to_nobody)))
else:
    lit_config.note("the tests run as root and nobody cannot reach " + config.ember_tools_dir +
                    ": permission checks that need an unprivileged user are SKIPPED")

# End-to-end tests compare against the PyTorch reference: they need torch.
if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0:
    config.available_features.add("torch")
else:
    lit_config.note("python3-torch is not installed: end-to-end tests against the "
                    "PyTorch reference are SKIPPED (apt-get install python3-torch)")

# The GPU bundle's check compares logits with numpy.
if subprocess.run([python, "-c", "import numpy"], capture_output=True).returncode == 0:
    config.available_features.add("numpy")
else:
    lit_config.note("python3-numpy is not installed: the GPU bundle test is SKIPPED")

# Parity tests compare with references from PyPI that scripts/test.sh
# installs, pinned, under <build>/py-tools: HF tokenizers (the tokenizer),
# python jinja2, configured as HF transformers does (chat templates),
# ml_dtypes (FP8 E4M3 decoding for the reference) and OpenAI's Python client
# (ember-serve's API).
py_tools = os.path.join(config.ember_obj_root, "py-tools")
config.environment["PYTHONPATH"] = py_tools
for module, tests in (("tokenizers", "tokenizer"), ("jinja2", "chat template"), ("ml_dtypes", "FP8 checkpoint"),
                      ("openai", "ember-serve client")):
    if subprocess.run([python, "-c", "import " + module], capture_output=True,
                      env=dict(os.environ, PYTHONPATH=py_tools)).returncode == 0:
        config.available_features.add(module)
    else:
        lit_config.note(f"{py_tools} has no {module}: {tests} parity tests are SKIPPED "
                        "(scripts/test.sh installs it)")

# ember-serve's raw HTTP checks use curl.
if shutil.which("curl"):
    config.available_features.add("curl")
else:
    lit_config.note("curl not found: ember-serve's raw server-sent events test is SKIPPED (apt-get install curl)")

# SASS checks read ember's cubins with cuobjdump and nvdisasm: the pinned
# NVIDIA wheels scripts/test.sh installs under <build>/cuda-tools.
cuda_tools = os.path.join(config.ember_obj_root, "cuda-tools", "nvidia", "cu13", "bin")
if all(os.path.exists(os.path.join(cuda_tools, tool)) for tool in ("cuobjdump", "nvdisasm")):
    config.available_features.add("cuobjdump")
    config.substitutions.append(("%cuobjdump", os.path.join(cuda_tools, "cuobjdump")))
    config.environment["NVDISASM_PATH"] = cuda_tools
else:
    lit_config.note(cuda_tools + "/cuobjdump or nvdisasm not found: SASS checks are SKIPPED "
                    "(scripts/test.sh installs them)")

# PTX assembly tests need the CUDA toolkit's ptxas; it is never required.
if config.ptxas and os.path.exists(config.ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))
    config.substitutions.append(("%cuda_root", os.path.dirname(os.path.dirname(config.ptxas))))
else:
    lit_config.note("/usr/local/cuda/bin/ptxas not found: PTX assembly tests are SKIPPED")
