// NativeVerbsSession (the session's thread) and NativeVerbsConnection (a lane's thread).
#include <errno.h>

#include <algorithm>
#include <string>

#include "addon/args.h"
#include "transport/latency_run.h"
#include "addon/handle_registry.h"
#include "addon/js_errors.h"
#include "addon/verbs_wrap.h"

namespace dmem::addon {

namespace {


Napi::Error closed(Napi::Env env, const std::string& what) {
  return dmem_error(env, "ERR_DMEM_CLOSED", what + " is closed; open a new one");
}

// One message per way a lane breaks.
std::string broken_advice(int err) {
  switch (err) {
    case ECONNABORTED:
      return "an earlier work request failed, which ends an RC connection: prepare a new lane (session.prepareLane())";
    case ETIMEDOUT:
      return "nothing completed within the session's timeout: the memory node or the link is gone; prepare a new lane";
    case ENOTCONN:
      return "the lane has no staging buffer or is not connected";
    default:
      return "the lane is broken: prepare a new lane (session.prepareLane())";
  }
}

// The data path's argument checks: one N-API call per argument (a lane
// posts and polls in a loop; under emulation every call into N-API shows).
template <typename T>
T* typed_data(Napi::Env env, const Napi::Value& value, napi_typedarray_type want, size_t* length, const char* message) {
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &data, nullptr, nullptr) != napi_ok || type != want) {
    throw Napi::TypeError::New(env, message);
  }
  return static_cast<T*>(data);
}

int64_t integer_arg(Napi::Env env, const Napi::Value& value, const char* message) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= -2147483648.0 && number <= 2147483647.0)) {
    throw Napi::TypeError::New(env, message);
  }
  return static_cast<int64_t>(number);
}

}  // namespace

// ---------------------------------------------------------------- NativeVerbsSession

Napi::Function VerbsSessionWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeVerbsSession",
                     {InstanceAccessor<&VerbsSessionWrap::id>("id"),
                      InstanceAccessor<&VerbsSessionWrap::lost>("lost"),
                      InstanceMethod<&VerbsSessionWrap::describe>("describe"),
                      InstanceMethod<&VerbsSessionWrap::mark_lost>("markLost"),
                      InstanceMethod<&VerbsSessionWrap::create_lane>("createLane"),
                      InstanceMethod<&VerbsSessionWrap::connect_lane>("connectLane"),
                      InstanceMethod<&VerbsSessionWrap::drop_lane>("dropLane"),
                      InstanceMethod<&VerbsSessionWrap::take_closed>("takeClosed"),
                      InstanceMethod<&VerbsSessionWrap::close>("close")});
}

// new NativeVerbsSession({ device, port, gidIndex, timeoutMs })
VerbsSessionWrap::VerbsSessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VerbsSessionWrap>(info) {
  Napi::Env env = info.Env();
  const char* op = "NativeVerbsSession";
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "NativeVerbsSession: options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  verbs::ClientSessionOptions options;
  options.device = to_string_arg(env, o.Get("device"), "device", op);
  options.port = static_cast<uint8_t>(to_size(env, o.Get("port"), "port", op));
  options.gid_index = o.Get("gidIndex").IsNumber() ? static_cast<int>(to_size(env, o.Get("gidIndex"), "gidIndex", op)) : -1;
  options.timeout_ms = static_cast<int>(to_size(env, o.Get("timeoutMs"), "timeoutMs", op));
  translate(env, [&] {
    session_ = verbs::ClientSession::create(options);
    return 0;
  });
  id_ = HandleRegistry<verbs::ClientSession>::instance().add(session_);
}

// A session that was never closed: drop its unclaimed lanes (they hold it).
VerbsSessionWrap::~VerbsSessionWrap() {
  if (session_ != nullptr) session_->close();
}

verbs::ClientSession& VerbsSessionWrap::live(Napi::Env env, const char* operation) {
  if (session_ == nullptr) throw closed(env, std::string("verbs session (") + operation + ")");
  return *session_;
}

Napi::Value VerbsSessionWrap::id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }

Napi::Value VerbsSessionWrap::lost(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), session_ == nullptr || session_->lost());
}

Napi::Value VerbsSessionWrap::describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  verbs::ClientSession& s = live(env, "describe");
  Napi::Object o = Napi::Object::New(env);
  set_port_facts(env, o, s.device()->name(), s.port());
  return o;
}

