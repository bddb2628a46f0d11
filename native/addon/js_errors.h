// The one place where native failures become JavaScript errors. Error classes
// come from lib/errors.ts, handed over once at start-up (setErrorClasses), so
// native errors and TypeScript errors share one shape: Node's SystemError
// (code, errno as a negative number, syscall, message naming the fix).
#pragma once

#include <napi.h>

#include <errno.h>
#include <string.h>

#include <string>

#include "common/system_error.h"

namespace dmem::addon {

// Stores the constructors lib/errors.ts exports: SystemError(message, code,
// errno, syscall) and DmemError(message, code).
void set_error_classes(const Napi::CallbackInfo& info);

Napi::Error system_error(Napi::Env env, int err, const std::string& syscall,
                         const std::string& message);
Napi::Error system_error(Napi::Env env, const SystemError& error);
Napi::Error dmem_error(Napi::Env env, const std::string& code, const std::string& message);

// Runs `body`, turning a dmem::SystemError into the JS SystemError.
template <typename Body>
auto translate(Napi::Env env, Body body) -> decltype(body()) {
  try {
    return body();
  } catch (const SystemError& error) {
    throw system_error(env, error);
  }
}

// For data-path results: throws the JS SystemError when rc < 0.
inline long check_result(Napi::Env env, long rc, const char* syscall, const std::string& context) {
  if (rc == -ECANCELED) {
    throw dmem_error(env, "ERR_DMEM_CLOSED", std::string(syscall) + " " + context + ": the region is closed");
  }
  if (rc < 0) {
    int err = static_cast<int>(-rc);
    throw system_error(env, err, syscall, std::string(syscall) + " " + context + ": " + strerror(err));
  }
  return rc;
}


}  // namespace dmem::addon
