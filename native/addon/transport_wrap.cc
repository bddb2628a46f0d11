#include "addon/transport_wrap.h"

#include <errno.h>

#include <string>

#include "addon/addon_data.h"
#include "addon/args.h"
#include "addon/handle_registry.h"
#include "addon/js_errors.h"
#include "transport/latency_run.h"

namespace dmem::addon {

namespace {

Napi::Error closed(Napi::Env env, const std::string& what) {
  return dmem_error(env, "ERR_DMEM_CLOSED", what + " is closed; open a new one");
}

Napi::Value number(Napi::Env env, uint64_t value) {
  return Napi::Number::New(env, static_cast<double>(value));
}

}  // namespace

// ---------------------------------------------------------------- NodeBackend

Napi::Function NodeBackendWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeNodeBackend",
                     {InstanceAccessor<&NodeBackendWrap::port>("port"),
                      InstanceAccessor<&NodeBackendWrap::file_direct>("fileDirect"),
                      InstanceMethod<&NodeBackendWrap::open_session>("openSession"),
                      InstanceMethod<&NodeBackendWrap::close_session>("closeSession"),
                      InstanceMethod<&NodeBackendWrap::grant>("grant"),
                      InstanceMethod<&NodeBackendWrap::revoke>("revoke"),
                      InstanceMethod<&NodeBackendWrap::stats>("stats"),
                      InstanceMethod<&NodeBackendWrap::close>("close")});
}

// new NativeNodeBackend({ pool: 'memory'|'file', file, slabSize, slots, addressBase,
//                         tcp, host, port, unixPath })
NodeBackendWrap::NodeBackendWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NodeBackendWrap>(info) {
  Napi::Env env = info.Env();
  const char* op = "NativeNodeBackend";
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "NativeNodeBackend: options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  SlabStoreOptions store_options;
  store_options.kind = to_string_arg(env, o.Get("pool"), "pool", op) == "file" ? PoolKind::kFile : PoolKind::kMemory;
  if (store_options.kind == PoolKind::kFile) store_options.file_path = to_string_arg(env, o.Get("file"), "file", op);
  store_options.slab_size = to_size(env, o.Get("slabSize"), "slabSize", op);
  store_options.slots = static_cast<uint32_t>(to_size(env, o.Get("slots"), "slots", op));
  store_options.address_base = to_size(env, o.Get("addressBase"), "addressBase", op);
  NodeServerOptions server_options;
  server_options.tcp = o.Get("tcp").ToBoolean();
  server_options.host = server_options.tcp ? to_string_arg(env, o.Get("host"), "host", op) : "";
  server_options.port = server_options.tcp ? static_cast<uint16_t>(to_size(env, o.Get("port"), "port", op)) : 0;
  server_options.unix_path = o.Get("unixPath").IsString() ? o.Get("unixPath").As<Napi::String>().Utf8Value() : "";
  translate(env, [&] {
    store_ = std::make_shared<SlabStore>(store_options);
    server_ = std::make_unique<NodeServer>(store_, server_options);
    return 0;
  });
}

SlabStore& NodeBackendWrap::store(Napi::Env env, const char* operation) {
  if (store_ == nullptr) throw closed(env, std::string("memory node backend (") + operation + ")");
  return *store_;
}

Napi::Value NodeBackendWrap::port(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), server_ ? server_->port() : 0);
}

Napi::Value NodeBackendWrap::file_direct(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), store_ != nullptr && store_->file_direct());
}

Napi::Value NodeBackendWrap::open_session(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t session = static_cast<uint32_t>(to_size(env, info[0], "session", "openSession"));
  std::string secret = to_string_arg(env, info[1], "secret", "openSession");
  translate(env, [&] {
    store(env, "openSession").open_session(session, secret);
    return 0;
  });
  return env.Undefined();
}

Napi::Value NodeBackendWrap::close_session(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t session = static_cast<uint32_t>(to_size(env, info[0], "session", "closeSession"));
  if (store_ == nullptr) return env.Undefined();
  store_->close_session(session);
  server_->sweep();
  return env.Undefined();
}

