#include "common/system_error.h"

#include <string.h>

namespace dmem {

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : "E" + std::to_string(err);
}

void throw_errno(int err, const char* syscall, const std::string& context) {
  std::string message = std::string(syscall) + " " + context + ": " + strerror(err);
  throw SystemError(err, syscall, std::move(message));
}

}  // namespace dmem
