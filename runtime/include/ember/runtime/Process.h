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
// throws if it cannot be started. The child finds our pid in
// EMBER_PARENT_PID: an ember tool that calls exitWithParent() then dies when
// we do (SIGKILL included) instead of running on as an orphan.
int runProcess(const std::vector<std::string> &argv, ChildOutput output = ChildOutput::Inherit,
               std::string *captured = nullptr);

// For tools runProcess starts (ember-compile): asks the kernel for SIGKILL
// when the parent named by EMBER_PARENT_PID dies, and exits at once if it
// already has. Does nothing without the variable.
void exitWithParent();

// "exit status 3", "killed by signal 9", ...
std::string describeWaitStatus(int status);

// Shell-style rendering of argv, for messages (nothing runs through a shell).
std::string formatCommand(const std::vector<std::string> &argv);

} // namespace ember::rt
