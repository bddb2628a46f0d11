// Per-environment state of an addon (one per main thread or worker): the
// error classes from lib/errors.ts and the constructors of wrapped handles.
// Node frees it with the environment.
#pragma once

#include <napi.h>

namespace dmem::addon {

struct AddonData {
  Napi::FunctionReference system_error;  // SystemError(message, code, errno, syscall)
  Napi::FunctionReference dmem_error;    // DmemError(message, code)
  Napi::FunctionReference region_class;   // NativeRegion
  Napi::FunctionReference staging_class;  // NativeStaging
};

inline AddonData* addon_data(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return data;
}

}  // namespace dmem::addon
