// dmem_core: userfaultfd regions and memfd mechanisms (later, transports).
#include <napi.h>

#include "addon/js_errors.h"
#include "addon/region_wrap.h"
#include "addon/transport_wrap.h"
#include "addon/workload_wrap.h"
#include "uffd/kernel_compat.h"
#include "uffd/userfaultfd.h"

namespace dmem::addon {

namespace {

// probeUffd(path, userModeOnly) -> { features, ioctls }: opens a fresh fd,
// asks for no feature so the kernel reports all it offers, and closes it.
Napi::Value probe_uffd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto path = static_cast<UffdOpenPath>(info[0].As<Napi::Number>().Int32Value());
  bool user_mode_only = info[1].ToBoolean();
  return translate(env, [&] {
    UniqueFd fd = open_userfaultfd(path, user_mode_only);
    UffdApi api = uffd_handshake(fd.get(), 0);
    Napi::Object result = Napi::Object::New(env);
    result.Set("features", Napi::Number::New(env, static_cast<double>(api.features)));
    result.Set("ioctls", Napi::BigInt::New(env, static_cast<uint64_t>(api.ioctls)));
    return result;
  });
}

Napi::Value pagemap_scan_probe(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), pagemap_scan_available());
}

Napi::Object kernel_constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, uint64_t value) {
    c.Set(name, Napi::Number::New(env, static_cast<double>(value)));
  };
  set("UFFD_FEATURE_PAGEFAULT_FLAG_WP", UFFD_FEATURE_PAGEFAULT_FLAG_WP);
  set("UFFD_FEATURE_EVENT_FORK", UFFD_FEATURE_EVENT_FORK);
  set("UFFD_FEATURE_EVENT_REMAP", UFFD_FEATURE_EVENT_REMAP);
  set("UFFD_FEATURE_EVENT_REMOVE", UFFD_FEATURE_EVENT_REMOVE);
  set("UFFD_FEATURE_MISSING_HUGETLBFS", UFFD_FEATURE_MISSING_HUGETLBFS);
  set("UFFD_FEATURE_MISSING_SHMEM", UFFD_FEATURE_MISSING_SHMEM);
  set("UFFD_FEATURE_EVENT_UNMAP", UFFD_FEATURE_EVENT_UNMAP);
  set("UFFD_FEATURE_SIGBUS", UFFD_FEATURE_SIGBUS);
  set("UFFD_FEATURE_THREAD_ID", UFFD_FEATURE_THREAD_ID);
  set("UFFD_FEATURE_MINOR_HUGETLBFS", UFFD_FEATURE_MINOR_HUGETLBFS);
  set("UFFD_FEATURE_MINOR_SHMEM", UFFD_FEATURE_MINOR_SHMEM);
  set("UFFD_FEATURE_EXACT_ADDRESS", UFFD_FEATURE_EXACT_ADDRESS);
  set("UFFD_FEATURE_WP_HUGETLBFS_SHMEM", UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
  set("UFFD_FEATURE_WP_UNPOPULATED", UFFD_FEATURE_WP_UNPOPULATED);
  set("UFFD_FEATURE_POISON", UFFD_FEATURE_POISON);
  set("UFFD_FEATURE_WP_ASYNC", UFFD_FEATURE_WP_ASYNC);
  set("UFFD_FEATURE_MOVE", UFFD_FEATURE_MOVE);
  set("UFFDIO_REGISTER_MODE_MISSING", UFFDIO_REGISTER_MODE_MISSING);
  set("UFFDIO_REGISTER_MODE_WP", UFFDIO_REGISTER_MODE_WP);
  set("UFFDIO_REGISTER_MODE_MINOR", UFFDIO_REGISTER_MODE_MINOR);
  set("PM_SCAN_WP_MATCHING", compat::kPmScanWpMatching);
  set("PM_SCAN_CHECK_WPASYNC", compat::kPmScanCheckWpAsync);
  return c;
}

Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClasses", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                set_error_classes(info);
              }));
  exports.Set("probeUffd", Napi::Function::New(env, probe_uffd));
  exports.Set("pagemapScanAvailable", Napi::Function::New(env, pagemap_scan_probe));
  exports.Set("createRegion", Napi::Function::New(env, create_region));
  exports.Set("attachRegion", Napi::Function::New(env, attach_region));
  exports.Set("constants", kernel_constants(env));
  RegionWrap::define(env, exports);
  define_transport(env, exports);
  define_bench(env, exports);
  define_workloads(env, exports);
  return exports;
}

}  // namespace

}  // namespace dmem::addon

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return dmem::addon::init_module(env, exports);
}

NODE_API_MODULE(dmem_core, Init)
