#include "addon/region_wrap.h"

#include <errno.h>

#include <string>

#include "addon/addon_data.h"
#include "addon/args.h"
#include "addon/js_errors.h"
#include "addon/region_registry.h"
#include "uffd/userfaultfd.h"

namespace dmem::addon {

namespace {

constexpr size_t kPage = 4096;

// A slice [offset, offset+length) of a caller's buffer, bounds-checked.
uint8_t* buffer_slice(Napi::Env env, const Napi::CallbackInfo& info, size_t index, size_t length,
                      const char* operation) {
  Bytes bytes = bytes_of(env, info[index], operation);
  size_t offset = to_size(env, info[index + 1], "buffer offset", operation);
  if (offset > bytes.length || length > bytes.length - offset) {
    throw Napi::RangeError::New(env, std::string(operation) + ": buffer of " +
                                         std::to_string(bytes.length) + " bytes is too small for " +
                                         std::to_string(length) + " bytes at offset " +
                                         std::to_string(offset));
  }
  return bytes.data + offset;
}

struct WrapInit {
  std::shared_ptr<RegionCore> core;
  uint32_t id;
  bool owner;
};

Napi::Object wrap(Napi::Env env, WrapInit init) {
  Napi::External<WrapInit> external = Napi::External<WrapInit>::New(env, &init);
  return addon_data(env)->region_class.New({external});
}

}  // namespace

void RegionWrap::define(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(
      env, "NativeRegion",
      {
          InstanceAccessor<&RegionWrap::id>("id"),
          InstanceAccessor<&RegionWrap::address>("address"),
          InstanceAccessor<&RegionWrap::size>("size"),
          InstanceAccessor<&RegionWrap::features>("features"),
          InstanceAccessor<&RegionWrap::ioctls>("ioctls"),
          InstanceAccessor<&RegionWrap::register_mode>("registerMode"),
          InstanceAccessor<&RegionWrap::is_owner>("owner"),
          InstanceAccessor<&RegionWrap::closed>("closed"),
          InstanceMethod<&RegionWrap::view>("view"),
          InstanceMethod<&RegionWrap::copy>("copy"),
          InstanceMethod<&RegionWrap::continue_range>("continue"),
          InstanceMethod<&RegionWrap::zeropage>("zeropage"),
          InstanceMethod<&RegionWrap::wake>("wake"),
          InstanceMethod<&RegionWrap::poison>("poison"),
          InstanceMethod<&RegionWrap::write_protect>("writeProtect"),
          InstanceMethod<&RegionWrap::read_events>("readEvents"),
          InstanceMethod<&RegionWrap::pread>("pread"),
          InstanceMethod<&RegionWrap::pwrite>("pwrite"),
          InstanceMethod<&RegionWrap::punch_hole>("punchHole"),
          InstanceMethod<&RegionWrap::dontneed>("dontneed"),
          InstanceMethod<&RegionWrap::allocated_bytes>("allocatedBytes"),
          InstanceMethod<&RegionWrap::pagemap_scan>("pagemapScan"),
          InstanceMethod<&RegionWrap::close>("close"),
      });
  addon_data(env)->region_class = Napi::Persistent(cls);
  exports.Set("NativeRegion", cls);
}

RegionWrap::RegionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RegionWrap>(info) {
  if (!info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "NativeRegion is created by createRegion or attachRegion");
  }
  WrapInit* init = info[0].As<Napi::External<WrapInit>>().Data();
  core_ = init->core;
  id_ = init->id;
  owner_ = init->owner;
}

// A handle that is collected without close() only drops its reference: views
// and attached handles may still use the region; the last one frees it.
RegionWrap::~RegionWrap() = default;

RegionCore& RegionWrap::live(Napi::Env env, const char* operation) {
  if (core_ == nullptr || core_->closed()) {
    throw dmem_error(env, "ERR_DMEM_CLOSED",
                     std::string("region.") + operation + "(): the region is closed (id " +
                         std::to_string(id_) + "); create a new region");
  }
  return *core_;
}

size_t RegionWrap::checked_range(Napi::Env env, const Napi::Value& offset_value,
                                 const Napi::Value& length_value, const char* operation,
                                 size_t* length_out) {
  RegionCore& core = live(env, operation);
  size_t offset = to_size(env, offset_value, "offset", operation);
  size_t length = to_size(env, length_value, "length", operation);
  if (offset % kPage != 0 || length % kPage != 0 || length == 0) {
    throw Napi::RangeError::New(env, std::string(operation) + ": offset " + std::to_string(offset) +
                                         " and length " + std::to_string(length) +
                                         " must be non-zero multiples of 4096");
  }
  if (offset > core.size() || length > core.size() - offset) {
    throw Napi::RangeError::New(env, std::string(operation) + ": range [" + std::to_string(offset) +
                                         ", " + std::to_string(offset + length) +
                                         ") is outside the region of " +
                                         std::to_string(core.size()) + " bytes");
  }
  *length_out = length;
  return offset;
}

