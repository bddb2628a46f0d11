// JavaScript handles of the verbs mechanisms (dmem_verbs):
//   NativeVerbsNode        the memory node's pool, served over RDMA (server side)
//   NativeVerbsSession     a compute node's verbs state for one memory-node session
//   NativeVerbsConnection  one lane: a connected QP, its CQ and its staging MR
// Each holds the core object; closing a handle releases it, and the core
// objects' shared ownership keeps the teardown order (QP → MR → CQ → PD →
// device) whatever order JavaScript closes them in.
#pragma once

#include <napi.h>

#include <memory>

#include "verbs/client_session.h"
#include "verbs/lane.h"
#include "verbs/rdma_pool.h"

namespace dmem::addon {

// { qpn, psn, gid: 32 hex digits, lid, mtu } <-> QpEndpoint
Napi::Object endpoint_to_js(Napi::Env env, const verbs::QpEndpoint& endpoint);
verbs::QpEndpoint endpoint_from_js(Napi::Env env, const Napi::Value& value, const char* operation);
// Port facts shared by the node and session handles: device, port, gidIndex, gid, linkLayer, mtu.
void set_port_facts(Napi::Env env, Napi::Object target, const std::string& device, const verbs::PortSelection& port);

class VerbsNodeWrap : public Napi::ObjectWrap<VerbsNodeWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit VerbsNodeWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value describe(const Napi::CallbackInfo& info);
  Napi::Value queue_pairs(const Napi::CallbackInfo& info);
  Napi::Value open_session(const Napi::CallbackInfo& info);
  Napi::Value close_session(const Napi::CallbackInfo& info);
  Napi::Value grant(const Napi::CallbackInfo& info);
  Napi::Value revoke(const Napi::CallbackInfo& info);
  Napi::Value connect_qp(const Napi::CallbackInfo& info);
  Napi::Value disconnect_qp(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  verbs::RdmaPool& pool(Napi::Env env, const char* operation);

  std::unique_ptr<verbs::RdmaPool> pool_;
};

class VerbsSessionWrap : public Napi::ObjectWrap<VerbsSessionWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit VerbsSessionWrap(const Napi::CallbackInfo& info);
  ~VerbsSessionWrap() override;

 private:
  Napi::Value id(const Napi::CallbackInfo& info);
  Napi::Value lost(const Napi::CallbackInfo& info);
  Napi::Value describe(const Napi::CallbackInfo& info);
  Napi::Value mark_lost(const Napi::CallbackInfo& info);
  Napi::Value create_lane(const Napi::CallbackInfo& info);
  Napi::Value connect_lane(const Napi::CallbackInfo& info);
  Napi::Value drop_lane(const Napi::CallbackInfo& info);
  Napi::Value take_closed(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  verbs::ClientSession& live(Napi::Env env, const char* operation);

  std::shared_ptr<verbs::ClientSession> session_;
  uint32_t id_ = 0;
};

class VerbsConnectionWrap : public Napi::ObjectWrap<VerbsConnectionWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit VerbsConnectionWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value post(const Napi::CallbackInfo& info);
  Napi::Value poll(const Napi::CallbackInfo& info);
  Napi::Value run_latency(const Napi::CallbackInfo& info);
  Napi::Value inflight(const Napi::CallbackInfo& info);
  Napi::Value broken(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  verbs::Lane& live(Napi::Env env, const char* operation);

  // Teardown: the lane (QP, staging MR, CQ) goes before the reference that
  // keeps the staging memory alive (reverse declaration order, and close()).
  Napi::Reference<Napi::ArrayBuffer> staging_;
  std::shared_ptr<verbs::Lane> lane_;
};

void define_verbs(Napi::Env env, Napi::Object exports);

}  // namespace dmem::addon
