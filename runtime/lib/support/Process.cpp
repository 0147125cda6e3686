#include "ember/runtime/Process.h"

#include "ember/model/Error.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ember::rt {

static constexpr char kParentPidVariable[] = "EMBER_PARENT_PID";

// Our environment with EMBER_PARENT_PID set to our pid (replacing any
// inherited one).
static std::vector<std::string> childEnvironment() {
  std::vector<std::string> variables;
  std::string prefix = std::string(kParentPidVariable) + "=";
  for (char **entry = environ; *entry; ++entry)
    if (std::strncmp(*entry, prefix.c_str(), prefix.size()) != 0)
      variables.emplace_back(*entry);
  variables.push_back(prefix + std::to_string(::getpid()));
  return variables;
}

void exitWithParent() {
  const char *parent = std::getenv(kParentPidVariable);
  if (!parent)
    return;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before prctl: we were re-parented already.
  if (std::to_string(::getppid()) != parent) {
    std::fprintf(stderr, "%s=%s is not this process's parent (it exited, or the variable was inherited): exiting\n",
                 kParentPidVariable, parent);
    std::_Exit(1);
  }
}

std::string formatCommand(const std::vector<std::string> &argv) {
  std::string text;
  for (const std::string &arg : argv) {
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    text += (text.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  return text;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status))
    return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

int runProcess(const std::vector<std::string> &argv, ChildOutput output, std::string *captured) {
  std::vector<char *> args;
  for (const std::string &arg : argv)
    args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);
  bool capture = output == ChildOutput::Capture;
  int pipeFds[2] = {-1, -1};
  if (capture && ::pipe(pipeFds) != 0)
    throw Error("pipe failed: " + std::string(std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (capture) {
    posix_spawn_file_actions_addclose(&actions, pipeFds[0]);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipeFds[1]);
  } else if (output == ChildOutput::StdoutToStderr) {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  std::vector<std::string> environment = childEnvironment();
  std::vector<char *> environmentPointers;
  for (std::string &variable : environment)
    environmentPointers.push_back(variable.data());
  environmentPointers.push_back(nullptr);
  pid_t pid;
  int spawnError = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environmentPointers.data());
  posix_spawn_file_actions_destroy(&actions);
  if (capture)
    ::close(pipeFds[1]);
  if (spawnError != 0) {
    if (capture)
      ::close(pipeFds[0]);
    throw Error("cannot start " + argv[0] + ": " + std::strerror(spawnError) + ": " + formatCommand(argv));
  }
  if (capture) {
    char buffer[4096];
    for (;;) {
      ssize_t n = ::read(pipeFds[0], buffer, sizeof buffer);
      if (n > 0 && captured)
        captured->append(buffer, size_t(n));
      else if (n == 0 || (n < 0 && errno != EINTR))
        break;
    }
    ::close(pipeFds[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      throw Error("waiting for " + argv[0] + " failed: " + std::strerror(errno));
  return status;
}

} // namespace ember::rt