Napi::Value RegionWrap::id(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), id_);
}

Napi::Value RegionWrap::address(const Napi::CallbackInfo& info) {
  RegionCore& core = live(info.Env(), "address");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(core.base())));
}

Napi::Value RegionWrap::size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env(), "size").size()));
}

Napi::Value RegionWrap::features(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env(), "features").features()));
}

Napi::Value RegionWrap::ioctls(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(live(info.Env(), "ioctls").ioctls()));
}

Napi::Value RegionWrap::register_mode(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           static_cast<double>(live(info.Env(), "registerMode").register_mode()));
}

Napi::Value RegionWrap::is_owner(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), owner_);
}

Napi::Value RegionWrap::closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_ == nullptr || core_->closed());
}

// view(offset, length): an external ArrayBuffer over region memory. It holds a
// reference to the region, so the mapping outlives it even after close().
Napi::Value RegionWrap::view(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "view", &length);
  auto* hold = new std::shared_ptr<RegionCore>(core_);
  return Napi::ArrayBuffer::New(
      env, core_->base() + offset, length,
      [](Napi::Env, void*, std::shared_ptr<RegionCore>* ref) { delete ref; }, hold);
}

// copy(offset, src, srcOffset, length, writeProtect) -> pages installed
Napi::Value RegionWrap::copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[3], "copy", &length);
  const uint8_t* src = buffer_slice(env, info, 1, length, "copy");
  long rc = core_->copy(offset, src, length, info[4].ToBoolean());
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "ioctl", "UFFDIO_COPY at offset " + std::to_string(offset) +
                                                          " length " + std::to_string(length))));
}

// continue(offset, length, writeProtect) -> pages mapped
Napi::Value RegionWrap::continue_range(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "continue", &length);
  long rc = core_->continue_range(offset, length, info[2].ToBoolean());
  if (rc == -EFAULT) {
    throw system_error(env, EFAULT, "ioctl",
                       "UFFDIO_CONTINUE at offset " + std::to_string(offset) + " length " +
                           std::to_string(length) +
                           ": a page in the range is not in the page cache; write it with pwrite "
                           "first, or resolve the fault with copy()");
  }
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "ioctl", "UFFDIO_CONTINUE at offset " + std::to_string(offset) +
                                                          " length " + std::to_string(length))));
}

Napi::Value RegionWrap::zeropage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "zeropage", &length);
  long rc = core_->zeropage(offset, length);
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "ioctl", "UFFDIO_ZEROPAGE at offset " + std::to_string(offset) +
                                                          " length " + std::to_string(length))));
}

Napi::Value RegionWrap::wake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "wake", &length);
  check_result(env, core_->wake(offset, length), "ioctl",
               "UFFDIO_WAKE at offset " + std::to_string(offset));
  return env.Undefined();
}

// poison(offset, length) -> pages poisoned
Napi::Value RegionWrap::poison(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "poison", &length);
  long rc = core_->poison(offset, length);
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "ioctl", "UFFDIO_POISON at offset " + std::to_string(offset) +
                                                          " (needs Linux >= 6.6)")));
}

// writeProtect(offset, length, protect, wake)
Napi::Value RegionWrap::write_protect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "writeProtect", &length);
  int rc = core_->write_protect(offset, length, info[2].ToBoolean(), info[3].ToBoolean());
  check_result(env, rc, "ioctl",
               "UFFDIO_WRITEPROTECT at offset " + std::to_string(offset) + " length " +
                   std::to_string(length) +
                   (rc == -ENOENT ? " (is the range resident? WP needs mapped pages)" : ""));
  return env.Undefined();
}

// readEvents(out: Float64Array, timeoutMs) -> events written, or -1 once closed
Napi::Value RegionWrap::read_events(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (core_ == nullptr || core_->closed()) return Napi::Number::New(env, -1);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "readEvents: out must be a Float64Array");
  }
  Napi::Float64Array out = info[0].As<Napi::Float64Array>();
  int max_events = static_cast<int>(out.ElementLength() / kEventStride);
  if (max_events == 0) throw Napi::RangeError::New(env, "readEvents: out holds no event (4 doubles each)");
  int timeout = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
  int rc = core_->read_events(out.Data(), max_events, timeout);
  if (rc == -ECANCELED) return Napi::Number::New(env, -1);
  check_result(env, rc, "read", "userfaultfd events");
  return Napi::Number::New(env, rc);
}