// grant(slot, session, key) -> address
Napi::Value NodeBackendWrap::grant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = static_cast<uint32_t>(to_size(env, info[0], "slot", "grant"));
  uint32_t session = static_cast<uint32_t>(to_size(env, info[1], "session", "grant"));
  uint32_t key = static_cast<uint32_t>(to_size(env, info[2], "key", "grant"));
  return translate(env, [&] { return number(env, store(env, "grant").grant(slot, session, key)); });
}

Napi::Value NodeBackendWrap::revoke(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = static_cast<uint32_t>(to_size(env, info[0], "slot", "revoke"));
  store(env, "revoke").revoke(slot);
  return env.Undefined();
}

Napi::Value NodeBackendWrap::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SlabStoreStats s = store(env, "stats").stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("reads", number(env, s.reads));
  o.Set("writes", number(env, s.writes));
  o.Set("bytesRead", number(env, s.bytes_read));
  o.Set("bytesWritten", number(env, s.bytes_written));
  o.Set("refused", number(env, s.refused));
  o.Set("dataConnections", number(env, server_ ? server_->connections() : 0));
  return o;
}

Napi::Value NodeBackendWrap::close(const Napi::CallbackInfo& info) {
  if (server_) server_->stop();
  server_.reset();
  store_.reset();
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- Staging

Napi::Function StagingWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeStaging",
                     {InstanceAccessor<&StagingWrap::size>("size"), InstanceMethod<&StagingWrap::view>("view")});
}

StagingWrap::StagingWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StagingWrap>(info) {
  Napi::Env env = info.Env();
  uint64_t bytes = to_size(env, info[0], "bytes", "NativeStaging");
  if (bytes == 0 || bytes % 4096 != 0) throw Napi::RangeError::New(env, "NativeStaging: bytes must be a non-zero multiple of 4096");
  translate(env, [&] {
    staging_ = Staging::create(bytes);
    return 0;
  });
}

Napi::Value StagingWrap::size(const Napi::CallbackInfo& info) { return number(info.Env(), staging_->size()); }

// An ArrayBuffer over the staging memory that keeps it alive.
Napi::Value StagingWrap::view(const Napi::CallbackInfo& info) {
  auto* hold = new std::shared_ptr<Staging>(staging_);
  return Napi::ArrayBuffer::New(
      info.Env(), staging_->data(), staging_->size(),
      [](Napi::Env, void*, std::shared_ptr<Staging>* ref) { delete ref; }, hold);
}

// ---------------------------------------------------------------- Session

Napi::Function SessionWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeSession",
                     {InstanceAccessor<&SessionWrap::id>("id"), InstanceAccessor<&SessionWrap::lost>("lost"),
                      InstanceMethod<&SessionWrap::add_slab>("addSlab"),
                      InstanceMethod<&SessionWrap::remove_slab>("removeSlab"),
                      InstanceMethod<&SessionWrap::mark_lost>("markLost"),
                      InstanceMethod<&SessionWrap::close>("close")});
}

