// JavaScript handles of the transport mechanisms:
//   NativeNodeBackend  the memory node's slabs and data listener (server side)
//   NativeSession      a compute node's session with one memory node
//   NativeConnection   one lane's data connection within a session
//   NativeStaging      a page-aligned staging buffer
#pragma once

#include <napi.h>

#include <memory>

#include "transport/connection.h"
#include "transport/node_server.h"
#include "transport/remote_session.h"
#include "transport/slab_store.h"
#include "transport/staging.h"

namespace dmem::addon {

class NodeBackendWrap : public Napi::ObjectWrap<NodeBackendWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit NodeBackendWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value port(const Napi::CallbackInfo& info);
  Napi::Value file_direct(const Napi::CallbackInfo& info);
  Napi::Value open_session(const Napi::CallbackInfo& info);
  Napi::Value close_session(const Napi::CallbackInfo& info);
  Napi::Value grant(const Napi::CallbackInfo& info);
  Napi::Value revoke(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  SlabStore& store(Napi::Env env, const char* operation);

  // Teardown order: the server (and its thread) stops before the store goes.
  std::shared_ptr<SlabStore> store_;
  std::unique_ptr<NodeServer> server_;
};

class StagingWrap : public Napi::ObjectWrap<StagingWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit StagingWrap(const Napi::CallbackInfo& info);
  std::shared_ptr<Staging> staging() const { return staging_; }

 private:
  Napi::Value view(const Napi::CallbackInfo& info);
  Napi::Value size(const Napi::CallbackInfo& info);
  std::shared_ptr<Staging> staging_;
};

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit SessionWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value id(const Napi::CallbackInfo& info);
  Napi::Value add_slab(const Napi::CallbackInfo& info);
  Napi::Value remove_slab(const Napi::CallbackInfo& info);
  Napi::Value mark_lost(const Napi::CallbackInfo& info);
  Napi::Value lost(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  RemoteSession& live(Napi::Env env, const char* operation);

  std::shared_ptr<RemoteSession> session_;
  uint32_t id_ = 0;
};

class ConnectionWrap : public Napi::ObjectWrap<ConnectionWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ConnectionWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value post(const Napi::CallbackInfo& info);
  Napi::Value poll(const Napi::CallbackInfo& info);
  Napi::Value run_latency(const Napi::CallbackInfo& info);
  Napi::Value inflight(const Napi::CallbackInfo& info);
  Napi::Value broken(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Connection& live(Napi::Env env, const char* operation);

  std::unique_ptr<Connection> connection_;
};

void define_transport(Napi::Env env, Napi::Object exports);
void define_bench(Napi::Env env, Napi::Object exports);

}  // namespace dmem::addon
