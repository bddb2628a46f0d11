// runWorkload(name, baseAddress, bytes, threadIndex, threads, seed, params, sync: Int32Array)
//   -> { checksum, ok, message, cancelled, opsDone, bytesTouched, distinctPages,
//        initNs, measuredNs, verifyNs }
// Synchronous: the calling thread (a bench vCPU worker) runs the workload on
// the memory at baseAddress, which may be a dmem region whose faults other
// threads serve. Never call it on a thread a pager lane depends on.
//
// allocatePlain(bytes) -> { buffer, address }: anonymous memory for the
// local-only baseline; freePlain(buffer) unmaps it now (the GC would later).
#include "addon/workload_wrap.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "addon/args.h"
#include "addon/js_errors.h"
#include "workloads/workload.h"

namespace dmem::addon {

namespace {

using workloads::Result;

// Plain mappings handed out, by address, each with a serial number: once a
// mapping is freed, mmap may hand the same address out again, and the old
// buffer's finalizer (run later by the GC) must not unmap the new one.
struct PlainMapping {
  size_t length;
  uint64_t serial;
};
std::mutex plain_mutex;
uint64_t plain_serial = 0;
std::map<void*, PlainMapping>& plain_mappings() {
  static std::map<void*, PlainMapping> mappings;
  return mappings;
}

// Unmaps `data` if it is still mapping number `serial` (0: whichever it is).
void unmap_plain(void* data, uint64_t serial) {
  std::lock_guard<std::mutex> lock(plain_mutex);
  auto it = plain_mappings().find(data);
  if (it == plain_mappings().end() || (serial != 0 && it->second.serial != serial)) return;
  ::munmap(it->first, it->second.length);
  plain_mappings().erase(it);
}

Napi::Value allocate_plain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = to_size(env, info[0], "bytes", "allocatePlain");
  if (bytes == 0) throw Napi::RangeError::New(env, "allocatePlain: bytes must be positive");
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) {
    throw dmem_error(env, "ERR_DMEM_NO_MEMORY",
                     "allocatePlain: mmap of " + std::to_string(bytes) + " bytes failed: " + std::strerror(errno));
  }
  auto* serial = new uint64_t(0);
  {
    std::lock_guard<std::mutex> lock(plain_mutex);
    *serial = ++plain_serial;
    plain_mappings()[data] = PlainMapping{bytes, *serial};
  }
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, data, bytes,
      [](Napi::Env, void* p, uint64_t* hint) {
        unmap_plain(p, *hint);
        delete hint;
      },
      serial);
  Napi::Object result = Napi::Object::New(env);
  result.Set("buffer", buffer);
  result.Set("address", Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(data))));
  return result;
}

Napi::Value free_plain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "freePlain: expected the buffer from allocatePlain");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  void* data = buffer.Data();
  if (data == nullptr) return env.Undefined();  // already detached
  buffer.Detach();
  unmap_plain(data, 0);  // a live, attached buffer owns the current mapping at its address
  return env.Undefined();
}

Napi::Value workload_names(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto names = workloads::workload_names();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Value run_workload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "runWorkload";
  const std::string name = to_string_arg(env, info[0], "name", op);
  workloads::WorkloadFn fn = workloads::find_workload(name);
  if (fn == nullptr) throw Napi::RangeError::New(env, std::string(op) + ": unknown workload " + name);
  const uint64_t address = to_size(env, info[1], "baseAddress", op);
  const size_t bytes = to_size(env, info[2], "bytes", op);
  const uint32_t thread = static_cast<uint32_t>(to_size(env, info[3], "threadIndex", op));
  const uint32_t threads = static_cast<uint32_t>(to_size(env, info[4], "threads", op));
  const uint64_t seed = to_size(env, info[5], "seed", op);
  if (address == 0 || address % workloads::kPage != 0) throw Napi::RangeError::New(env, std::string(op) + ": baseAddress must be a page-aligned address");
  if (bytes < 64 * 1024) throw Napi::RangeError::New(env, std::string(op) + ": bytes must be at least 64 KiB");
  if (threads == 0 || threads > workloads::kMaxThreads || thread >= threads)
    throw Napi::RangeError::New(env, std::string(op) + ": need 0 <= threadIndex < threads <= 64");
  if (!info[6].IsObject()) throw Napi::TypeError::New(env, std::string(op) + ": params must be an object of numbers");
  std::map<std::string, double> params;
  Napi::Object p = info[6].As<Napi::Object>();
  Napi::Array keys = p.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    Napi::Value key = keys.Get(i);
    Napi::Value value = p.Get(key);
    if (!value.IsNumber()) throw Napi::TypeError::New(env, std::string(op) + ": param " + key.ToString().Utf8Value() + " must be a number");
    params[key.ToString().Utf8Value()] = value.As<Napi::Number>().DoubleValue();
  }
  // sync: an Int32Array over a SharedArrayBuffer (node-addon-api has no
  // SharedArrayBuffer type at NAPI_VERSION 8; a typed array view reaches it).
  if (!info[7].IsTypedArray()) throw Napi::TypeError::New(env, std::string(op) + ": sync must be an Int32Array over a SharedArrayBuffer");
  Bytes sync_bytes = bytes_of(env, info[7], op);
  void* sync_data = sync_bytes.data;
  size_t sync_length = sync_bytes.length;
  if (sync_length < workloads::kSyncBytes) throw Napi::RangeError::New(env, std::string(op) + ": sync is too small");
  auto* words = static_cast<int32_t*>(sync_data);
  workloads::Run run({words, reinterpret_cast<double*>(static_cast<uint8_t*>(sync_data) + 64)}, thread, threads);
  workloads::Context ctx{reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(address)), bytes, seed, &run, &params};
  Result r;
  bool cancelled = false;
  try {
    fn(ctx, r);
  } catch (const workloads::Cancelled&) {
    cancelled = true;
    r.fail(name + ": cancelled");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("checksum", Napi::Number::New(env, static_cast<double>(r.checksum & ((1ull << 53) - 1))));
  out.Set("ok", Napi::Boolean::New(env, r.ok));
  out.Set("message", Napi::String::New(env, r.message));
  out.Set("cancelled", Napi::Boolean::New(env, cancelled));
  out.Set("opsDone", Napi::Number::New(env, static_cast<double>(r.ops)));
  out.Set("bytesTouched", Napi::Number::New(env, static_cast<double>(r.bytes_touched)));
  out.Set("distinctPages", Napi::Number::New(env, static_cast<double>(r.distinct_pages)));
  out.Set("initNs", Napi::Number::New(env, r.init_ns));
  out.Set("measuredNs", Napi::Number::New(env, r.measured_ns));
  out.Set("verifyNs", Napi::Number::New(env, r.verify_ns));
  return out;
}

}  // namespace

void define_workloads(Napi::Env env, Napi::Object exports) {
  exports.Set("runWorkload", Napi::Function::New(env, run_workload));
  exports.Set("workloadNames", Napi::Function::New(env, workload_names));
  exports.Set("allocatePlain", Napi::Function::New(env, allocate_plain));
  exports.Set("freePlain", Napi::Function::New(env, free_plain));
}

}  // namespace dmem::addon