Napi::Value VerbsSessionWrap::mark_lost(const Napi::CallbackInfo& info) {
  if (session_ != nullptr) session_->mark_lost();
  return info.Env().Undefined();
}

// createLane(maxInflight) -> { lane, endpoint }
Napi::Value VerbsSessionWrap::create_lane(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint64_t max_inflight = to_size(env, info[0], "maxInflight", "createLane");
  if (max_inflight == 0 || max_inflight > 4096) throw Napi::RangeError::New(env, "createLane: maxInflight must be 1..4096");
  verbs::ClientSession& s = live(env, "createLane");
  return translate(env, [&] {
    verbs::QpEndpoint local;
    const uint32_t lane = s.create_lane(static_cast<uint32_t>(max_inflight), &local);
    Napi::Object o = Napi::Object::New(env);
    o.Set("lane", Napi::Number::New(env, lane));
    o.Set("endpoint", endpoint_to_js(env, local));
    return o;
  });
}

// connectLane(lane, nodeEndpoint)
Napi::Value VerbsSessionWrap::connect_lane(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t lane = static_cast<uint32_t>(to_size(env, info[0], "lane", "connectLane"));
  const verbs::QpEndpoint remote = endpoint_from_js(env, info[1], "connectLane");
  verbs::ClientSession& s = live(env, "connectLane");
  translate(env, [&] {
    s.connect_lane(lane, remote);
    return 0;
  });
  return env.Undefined();
}

Napi::Value VerbsSessionWrap::drop_lane(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t lane = static_cast<uint32_t>(to_size(env, info[0], "lane", "dropLane"));
  if (session_ != nullptr) session_->drop_lane(lane);
  return env.Undefined();
}

// takeClosed() -> memory-node QP numbers of lanes closed since the last call
Napi::Value VerbsSessionWrap::take_closed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (session_ == nullptr) return Napi::Array::New(env, 0);
  std::vector<uint32_t> qpns = session_->take_closed();
  Napi::Array out = Napi::Array::New(env, qpns.size());
  for (size_t i = 0; i < qpns.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, qpns[i]));
  return out;
}

// Lanes already claimed keep the session's PD and device alive until they
// close; from now on they complete new operations with ECONNRESET.
Napi::Value VerbsSessionWrap::close(const Napi::CallbackInfo& info) {
  if (session_ != nullptr) {
    HandleRegistry<verbs::ClientSession>::instance().remove(id_);
    session_->close();
    session_.reset();
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- NativeVerbsConnection

Napi::Function VerbsConnectionWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeVerbsConnection",
                     {InstanceAccessor<&VerbsConnectionWrap::inflight>("inflight"),
                      InstanceAccessor<&VerbsConnectionWrap::broken>("broken"),
                      InstanceMethod<&VerbsConnectionWrap::post>("post"),
                      InstanceMethod<&VerbsConnectionWrap::poll>("poll"),
                      InstanceMethod<&VerbsConnectionWrap::run_latency>("runLatency"),
                      InstanceMethod<&VerbsConnectionWrap::close>("close")});
}

// new NativeVerbsConnection(sessionId, lane, staging: ArrayBuffer, spinUs)
VerbsConnectionWrap::VerbsConnectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VerbsConnectionWrap>(info) {
  Napi::Env env = info.Env();
  const char* op = "NativeVerbsConnection";
  const uint32_t session_id = static_cast<uint32_t>(to_size(env, info[0], "session id", op));
  const uint32_t lane = static_cast<uint32_t>(to_size(env, info[1], "lane", op));
  if (!info[2].IsArrayBuffer()) throw Napi::TypeError::New(env, "NativeVerbsConnection: staging must be an ArrayBuffer (StagingBuffer.view())");
  Napi::ArrayBuffer staging = info[2].As<Napi::ArrayBuffer>();
  const uint64_t spin_us = to_size(env, info[3], "spinUs", op);
  std::shared_ptr<verbs::ClientSession> session = HandleRegistry<verbs::ClientSession>::instance().find(session_id);
  if (session == nullptr) throw closed(env, "verbs session " + std::to_string(session_id));
  translate(env, [&] {
    std::shared_ptr<verbs::Lane> claimed = session->claim_lane(lane);
    claimed->attach_staging(static_cast<uint8_t*>(staging.Data()), staging.ByteLength());
    claimed->set_spin_us(static_cast<uint32_t>(spin_us));
    lane_ = std::move(claimed);
    return 0;
  });
  staging_ = Napi::Persistent(staging);
}

