// NativeVerbsNode, and the endpoint and port conversions both sides use.
#include <stdio.h>
#include <string.h>

#include <string>

#include "addon/args.h"
#include "addon/js_errors.h"
#include "addon/verbs_wrap.h"

namespace dmem::addon {

namespace {

Napi::Error closed(Napi::Env env, const std::string& what) {
  return dmem_error(env, "ERR_DMEM_CLOSED", what + " is closed; open a new one");
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Napi::Object endpoint_to_js(Napi::Env env, const verbs::QpEndpoint& e) {
  char gid[33];
  for (int i = 0; i < 16; i++) snprintf(gid + 2 * i, 3, "%02x", e.gid.raw[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("qpn", Napi::Number::New(env, e.qpn));
  o.Set("psn", Napi::Number::New(env, e.psn));
  o.Set("gid", Napi::String::New(env, gid));
  o.Set("lid", Napi::Number::New(env, e.lid));
  o.Set("mtu", Napi::Number::New(env, e.mtu));
  return o;
}

verbs::QpEndpoint endpoint_from_js(Napi::Env env, const Napi::Value& value, const char* operation) {
  if (!value.IsObject()) throw Napi::TypeError::New(env, std::string(operation) + ": endpoint must be an object");
  Napi::Object o = value.As<Napi::Object>();
  verbs::QpEndpoint e;
  const uint64_t qpn = to_size(env, o.Get("qpn"), "endpoint.qpn", operation);
  const uint64_t psn = to_size(env, o.Get("psn"), "endpoint.psn", operation);
  const uint64_t lid = to_size(env, o.Get("lid"), "endpoint.lid", operation);
  const uint64_t mtu = to_size(env, o.Get("mtu"), "endpoint.mtu", operation);
  if (qpn == 0 || qpn > 0xffffff || psn > 0xffffff || lid > 0xffff || verbs::mtu_from_bytes(static_cast<uint32_t>(mtu)) == 0) {
    throw Napi::RangeError::New(env, std::string(operation) + ": endpoint qpn (1..2^24-1), psn (< 2^24), lid (< 2^16) or mtu (256..4096) out of range");
  }
  const std::string gid = to_string_arg(env, o.Get("gid"), "endpoint.gid", operation);
  if (gid.size() != 32) throw Napi::RangeError::New(env, std::string(operation) + ": endpoint.gid must be 32 hex digits");
  for (int i = 0; i < 16; i++) {
    const int hi = hex_digit(gid[2 * i]), lo = hex_digit(gid[2 * i + 1]);
    if (hi < 0 || lo < 0) throw Napi::RangeError::New(env, std::string(operation) + ": endpoint.gid must be 32 lowercase hex digits");
    e.gid.raw[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  e.qpn = static_cast<uint32_t>(qpn);
  e.psn = static_cast<uint32_t>(psn);
  e.lid = static_cast<uint16_t>(lid);
  e.mtu = static_cast<uint32_t>(mtu);
  return e;
}

void set_port_facts(Napi::Env env, Napi::Object target, const std::string& device, const verbs::PortSelection& port) {
  target.Set("device", Napi::String::New(env, device));
  target.Set("port", Napi::Number::New(env, port.port));
  target.Set("gidIndex", Napi::Number::New(env, port.gid_index));
  target.Set("gid", Napi::String::New(env, port.gid_index >= 0 ? verbs::format_gid(port.gid) : ""));
  target.Set("linkLayer", Napi::String::New(env, port.roce ? "Ethernet" : "InfiniBand"));
  target.Set("lid", Napi::Number::New(env, port.lid));
  target.Set("mtu", Napi::Number::New(env, verbs::mtu_bytes(port.active_mtu)));
}

// ---------------------------------------------------------------- NativeVerbsNode

Napi::Function VerbsNodeWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeVerbsNode",
                     {InstanceMethod<&VerbsNodeWrap::describe>("describe"),
                      InstanceAccessor<&VerbsNodeWrap::queue_pairs>("queuePairs"),
                      InstanceMethod<&VerbsNodeWrap::open_session>("openSession"),
                      InstanceMethod<&VerbsNodeWrap::close_session>("closeSession"),
                      InstanceMethod<&VerbsNodeWrap::grant>("grant"),
                      InstanceMethod<&VerbsNodeWrap::revoke>("revoke"),
                      InstanceMethod<&VerbsNodeWrap::connect_qp>("connectQp"),
                      InstanceMethod<&VerbsNodeWrap::disconnect_qp>("disconnectQp"),
                      InstanceMethod<&VerbsNodeWrap::close>("close")});
}

// new NativeVerbsNode({ device, port, gidIndex, slabSize, slots })
VerbsNodeWrap::VerbsNodeWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VerbsNodeWrap>(info) {
  Napi::Env env = info.Env();
  const char* op = "NativeVerbsNode";
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "NativeVerbsNode: options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  verbs::RdmaPoolOptions options;
  options.device = to_string_arg(env, o.Get("device"), "device", op);
  options.port = static_cast<uint8_t>(to_size(env, o.Get("port"), "port", op));
  options.gid_index = o.Get("gidIndex").IsNumber() ? static_cast<int>(to_size(env, o.Get("gidIndex"), "gidIndex", op)) : -1;
  options.slab_size = to_size(env, o.Get("slabSize"), "slabSize", op);
  options.slots = static_cast<uint32_t>(to_size(env, o.Get("slots"), "slots", op));
  translate(env, [&] {
    pool_ = std::make_unique<verbs::RdmaPool>(options);
    return 0;
  });
}

verbs::RdmaPool& VerbsNodeWrap::pool(Napi::Env env, const char* operation) {
  if (pool_ == nullptr) throw closed(env, std::string("verbs memory node (") + operation + ")");
  return *pool_;
}

// describe() -> { device, port, gidIndex, gid, linkLayer, lid, mtu, addressBase }
Napi::Value VerbsNodeWrap::describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  verbs::RdmaPool& p = pool(env, "describe");
  Napi::Object o = Napi::Object::New(env);
  set_port_facts(env, o, p.device_name(), p.port());
  o.Set("addressBase", Napi::Number::New(env, static_cast<double>(p.address_base())));
  return o;
}

Napi::Value VerbsNodeWrap::queue_pairs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pool_ == nullptr ? 0 : pool_->queue_pairs());
}

Napi::Value VerbsNodeWrap::open_session(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t session = static_cast<uint32_t>(to_size(env, info[0], "session", "openSession"));
  translate(env, [&] {
    pool(env, "openSession").open_session(session);
    return 0;
  });
  return env.Undefined();
}

Napi::Value VerbsNodeWrap::close_session(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t session = static_cast<uint32_t>(to_size(env, info[0], "session", "closeSession"));
  if (pool_ != nullptr) pool_->close_session(session);
  return env.Undefined();
}

// grant(slot, session) -> { address, key }
Napi::Value VerbsNodeWrap::grant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t slot = static_cast<uint32_t>(to_size(env, info[0], "slot", "grant"));
  const uint32_t session = static_cast<uint32_t>(to_size(env, info[1], "session", "grant"));
  return translate(env, [&] {
    verbs::RdmaGrant g = pool(env, "grant").grant(slot, session);
    Napi::Object o = Napi::Object::New(env);
    o.Set("address", Napi::Number::New(env, static_cast<double>(g.address)));
    o.Set("key", Napi::Number::New(env, g.rkey));
    return o;
  });
}

Napi::Value VerbsNodeWrap::revoke(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t slot = static_cast<uint32_t>(to_size(env, info[0], "slot", "revoke"));
  translate(env, [&] {
    pool(env, "revoke").revoke(slot);
    return 0;
  });
  return env.Undefined();
}

// connectQp(session, clientEndpoint) -> nodeEndpoint
Napi::Value VerbsNodeWrap::connect_qp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t session = static_cast<uint32_t>(to_size(env, info[0], "session", "connectQp"));
  const verbs::QpEndpoint client = endpoint_from_js(env, info[1], "connectQp");
  return translate(env, [&] { return endpoint_to_js(env, pool(env, "connectQp").connect_qp(session, client)); });
}

Napi::Value VerbsNodeWrap::disconnect_qp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t session = static_cast<uint32_t>(to_size(env, info[0], "session", "disconnectQp"));
  const uint32_t qpn = static_cast<uint32_t>(to_size(env, info[1], "qpn", "disconnectQp"));
  return Napi::Boolean::New(env, pool_ != nullptr && pool_->disconnect_qp(session, qpn));
}

// Every QP, MR, CQ and PD of the pool, then the device (RdmaPool's teardown).
Napi::Value VerbsNodeWrap::close(const Napi::CallbackInfo& info) {
  pool_.reset();
  return info.Env().Undefined();
}

}  // namespace dmem::addon
