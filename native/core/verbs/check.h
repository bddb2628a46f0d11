// libibverbs reports failure three ways; one checker for each, so that no
// call site guesses which convention a function follows.
//   1. A NULL result with errno set (ibv_open_device, ibv_alloc_pd, ...).
//   2. A returned errno value, 0 on success (ibv_query_port, ibv_modify_qp, ...).
//   3. A negative count from ibv_poll_cq.
// Failed work completions are not system errors: see WorkCompletionError.
#pragma once

#include <errno.h>

#include <string>

#include "common/system_error.h"

namespace dmem::verbs {

template <typename T>
T* check_null(T* result, const char* call, const std::string& context) {
  if (result == nullptr) throw_errno(errno != 0 ? errno : ENOMEM, call, context);
  return result;
}

inline void check_ret(int ret, const char* call, const std::string& context) {
  if (ret != 0) throw_errno(ret > 0 ? ret : -ret, call, context);
}

inline int check_poll(int ret, const char* call, const std::string& context) {
  if (ret < 0) throw_errno(EIO, call, context + " (poll returned " + std::to_string(ret) + ")");
  return ret;
}

}  // namespace dmem::verbs
