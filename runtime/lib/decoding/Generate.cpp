#include "ember/runtime/Generate.h"
#include "ember/runtime/Scheduler.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <chrono>

namespace ember::rt {

DrafterKind parseDrafterKind(const std::string &name) {
  if (name == "none")
    return DrafterKind::None;
  if (name == "mtp")
    return DrafterKind::Mtp;
  if (name == "ngram")
    return DrafterKind::Ngram;
  throw Error("--speculative must be none, mtp or ngram, got '" + name + "'");
}

const char *drafterName(DrafterKind kind) {
  switch (kind) {
  case DrafterKind::None:
    return "none";
  case DrafterKind::Mtp:
    return "mtp";
  case DrafterKind::Ngram:
    return "ngram";
  }
  return "?";
}

void SpeculationStats::add(const SpeculationStats &other) {
  targetForwards += other.targetForwards;
  verifications += other.verifications;
  draftedTokens += other.draftedTokens;
  acceptedTokens += other.acceptedTokens;
}

double SpeculationStats::acceptanceRate() const {
  return draftedTokens ? double(acceptedTokens) / double(draftedTokens) : 0.0;
}

double SpeculationStats::meanAcceptedLength() const {
  return verifications ? double(acceptedTokens) / double(verifications) + 1.0 : 0.0;
}

int64_t BatchGeneration::promptTokens() const {
  int64_t total = 0;
  for (const Generation &sequence : sequences)
    total += sequence.promptTokens;
  return total;
}

int64_t BatchGeneration::generatedTokens() const {
  int64_t total = 0;
  for (const Generation &sequence : sequences)
    total += int64_t(sequence.tokens.size());
  return total;
}

int64_t BatchGeneration::decodeTokens() const {
  int64_t total = 0;
  for (const Generation &sequence : sequences)
    total += std::max<int64_t>(int64_t(sequence.tokens.size()) - 1, 0);
  return total;
}

double BatchGeneration::decodeTokensPerSecond() const {
  return decodeSeconds > 0 ? double(decodeTokens()) / decodeSeconds : 0.0;
}

double BatchGeneration::prefillTokensPerSecond() const {
  return prefillSeconds > 0 ? double(promptTokens()) / prefillSeconds : 0.0;
}

double BatchGeneration::targetForwardsPerToken() const {
  int64_t generated = generatedTokens();
  return generated ? double(stats.targetForwards) / double(generated) : 0.0;
}

std::vector<int32_t> promptLookupDraft(const std::vector<int32_t> &sequence, int64_t maxTokens, int64_t maxMatch) {
  auto length = int64_t(sequence.size());
  for (int64_t match = std::min(maxMatch, length - 1); match >= 1 && maxTokens > 0; --match) {
    auto suffix = sequence.end() - match;
    // Latest earlier occurrence first: recent context predicts best.
    for (int64_t begin = length - match - 1; begin >= 0; --begin) {
      if (!std::equal(suffix, sequence.end(), sequence.begin() + begin))
        continue;
      int64_t from = begin + match, to = std::min(length, from + maxTokens);
      return {sequence.begin() + from, sequence.begin() + to};
    }
  }
  return {};
}

void validateGenerationOptions(const Decoder &decoder, const GenerationOptions &options) {
  validateSampling(options.sampling);
  if (options.drafter != DrafterKind::None && options.draftSteps < 1)
    throw Error("--draft-steps must be at least 1, got " + std::to_string(options.draftSteps));
  if (!options.stopStrings.empty() && !options.tokenizer)
    throw Error("stop strings need the model's tokenizer (tokenizer.json)");
  for (const std::string &stop : options.stopStrings)
    if (stop.empty())
      throw Error("a stop string is empty");
  if (options.drafter == DrafterKind::Mtp && !decoder.hasDrafter())
    throw Error("--speculative mtp needs the MTP weights (model.mtp.*), which the checkpoint lacks");
}

std::string generatedText(const Tokenizer &tokenizer, const Generation &generation) {
  std::string text = tokenizer.decode(generation.tokens, /*skipSpecialTokens=*/true);
  // It stopped where the text first held it.
  if (size_t stop = text.find(generation.stopString); !generation.stopString.empty() && stop != std::string::npos)
    text.resize(stop);
  return text;
}

BatchGeneration generate(Decoder &decoder, const std::vector<std::vector<int32_t>> &prompts,
                         const GenerationOptions &options, const GenerationProgress &progress,
                         const std::vector<int64_t> &arrivals) {
  if (prompts.empty())
    throw Error("generate: no prompts given");
  if (!arrivals.empty() && arrivals.size() != prompts.size())
    throw Error("generate: " + std::to_string(arrivals.size()) + " arrival steps for " +
                std::to_string(prompts.size()) + " prompts");
  validateGenerationOptions(decoder, options);
  for (const std::vector<int32_t> &prompt : prompts)
    checkFitsContext(decoder.config(), decoder.maxContext(), int64_t(prompt.size()), options.maxNewTokens);

  Scheduler scheduler(decoder);
  BatchGeneration result;
  result.sequences.resize(prompts.size());
  auto start = std::chrono::steady_clock::now();
  size_t next = 0; // the next prompt to submit
  // Prompt i arrives once arrivals[i] steps have run, or earlier when the
  // scheduler has nothing else to do.
  auto arrived = [&](size_t i) {
    return arrivals.empty() || arrivals[i] <= scheduler.steps() || scheduler.idle();
  };
  while (true) {
    for (; next < prompts.size() && arrived(next); ++next) {
      GenerationOptions own = options;
      own.sampling.seed = options.sampling.seed + next;
      scheduler.submit(prompts[next], own);
    }
    if (!scheduler.step())
      break;
    for (auto &[id, generation] : scheduler.takeFinished())
      result.sequences[size_t(id)] = std::move(generation);
    if (progress)
      progress(scheduler.generatedTokens());
  }
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // All prompts arrive at once by default: the prefill phase ends with the
  // last sequence's first token.
  for (const Generation &sequence : result.sequences) {
    result.prefillSeconds = std::max(result.prefillSeconds, sequence.firstTokenSeconds);
    result.stats.add(sequence.stats);
  }
  result.decodeSeconds = total - result.prefillSeconds;
  result.steps = scheduler.steps();
  return result;
}

} // namespace ember::rt