// new NativeSession({ kind: 0|1|2, host, port, unixPath, secret, slabSize, slots, addressBase, timeoutMs })
// or new NativeSession(id): attach to a session another thread opened.
SessionWrap::SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
  Napi::Env env = info.Env();
  const char* op = "NativeSession";
  if (info[0].IsNumber()) {
    id_ = static_cast<uint32_t>(to_size(env, info[0], "id", op));
    session_ = HandleRegistry<RemoteSession>::instance().find(id_);
    if (session_ == nullptr) throw closed(env, "session " + std::to_string(id_));
    return;
  }
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "NativeSession: options must be an object or a session id");
  Napi::Object o = info[0].As<Napi::Object>();
  RemoteSessionOptions options;
  options.kind = static_cast<TransportKind>(to_size(env, o.Get("kind"), "kind", op));
  if (options.kind != TransportKind::kTcp && options.kind != TransportKind::kShm && options.kind != TransportKind::kFile) {
    throw Napi::RangeError::New(env, "NativeSession: kind must be 0 (tcp), 1 (shm) or 2 (file)");
  }
  options.host = o.Get("host").IsString() ? o.Get("host").As<Napi::String>().Utf8Value() : "";
  options.port = o.Get("port").IsNumber() ? static_cast<uint16_t>(to_size(env, o.Get("port"), "port", op)) : 0;
  options.unix_path = o.Get("unixPath").IsString() ? o.Get("unixPath").As<Napi::String>().Utf8Value() : "";
  options.secret = to_string_arg(env, o.Get("secret"), "secret", op);
  options.slab_size = to_size(env, o.Get("slabSize"), "slabSize", op);
  options.slots = static_cast<uint32_t>(to_size(env, o.Get("slots"), "slots", op));
  options.address_base = to_size(env, o.Get("addressBase"), "addressBase", op);
  options.timeout_ms = static_cast<int>(to_size(env, o.Get("timeoutMs"), "timeoutMs", op));
  translate(env, [&] {
    session_ = RemoteSession::create(options);
    return 0;
  });
  id_ = HandleRegistry<RemoteSession>::instance().add(session_);
}

RemoteSession& SessionWrap::live(Napi::Env env, const char* operation) {
  if (session_ == nullptr) throw closed(env, std::string("session (") + operation + ")");
  return *session_;
}

Napi::Value SessionWrap::id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }

Napi::Value SessionWrap::lost(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), session_ == nullptr || session_->lost());
}

Napi::Value SessionWrap::add_slab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = static_cast<uint32_t>(to_size(env, info[0], "slot", "addSlab"));
  uint32_t key = static_cast<uint32_t>(to_size(env, info[1], "key", "addSlab"));
  translate(env, [&] {
    live(env, "addSlab").add_slab(slot, key);
    return 0;
  });
  return env.Undefined();
}

Napi::Value SessionWrap::remove_slab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = static_cast<uint32_t>(to_size(env, info[0], "slot", "removeSlab"));
  live(env, "removeSlab").remove_slab(slot);
  return env.Undefined();
}

Napi::Value SessionWrap::mark_lost(const Napi::CallbackInfo& info) {
  if (session_ != nullptr) session_->mark_lost();
  return info.Env().Undefined();
}

// The owner's close marks the session lost for every lane still using it;
// the memory goes when the last connection lets go.
Napi::Value SessionWrap::close(const Napi::CallbackInfo& info) {
  if (session_ != nullptr) {
    HandleRegistry<RemoteSession>::instance().remove(id_);
    session_.reset();
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- Connection

Napi::Function ConnectionWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeConnection",
                     {InstanceAccessor<&ConnectionWrap::inflight>("inflight"),
                      InstanceAccessor<&ConnectionWrap::broken>("broken"),
                      InstanceMethod<&ConnectionWrap::post>("post"), InstanceMethod<&ConnectionWrap::poll>("poll"),
                      InstanceMethod<&ConnectionWrap::run_latency>("runLatency"),
                      InstanceMethod<&ConnectionWrap::close>("close")});
}

// new NativeConnection(sessionId, staging: NativeStaging, maxInflight)
ConnectionWrap::ConnectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectionWrap>(info) {
  Napi::Env env = info.Env();
  const char* op = "NativeConnection";
  uint32_t id = static_cast<uint32_t>(to_size(env, info[0], "session id", op));
  std::shared_ptr<RemoteSession> session = HandleRegistry<RemoteSession>::instance().find(id);
  if (session == nullptr) throw closed(env, "session " + std::to_string(id));
  if (!info[1].IsObject() || !info[1].As<Napi::Object>().InstanceOf(addon_data(env)->staging_class.Value())) {
    throw Napi::TypeError::New(env, "NativeConnection: staging must be a NativeStaging");
  }
  std::shared_ptr<Staging> staging = StagingWrap::Unwrap(info[1].As<Napi::Object>())->staging();
  uint32_t max_inflight = static_cast<uint32_t>(to_size(env, info[2], "maxInflight", op));
  if (max_inflight == 0 || max_inflight > 4096) throw Napi::RangeError::New(env, "NativeConnection: maxInflight must be 1..4096");
  translate(env, [&] {
    connection_ = std::make_unique<Connection>(session, staging, max_inflight);
    return 0;
  });
}

