#pragma once

#include <string>
#include <vector>

namespace ember::rt {

// Where a child's stdout/stderr go.
enum class ChildOutput {
  Inherit,        // both inherited
  StdoutToStderr, // stdout joins our stderr (our stdout carries only results)
  Capture,        // both collected into `captured`
};

// Runs argv (argv[0] a path) without a shell and returns its wait status;
// throws if it cannot be started.
int runProcess(const std::vector<std::string> &argv, ChildOutput output = ChildOutput::Inherit,
               std::string *captured = nullptr);

// "exit status 3", "killed by signal 9", ...
std::string describeWaitStatus(int status);

// Shell-style rendering of argv, for messages (nothing runs through a shell).
std::string formatCommand(const std::vector<std::string> &argv);

} // namespace ember::rt
