// dmem_verbs: libibverbs. Built only where <infiniband/verbs.h> exists.
#include <napi.h>

#include "addon/js_errors.h"
#include "addon/verbs_wrap.h"
#include "verbs/device_info.h"
#include "verbs/work_completion.h"

namespace dmem::addon {

namespace {

Napi::Value list_devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return translate(env, [&] {
    std::vector<verbs::DeviceInfo> devices = verbs::list_devices();
    Napi::Array result = Napi::Array::New(env, devices.size());
    for (size_t d = 0; d < devices.size(); d++) {
      const verbs::DeviceInfo& dev = devices[d];
      Napi::Object device = Napi::Object::New(env);
      device.Set("name", dev.name);
      device.Set("nodeGuid", dev.node_guid);
      Napi::Array ports = Napi::Array::New(env, dev.ports.size());
      for (size_t p = 0; p < dev.ports.size(); p++) {
        const verbs::PortInfo& port = dev.ports[p];
        Napi::Object po = Napi::Object::New(env);
        po.Set("port", port.port);
        po.Set("state", port.state);
        po.Set("linkLayer", port.link_layer);
        po.Set("activeMtu", port.active_mtu);
        po.Set("lid", port.lid);
        Napi::Array gids = Napi::Array::New(env, port.gids.size());
        for (size_t g = 0; g < port.gids.size(); g++) {
          Napi::Object go = Napi::Object::New(env);
          go.Set("index", port.gids[g].index);
          go.Set("gid", port.gids[g].gid);
          go.Set("type", port.gids[g].type);
          gids.Set(static_cast<uint32_t>(g), go);
        }
        po.Set("gids", gids);
        ports.Set(static_cast<uint32_t>(p), po);
      }
      device.Set("ports", ports);
      result.Set(static_cast<uint32_t>(d), device);
    }
    return result;
  });
}

// workCompletionStatus(ibv_wc_status) -> { name: "IBV_WC_REM_ACCESS_ERR", text: ibv_wc_status_str }
Napi::Value work_completion_status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "workCompletionStatus: status must be a number");
  const int status = info[0].As<Napi::Number>().Int32Value();
  const char* name = verbs::wc_status_name(status);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name != nullptr ? std::string(name) : "IBV_WC_" + std::to_string(status));
  o.Set("text", ibv_wc_status_str(static_cast<ibv_wc_status>(status)));
  return o;
}

Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClasses", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                set_error_classes(info);
              }));
  exports.Set("listDevices", Napi::Function::New(env, list_devices));
  exports.Set("workCompletionStatus", Napi::Function::New(env, work_completion_status));
  exports.Set("WC_STATUS_BASE", Napi::Number::New(env, verbs::kWcStatusBase));
  define_verbs(env, exports);
  return exports;
}

}  // namespace

}  // namespace dmem::addon

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return dmem::addon::init_module(env, exports);
}

NODE_API_MODULE(dmem_verbs, Init)