Connection& ConnectionWrap::live(Napi::Env env, const char* operation) {
  if (connection_ == nullptr) throw closed(env, std::string("connection (") + operation + ")");
  return *connection_;
}

// post(ops: Float64Array, count) -> accepted
Napi::Value ConnectionWrap::post(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Connection& c = live(env, "post");
  auto ops = typed_array<Napi::Float64Array>(env, info[0], napi_float64_array, "ops must be a Float64Array", "post");
  uint64_t count = to_size(env, info[1], "count", "post");
  if (count * kOpStride > ops.ElementLength()) throw Napi::RangeError::New(env, "post: count exceeds the ops array");
  int rc = c.post(ops.Data(), static_cast<int>(count));
  check_result(env, rc, "send", "memory node connection (it is broken; reconnect)");
  return Napi::Number::New(env, rc);
}

// poll(out: Int32Array, timeoutMs) -> completions written
Napi::Value ConnectionWrap::poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Connection& c = live(env, "poll");
  auto out = typed_array<Napi::Int32Array>(env, info[0], napi_int32_array, "out must be an Int32Array", "poll");
  int max = static_cast<int>(out.ElementLength() / kCompletionStride);
  int timeout = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  int rc = c.poll(out.Data(), max, timeout);
  check_result(env, rc, "recv", "memory node connection (it is broken; reconnect)");
  return Napi::Number::New(env, rc);
}

// runLatency(op: Float64Array, iterations, latencyNs: Float64Array, completion: Int32Array, timeoutMs) -> completed
Napi::Value ConnectionWrap::run_latency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Connection& c = live(env, "runLatency");
  auto op = typed_array<Napi::Float64Array>(env, info[0], napi_float64_array, "op must be a Float64Array", "runLatency");
  uint64_t iterations = to_size(env, info[1], "iterations", "runLatency");
  auto out = typed_array<Napi::Float64Array>(env, info[2], napi_float64_array, "latencyNs must be a Float64Array", "runLatency");
  auto completion = typed_array<Napi::Int32Array>(env, info[3], napi_int32_array, "completion must be an Int32Array", "runLatency");
  int timeout = static_cast<int>(to_size(env, info[4], "timeoutMs", "runLatency"));
  if (op.ElementLength() < static_cast<size_t>(kOpStride) || completion.ElementLength() < static_cast<size_t>(kCompletionStride) ||
      iterations > out.ElementLength() || iterations > INT32_MAX) {
    throw Napi::RangeError::New(env, "runLatency: op holds one operation, completion one completion, latencyNs at least `iterations` numbers");
  }
  int rc = dmem::run_latency(c, op.Data(), static_cast<int>(iterations), out.Data(), completion.Data(), timeout);
  check_result(env, rc, "send", "memory node connection (it is broken; reconnect)");
  return Napi::Number::New(env, rc);
}

Napi::Value ConnectionWrap::inflight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), connection_ ? connection_->inflight() : 0);
}

Napi::Value ConnectionWrap::broken(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), connection_ ? connection_->broken_reason() : 0);
}

Napi::Value ConnectionWrap::close(const Napi::CallbackInfo& info) {
  connection_.reset();
  return info.Env().Undefined();
}

void define_transport(Napi::Env env, Napi::Object exports) {
  AddonData* data = addon_data(env);
  Napi::Function staging = StagingWrap::define(env);
  data->staging_class = Napi::Persistent(staging);
  exports.Set("NativeNodeBackend", NodeBackendWrap::define(env));
  exports.Set("NativeStaging", staging);
  exports.Set("NativeSession", SessionWrap::define(env));
  exports.Set("NativeConnection", ConnectionWrap::define(env));
}

}  // namespace dmem::addon
