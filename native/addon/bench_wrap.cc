// Handles for the raw socket baseline of `dmem bench transport`.
#include <napi.h>

#include <memory>

#include "addon/args.h"
#include "addon/js_errors.h"
#include "addon/handle_registry.h"
#include "addon/region_registry.h"
#include "pager/floor_pager.h"
#include "transport/raw_baseline.h"

namespace dmem::addon {

namespace {

class RawServerWrap : public Napi::ObjectWrap<RawServerWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeRawServer",
                       {InstanceAccessor<&RawServerWrap::port>("port"), InstanceMethod<&RawServerWrap::close>("close")});
  }
  // new NativeRawServer(host, port)
  explicit RawServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawServerWrap>(info) {
    Napi::Env env = info.Env();
    std::string host = to_string_arg(env, info[0], "host", "NativeRawServer");
    uint16_t port = static_cast<uint16_t>(to_size(env, info[1], "port", "NativeRawServer"));
    translate(env, [&] {
      server_ = std::make_unique<RawServer>(host, port);
      return 0;
    });
  }

 private:
  Napi::Value port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), server_ ? server_->port() : 0); }
  Napi::Value close(const Napi::CallbackInfo& info) {
    server_.reset();
    return info.Env().Undefined();
  }
  std::unique_ptr<RawServer> server_;
};

class RawClientWrap : public Napi::ObjectWrap<RawClientWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeRawClient",
                       {InstanceMethod<&RawClientWrap::run>("run"), InstanceMethod<&RawClientWrap::close>("close")});
  }
  // new NativeRawClient(host, port)
  explicit RawClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawClientWrap>(info) {
    Napi::Env env = info.Env();
    std::string host = to_string_arg(env, info[0], "host", "NativeRawClient");
    uint16_t port = static_cast<uint16_t>(to_size(env, info[1], "port", "NativeRawClient"));
    translate(env, [&] {
      client_ = std::make_unique<RawClient>(host, port);
      return 0;
    });
  }

 private:
  // run(size, inflight, latUs: Float64Array) -> elapsed ns; one run per element of latUs
  Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (client_ == nullptr) throw dmem_error(env, "ERR_DMEM_CLOSED", "raw baseline client is closed");
    uint32_t size = static_cast<uint32_t>(to_size(env, info[0], "size", "run"));
    uint32_t inflight = static_cast<uint32_t>(to_size(env, info[1], "inflight", "run"));
    auto lat = typed_array<Napi::Float64Array>(env, info[2], napi_float64_array, "latUs must be a Float64Array", "run");
    int64_t rc = client_->run(size, inflight, static_cast<uint32_t>(lat.ElementLength()), lat.Data());
    check_result(env, static_cast<long>(rc), "recv", "raw baseline run");
    return Napi::Number::New(env, static_cast<double>(rc));
  }
  Napi::Value close(const Napi::CallbackInfo& info) {
    client_.reset();
    return info.Env().Undefined();
  }
  std::unique_ptr<RawClient> client_;
};

class FloorPagerWrap : public Napi::ObjectWrap<FloorPagerWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeFloorPager",
                       {InstanceMethod<&FloorPagerWrap::stats>("stats"), InstanceMethod<&FloorPagerWrap::close>("close")});
  }
  // new NativeFloorPager(regionId, sessionId, addresses: Float64Array, keys: Float64Array,
  //                      slabSize, blockPages, budgetPages)
  explicit FloorPagerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FloorPagerWrap>(info) {
    Napi::Env env = info.Env();
    const char* op = "NativeFloorPager";
    auto region = find_region(static_cast<uint32_t>(to_size(env, info[0], "region id", op)));
    auto session = HandleRegistry<RemoteSession>::instance().find(static_cast<uint32_t>(to_size(env, info[1], "session id", op)));
    if (region == nullptr || session == nullptr) throw dmem_error(env, "ERR_DMEM_CLOSED", "NativeFloorPager: the region or session is closed");
    auto addresses = typed_array<Napi::Float64Array>(env, info[2], napi_float64_array, "addresses must be a Float64Array", op);
    auto keys = typed_array<Napi::Float64Array>(env, info[3], napi_float64_array, "keys must be a Float64Array", op);
    FloorPagerOptions options;
    for (size_t i = 0; i < addresses.ElementLength(); i++) options.slab_addresses.push_back(static_cast<uint64_t>(addresses[i]));
    for (size_t i = 0; i < keys.ElementLength(); i++) options.slab_keys.push_back(static_cast<uint32_t>(keys[i]));
    options.slab_size = to_size(env, info[4], "slabSize", op);
    options.block_pages = static_cast<uint32_t>(to_size(env, info[5], "blockPages", op));
    options.budget_pages = static_cast<uint32_t>(to_size(env, info[6], "budgetPages", op));
    translate(env, [&] {
      pager_ = std::make_unique<FloorPager>(region, session, options);
      return 0;
    });
  }

 private:
  Napi::Value stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (pager_ == nullptr) return o;
    FloorPagerStats s = pager_->stats();
    o.Set("faults", Napi::Number::New(env, static_cast<double>(s.faults)));
    o.Set("fetchedPages", Napi::Number::New(env, static_cast<double>(s.fetched_pages)));
    o.Set("evictedPages", Napi::Number::New(env, static_cast<double>(s.evicted_pages)));
    o.Set("failures", Napi::Number::New(env, static_cast<double>(s.failures)));
    return o;
  }
  Napi::Value close(const Napi::CallbackInfo& info) {
    pager_.reset();
    return info.Env().Undefined();
  }
  std::unique_ptr<FloorPager> pager_;
};

}  // namespace

void define_bench(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeFloorPager", FloorPagerWrap::define(env));
  exports.Set("NativeRawServer", RawServerWrap::define(env));
  exports.Set("NativeRawClient", RawClientWrap::define(env));
}

}  // namespace dmem::addon