verbs::Lane& VerbsConnectionWrap::live(Napi::Env env, const char* operation) {
  if (lane_ == nullptr) throw closed(env, std::string("verbs connection (") + operation + ")");
  return *lane_;
}

// post(ops: Float64Array, count) -> accepted
Napi::Value VerbsConnectionWrap::post(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  verbs::Lane& lane = live(env, "post");
  size_t length = 0;
  const double* ops = typed_data<double>(env, info[0], napi_float64_array, &length, "post: ops must be a Float64Array");
  const int64_t count = integer_arg(env, info[1], "post: count must be a number");
  if (count < 0 || static_cast<uint64_t>(count) * kOpStride > length) {
    throw Napi::RangeError::New(env, "post: count must be 0.." + std::to_string(length / kOpStride) + " (the ops array's length)");
  }
  const int rc = lane.post(ops, static_cast<int>(count));
  if (rc < 0) check_result(env, rc, "ibv_post_send", broken_advice(-rc));
  return Napi::Number::New(env, rc);
}

// poll(out: Int32Array, timeoutMs) -> completions written
Napi::Value VerbsConnectionWrap::poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  verbs::Lane& lane = live(env, "poll");
  size_t length = 0;
  int32_t* out = typed_data<int32_t>(env, info[0], napi_int32_array, &length, "poll: out must be an Int32Array");
  const int max = static_cast<int>(std::min<size_t>(length / kCompletionStride, 1u << 20));
  const int timeout = info.Length() > 1 ? static_cast<int>(integer_arg(env, info[1], "poll: timeoutMs must be a number")) : 0;
  const int rc = lane.poll(out, max, timeout);
  if (rc < 0) check_result(env, rc, "ibv_poll_cq", broken_advice(-rc));
  return Napi::Number::New(env, rc);
}

// runLatency(op: Float64Array, iterations, latencyNs: Float64Array, completion: Int32Array, timeoutMs) -> completed
Napi::Value VerbsConnectionWrap::run_latency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  verbs::Lane& lane = live(env, "runLatency");
  size_t op_length = 0, out_length = 0, completion_length = 0;
  const double* op = typed_data<double>(env, info[0], napi_float64_array, &op_length, "runLatency: op must be a Float64Array");
  const int64_t iterations = integer_arg(env, info[1], "runLatency: iterations must be a number");
  double* out = typed_data<double>(env, info[2], napi_float64_array, &out_length, "runLatency: latencyNs must be a Float64Array");
  int32_t* completion = typed_data<int32_t>(env, info[3], napi_int32_array, &completion_length, "runLatency: completion must be an Int32Array");
  const int64_t timeout = integer_arg(env, info[4], "runLatency: timeoutMs must be a number");
  if (op_length < static_cast<size_t>(kOpStride) || completion_length < static_cast<size_t>(kCompletionStride) || iterations < 0 ||
      static_cast<uint64_t>(iterations) > out_length || timeout < 0) {
    throw Napi::RangeError::New(env, "runLatency: op holds one operation, completion one completion, latencyNs at least `iterations` numbers");
  }
  const int rc = dmem::run_latency(lane, op, static_cast<int>(iterations), out, completion, static_cast<int>(timeout));
  if (rc < 0) check_result(env, rc, "ibv_post_send", broken_advice(-rc));
  return Napi::Number::New(env, rc);
}

Napi::Value VerbsConnectionWrap::inflight(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lane_ ? lane_->inflight() : 0);
}

Napi::Value VerbsConnectionWrap::broken(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lane_ ? lane_->broken_reason() : 0);
}

// The lane first (QP, staging MR, CQ), then the staging memory's reference.
Napi::Value VerbsConnectionWrap::close(const Napi::CallbackInfo& info) {
  lane_.reset();
  staging_.Reset();
  return info.Env().Undefined();
}

void define_verbs(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeVerbsNode", VerbsNodeWrap::define(env));
  exports.Set("NativeVerbsSession", VerbsSessionWrap::define(env));
  exports.Set("NativeVerbsConnection", VerbsConnectionWrap::define(env));
}

}  // namespace dmem::addon