// pread(offset, dst, dstOffset, length) -> bytes read from the memfd
Napi::Value RegionWrap::pread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[3], "pread", &length);
  uint8_t* dst = buffer_slice(env, info, 1, length, "pread");
  long rc = core_->pread(offset, dst, length);
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "pread", "memfd offset " + std::to_string(offset))));
}

// pwrite(offset, src, srcOffset, length) -> bytes written into the memfd
Napi::Value RegionWrap::pwrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[3], "pwrite", &length);
  const uint8_t* src = buffer_slice(env, info, 1, length, "pwrite");
  long rc = core_->pwrite(offset, src, length);
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "pwrite", "memfd offset " + std::to_string(offset))));
}

Napi::Value RegionWrap::punch_hole(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "punchHole", &length);
  check_result(env, core_->punch_hole(offset, length), "fallocate",
               "PUNCH_HOLE at offset " + std::to_string(offset));
  return env.Undefined();
}

Napi::Value RegionWrap::dontneed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "dontneed", &length);
  check_result(env, core_->dontneed(offset, length), "madvise",
               "MADV_DONTNEED at offset " + std::to_string(offset));
  return env.Undefined();
}

Napi::Value RegionWrap::allocated_bytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  long rc = live(env, "allocatedBytes").allocated_bytes();
  return Napi::Number::New(env, static_cast<double>(check_result(env, rc, "fstat", "memfd")));
}

// pagemapScan(offset, length, flags, inverted, mask, anyof, returnMask, out: Float64Array)
Napi::Value RegionWrap::pagemap_scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  size_t offset = checked_range(env, info[0], info[1], "pagemapScan", &length);
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "pagemapScan: out must be a Float64Array");
  }
  Napi::Float64Array out = info[7].As<Napi::Float64Array>();
  auto mask = [&](size_t i) { return static_cast<uint64_t>(to_size(env, info[i], "mask", "pagemapScan")); };
  long rc = core_->pagemap_scan(offset, length, mask(2), mask(3), mask(4), mask(5), mask(6),
                                out.Data(), out.ElementLength() / 3);
  if (rc == -ENOTSUP) {
    throw system_error(env, ENOTSUP, "ioctl",
                       "PAGEMAP_SCAN is not offered by this kernel (Linux 6.7+); track dirty "
                       "pages with synchronous write-protect faults instead");
  }
  return Napi::Number::New(env, static_cast<double>(check_result(
                                    env, rc, "ioctl", "PAGEMAP_SCAN at offset " + std::to_string(offset))));
}

// close(): the owner frees the region (see region.h); an attached handle only
// lets go of it. Safe to call twice.
Napi::Value RegionWrap::close(const Napi::CallbackInfo& info) {
  if (core_ != nullptr) {
    if (owner_) {
      core_->close();
      unregister_region(id_);
    }
    core_.reset();
  }
  return info.Env().Undefined();
}

Napi::Value create_region(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "createRegion";
  auto path = static_cast<UffdOpenPath>(to_size(env, info[0], "path", op));
  bool user_mode_only = info[1].ToBoolean();
  RegionOptions options;
  options.size = to_size(env, info[2], "size", op);
  options.features = to_size(env, info[3], "features", op);
  options.register_mode = to_size(env, info[4], "registerMode", op);
  options.name = info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "dmem";
  if (options.size == 0 || options.size % kPage != 0) {
    throw Napi::RangeError::New(env, "createRegion: size must be a non-zero multiple of 4096");
  }
  return translate(env, [&] {
    std::shared_ptr<RegionCore> core =
        RegionCore::create(open_userfaultfd(path, user_mode_only), options);
    uint32_t id = register_region(core);
    return wrap(env, WrapInit{core, id, true});
  });
}

Napi::Value attach_region(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = static_cast<uint32_t>(to_size(env, info[0], "id", "attachRegion"));
  std::shared_ptr<RegionCore> core = find_region(id);
  if (core == nullptr) {
    throw dmem_error(env, "ERR_DMEM_CLOSED",
                     "attachRegion: region " + std::to_string(id) +
                         " is closed or does not exist in this process");
  }
  return wrap(env, WrapInit{core, id, false});
}

}  // namespace dmem::addon
