#include "ember/runtime/Process.h"

#include "ember/runtime/Error.h"

#include <cerrno>
#include <cstring>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ember::rt {

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
  pid_t pid;
  int spawnError = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
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
