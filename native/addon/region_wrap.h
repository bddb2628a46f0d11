// NativeRegion: the JS handle of a RegionCore. Created by createRegion (the
// owner) or attachRegion (any thread, by id). Argument checks here keep bad
// values from reaching the kernel; policy lives in lib/uffd/.
#pragma once

#include <napi.h>

#include <memory>

#include "uffd/region.h"

namespace dmem::addon {

class RegionWrap : public Napi::ObjectWrap<RegionWrap> {
 public:
  static void define(Napi::Env env, Napi::Object exports);
  explicit RegionWrap(const Napi::CallbackInfo& info);
  ~RegionWrap() override;

 private:
  // The live core, or a thrown ERR_DMEM_CLOSED naming the operation.
  RegionCore& live(Napi::Env env, const char* operation);
  size_t checked_range(Napi::Env env, const Napi::Value& offset, const Napi::Value& length,
                       const char* operation, size_t* length_out);

  Napi::Value id(const Napi::CallbackInfo& info);
  Napi::Value address(const Napi::CallbackInfo& info);
  Napi::Value size(const Napi::CallbackInfo& info);
  Napi::Value features(const Napi::CallbackInfo& info);
  Napi::Value ioctls(const Napi::CallbackInfo& info);
  Napi::Value register_mode(const Napi::CallbackInfo& info);
  Napi::Value is_owner(const Napi::CallbackInfo& info);
  Napi::Value closed(const Napi::CallbackInfo& info);
  Napi::Value view(const Napi::CallbackInfo& info);
  Napi::Value copy(const Napi::CallbackInfo& info);
  Napi::Value continue_range(const Napi::CallbackInfo& info);
  Napi::Value zeropage(const Napi::CallbackInfo& info);
  Napi::Value wake(const Napi::CallbackInfo& info);
  Napi::Value poison(const Napi::CallbackInfo& info);
  Napi::Value write_protect(const Napi::CallbackInfo& info);
  Napi::Value read_events(const Napi::CallbackInfo& info);
  Napi::Value pread(const Napi::CallbackInfo& info);
  Napi::Value pwrite(const Napi::CallbackInfo& info);
  Napi::Value punch_hole(const Napi::CallbackInfo& info);
  Napi::Value dontneed(const Napi::CallbackInfo& info);
  Napi::Value allocated_bytes(const Napi::CallbackInfo& info);
  Napi::Value pagemap_scan(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  std::shared_ptr<RegionCore> core_;  // null once this handle is closed
  uint32_t id_ = 0;
  bool owner_ = false;
};

// createRegion(path, userModeOnly, size, features, registerMode, name)
Napi::Value create_region(const Napi::CallbackInfo& info);
// attachRegion(id)
Napi::Value attach_region(const Napi::CallbackInfo& info);

}  // namespace dmem::addon
