// The bench suite's workloads for JavaScript: runWorkload, allocatePlain.
#pragma once

#include <napi.h>

namespace dmem::addon {

void define_workloads(Napi::Env env, Napi::Object exports);

}  // namespace dmem::addon
