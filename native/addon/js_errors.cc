#include "addon/js_errors.h"

#include <string.h>

#include "addon/addon_data.h"

namespace dmem::addon {


void set_error_classes(const Napi::CallbackInfo& info) {
  AddonData* c = addon_data(info.Env());
  c->system_error = Napi::Persistent(info[0].As<Napi::Function>());
  c->dmem_error = Napi::Persistent(info[1].As<Napi::Function>());
}

Napi::Error system_error(Napi::Env env, int err, const std::string& syscall,
                         const std::string& message) {
  AddonData* c = addon_data(env);
  const std::string code = errno_name(err);
  if (c->system_error.IsEmpty()) {
    Napi::Error error = Napi::Error::New(env, code + ": " + message);
    error.Set("code", code);
    error.Set("errno", Napi::Number::New(env, -err));
    error.Set("syscall", syscall);
    return error;
  }
  Napi::Value obj = c->system_error.New({Napi::String::New(env, message), Napi::String::New(env, code),
                                         Napi::Number::New(env, -err), Napi::String::New(env, syscall)});
  return Napi::Error(env, obj);
}

Napi::Error system_error(Napi::Env env, const SystemError& error) {
  return system_error(env, error.err(), error.syscall(), error.what());
}

Napi::Error dmem_error(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData* c = addon_data(env);
  if (c->dmem_error.IsEmpty()) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", code);
    return error;
  }
  Napi::Value obj = c->dmem_error.New({Napi::String::New(env, message), Napi::String::New(env, code)});
  return Napi::Error(env, obj);
}

}  // namespace dmem::addon
