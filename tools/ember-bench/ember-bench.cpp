// ember-bench: micro-benchmarks of compiled ember code. `ngram` times the
// compiled CPU n-gram embedding on random in-memory weights against a memcpy
// of the same number of bytes (NgramBench.cpp); `decode` times greedy decode
// steps of the whole model at batch B on a synthesized checkpoint against
// the PyTorch eager reference (DecodeBench.cpp); `spec` times whole greedy
// generations on that checkpoint, plain and speculative (SpecBench.cpp);
// `fusion` times decode with each fusion pass on and off (FusionBench.cpp);
// `layer` times one shortcut layer and the lm_head at any config's shapes on
// random weights in backend memory (LayerBench.cpp). No
// MLIR in this binary: the artifact comes from the cache, compiled by
// ember-compile on a miss.

#include "BenchSupport.h"

#include "ember/runtime/CommandLine.h"
#include "ember/model/Error.h"

#include <iostream>
#include <string>

using namespace ember;

namespace {

constexpr char kUsage[] = R"(usage: ember-bench ngram --preset <name|file.json> --tokens T [options]
       ember-bench decode --preset <name|file.json> [options]
       ember-bench spec --preset <name|file.json> [options]
       ember-bench fusion --preset <name|file.json> [options]
       ember-bench layer --preset <name|file.json> [options]
                   [--benchmark_* flags of Google Benchmark]

ngram: times the compiled CPU n-gram embedding of one T-token prompt on
random weights generated in memory for the preset (no checkpoint is read),
next to a memcpy of the same number of bytes between buffers far larger than
the L3 cache, and prints both and their ratio. Bytes per call count the
gathered n-gram and word-embedding rows, the projections (once) and the float
output.

decode: times ember's greedy decode of B sequences (--batch, default 1) on a
random checkpoint of the preset. The checkpoint is synthesized once, with the
ember-synth next to this binary, into
<cache-dir>/checkpoints/<preset>-s<seed>-<dtype>/ and reused afterwards.
Each of B sequence slots gets its own random EOS-free prompt of P tokens,
prefilled (untimed); each benchmark iteration (BM_EmberDecodeStep) is one
decode step of the batch: one ember_step of B rows, each slot's token (the
greedy choice of its previous logits) at the next position, so the weights
are read once for the batch. With B > 1, BM_EmberSingleSteps times the same
step as B single-sequence steps, one per slot, and the summary gives the
ratio of the two (measured in the same run). --tables host|device places
the word embedding and n-gram tables (default host: pinned host memory
read over the bus; on the CPU all memory is host memory); with
--compare-tables (CUDA only), BM_EmberDecodeStepOtherTables times the step
with them in the other placement and the summary gives the ratio. On CUDA
each decode step runs as one CUDA graph launch once captured, and
BM_EmberDecodeStepLaunched times the step launching every kernel from the
host, the ratio in the summary; --cuda-graphs off launches them in every
benchmark. Each
benchmark prefills the prompts first, untimed. Every N steps the context is
full and the prompts are prefilled again with the timer paused. items_per_second = decode tokens/s
of all B sequences together; the summary also gives them per sequence. The prefill of the B prompts is timed once
separately (after a warm-up). Unless --no-reference, it then runs
  /usr/bin/python3 )" EMBER_SOURCE_DIR R"(/test/reference/decode_bench.py
      --model <checkpoint> --prompt-len P --new-tokens N --batch B --threads K
(PyTorch eager, weights widened to f32, the B sequences as one batched
forward) and prints a summary: decode tokens/s of both, the ratio
ember/PyTorch, both prefill times, and ember's achieved bandwidth: the bytes
ember-compile --report models for one step of B rows of the backend's build
(at the mean decode position) times decode steps/s, in GB/s and, on CUDA, over the
memory peak and over a device-to-device copy measured in the same run. Without python3 or torch it says so
and prints ember's figures only. ember's compiled CPU code is
single-threaded; --threads only sets PyTorch's thread count.

spec: times whole batch-1 greedy generations of N tokens from a P-token
prompt on the checkpoint decode uses (it includes the MTP block), plain and
speculative. Each benchmark iteration is one generation, prefill included,
after one untimed warm-up generation; items_per_second = generated tokens/s.
  BM_Plain/random       no speculation, a random EOS-free prompt
  BM_Mtp/random         --speculative mtp (the MTP block drafts K tokens)
  BM_Plain/repetitive   no speculation, a random phrase of min(8, P/4)
                        tokens repeated to P tokens
  BM_Ngram/repetitive   --speculative ngram (prompt lookup) on that prompt
Counters: tokens (per generation), decode_tokens_per_s (after the prefill),
acceptance (accepted / drafted), mean_accepted_len (tokens per verification),
forwards_per_token (target forwards / generated tokens). The summary lists
them for each run, with the tokens/s ratio of each speculative run to the
plain run on the same prompt, and notes any generation that stopped at EOS
before N tokens or generated other tokens than its plain run.

All three take the compiled artifact from the cache, or compile it with the
ember-compile next to this binary on a miss.

fusion: decode steps (as decode's BM_EmberDecodeStep) and prompt
prefills, one benchmark of each per build: BM_Decode/all-on, /all-off,
/without-<fusion> for each fusion pass (ember-compile --disable-fusion) and
/moe-untiled (--moe-rows-per-tile=1: the MoE groups not padded, one expert
row per gate/up thread), the same for BM_Prefill, on decode's checkpoint;
for each build it also runs ember-compile --report and prints the kernels
and modelled bytes of one decode step (at the mean decode position), with
every figure as a ratio to the all-on build of the same run, and the
achieved GB/s (modelled bytes x decode steps/s); the report is that of the
backend's target (--target nvptx on CUDA, whose default fusions differ).

layer: times one shortcut layer and the lm_head at the preset's shapes
(models/longcat-flash-lite/config.json included): the preset with
num_layers = 1 (written to <cache-dir>/layer-configs/) is compiled for the
backend and its ember_forward (the layer, the final norm and the lm_head on
given input rows) called on random weights, KV cache and input rows written
into backend memory: no checkpoint is read or written. Benchmarks:
  BM_Layer/decode-T<T>    T rows after context - T cached positions, for each
                          T of --decode-tokens (default 1,8,64)
  BM_Layer/prefill-T<T>   T = --prefill-tokens rows (default: the context) at
                          position 0
The summary gives per case ms/call; the bytes ember-compile --report models
for that call (--report-function=ember_forward --batch=T
--report-position=start) as MB, GB/s and, on CUDA, fractions of the memory
peak and of a device-to-device copy measured in the run; the GFLOP of its
matrix products (linears, router, lm_head, the topk x R/(R+Z) real experts a
row reaches on average, MLA attention over the latent cache) as TFLOP/s and
as a fraction of the bf16 matrix-product rate PyTorch reaches on the same
device in the same run (test/reference/matmul_rate.py, a subprocess: cuBLAS
on CUDA, one thread on the CPU).

options (ngram):
  --preset <name|file.json>  preset name (looked up as <presets-dir>/<name>.json)
                             or a path to a config.json-style file (required)
  --tokens T                 prompt length, T >= 1 (required)
  --dtype bf16|f32|f16       weight dtype (default bf16)
  --seed S                   seed of the weights and the prompt (default 1)
  --cache-dir D              artifact cache (default: $EMBER_CACHE_DIR, else
                             $XDG_CACHE_HOME/ember, else $HOME/.cache/ember)
  --presets-dir D            where preset names are looked up
                             (default )" EMBER_PRESETS_DIR R"()

options (decode):
  --preset <name|file.json>  as for ngram (required), e.g. small or tiny
  --prompt-len P             prompt tokens, P >= 1 (default 32)
  --new-tokens N             decode steps per prefill, N >= 1 (default 32); the
                             KV cache holds P + N positions
  --batch B[,B...]           sequences decoded together, B >= 1 (default 1); a
                             list (e.g. 1,8,32,128) times each batch in one run,
                             the weights loaded once (BM_EmberDecodeStep/B<B>,
                             ...) and a summary per batch; the prefill timed is
                             that of the largest batch's prompts
  --dtype bf16|f32           checkpoint (and compiled weight) dtype (default bf16)
  --seed S                   seed of the checkpoint and of ember's prompt (default 1)
  --threads K                PyTorch threads for the reference (default 1)
  --cache-dir D              artifact cache; checkpoints go to D/checkpoints
                             (default as for ngram)
  --presets-dir D            as for ngram
  --backend auto|cpu|cuda    where ember runs (default cpu)
  --disable-fusion LIST      compile the artifact without these fusion passes
                             (ember-compile --disable-fusion; default: all on)
  --no-cooperative-kernels   cuda: compile every op one thread per element
                             (ember-compile --cooperative-kernels=false), the
                             baseline of the cooperative strategies
  --no-reference             do not run the PyTorch reference
  --weights checkpoint|random
                             checkpoint (default): the synthesized checkpoint;
                             random: no checkpoint, the weights are generated
                             as they load, straight into backend memory (for
                             configs no disk holds, e.g. the whole model:
                             --preset models/longcat-flash-lite/config.json);
                             the reference, which reads a checkpoint, is not run
  --compile-only             compile the artifact (or find it in the cache),
                             print its path and exit: how scripts/gpu-bundle
                             records it
  --profile                  after the benchmark (so its figures carry no
                             profiling cost), prefill again and profile N decode
                             steps of the batch: each kernel launch's device time
                             from CUDA events (needs the cuda backend: --backend
                             cuda, or auto on a GPU); prints one row per ember op
                             after the summary, as ember-run --profile does
                             (launches, blocks, threads, total ms, mean us,
                             modelled MB, GB/s, % of the memory peak and of the
                             copy ceiling, then a total row)
  --profile-json FILE        profile as --profile does and write that table as
                             JSON to FILE (as ember-run --profile-json; alone,
                             it prints no table); FILE is checked before the
                             benchmark runs
  --force                    replace a read-only --profile-json FILE

options (spec):
  --preset <name|file.json>  as for ngram (required), e.g. small or tiny
  --prompt-len P             prompt tokens, P >= 1 (default 64)
  --new-tokens N             tokens generated per iteration, N >= 1 (default 64);
                             the KV cache holds P + N positions
  --draft-steps K            tokens drafted per verification, K >= 1 (default 3)
  --dtype bf16|f32           as for decode (default bf16)
  --seed S                   seed of the checkpoint and of the prompts (default 1)
  --cache-dir D              as for decode
  --presets-dir D            as for ngram
  --backend auto|cpu|cuda    as for decode
  --disable-fusion LIST      as for decode
  --no-cooperative-kernels   as for decode

options (fusion):
  --preset <name|file.json>  as for decode (required)
  --prompt-len P, --new-tokens N, --dtype, --seed, --cache-dir, --presets-dir,
  --backend                  as for decode (defaults 32, 32, bf16, 1, cpu); on
                             CUDA the summary also gives the achieved GB/s
                             (modelled bytes x steps/s) over the memory peak
                             and over the copy rate measured in the run

options (layer):
  --preset <name|file.json>  as for ngram (required), e.g. small, or
                             models/longcat-flash-lite/config.json
  --context C                cached positions of the decode cases and rows of
                             the prefill (default min(4096,
                             max_position_embeddings))
  --decode-tokens LIST       decode rows T, comma-separated (default 1,8,64);
                             each T <= C
  --prefill-tokens T         prefill rows (default C; 0: no prefill case)
  --dtype bf16|f32           weight dtype (default bf16)
  --seed S                   seed of the random values (default 1)
  --cache-dir D, --presets-dir D, --backend auto|cpu|cuda, --disable-fusion
  LIST, --no-cooperative-kernels
                             as for decode
  --profile                  after the benchmark, 3 calls of each case with
                             every kernel timed (CUDA events; needs the cuda
                             backend): one table per case, as decode --profile
  --matmul-reference FILE    the ceiling's script (default
                             )" EMBER_SOURCE_DIR R"(/test/reference/matmul_rate.py),
                             run with /usr/bin/python3
  --no-matmul-ceiling        do not measure the matrix-product ceiling
  --compile-only             compile the one-layer artifact (or find it in the
                             cache) and print its path, then the bytes
                             ember-compile --report models for each case
                             (the --modelled-bytes file), and exit: how
                             scripts/gpu-bundle records the benchmark
  --modelled-bytes FILE      take each case's modelled bytes from FILE, which
                             --compile-only wrote for the same artifact (a GPU
                             bundle has no ember-compile to model them)

common:
  --benchmark_*              passed to Google Benchmark, e.g.
                             --benchmark_repetitions=5 --benchmark_min_time=2
                             (with repetitions the summary uses the medians)
  --help                     print this help
)";

void printUsage() { std::cout << kUsage; }

int benchMain(int argc, char **argv) {
  // Google Benchmark takes its --benchmark_* flags (and --help) out of argv.
  benchmark::Initialize(&argc, argv, printUsage);
  std::string name = argc < 2 ? "" : argv[1];
  if (name == "--version") {
    std::cout << rt::versionLine("ember-bench") << "\n";
    return 0;
  }
  if (name == "ngram")
    return bench::ngramMain(argc - 1, argv + 1);
  if (name == "decode")
    return bench::decodeMain(argc - 1, argv + 1);
  if (name == "spec")
    return bench::specMain(argc - 1, argv + 1);
  if (name == "fusion")
    return bench::fusionMain(argc - 1, argv + 1);
  if (name == "layer")
    return bench::layerMain(argc - 1, argv + 1);
  const std::string expected = "expected 'ngram', 'decode', 'spec', 'fusion' or 'layer' (see --help)";
  throw Error(argc < 2 ? "missing benchmark name; " + expected : "unknown benchmark '" + name + "'; " + expected);
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-bench", [&] { return benchMain(argc, argv); });
}
