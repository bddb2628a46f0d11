// Argument checks shared by the wrappers: every number and buffer from
// JavaScript is checked before it reaches native code, with a message that
// names the operation and the argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace dmem::addon {

struct Bytes {
  uint8_t* data;
  size_t length;
};

// The bytes of an ArrayBuffer, typed array or DataView, without copying.
inline Bytes bytes_of(Napi::Env env, const Napi::Value& value, const char* operation) {
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
    return {static_cast<uint8_t*>(buffer.Data()), buffer.ByteLength()};
  }
  void* data = nullptr;
  size_t length = 0;
  if (value.IsTypedArray()) {
    napi_typedarray_type type;
    size_t element_count = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, value, &type, &element_count, &data, nullptr, nullptr),
                         Bytes{});
    length = Napi::TypedArray(env, value).ByteLength();
    return {static_cast<uint8_t*>(data), length};
  }
  if (value.IsDataView()) {
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, value, &length, &data, nullptr, nullptr), Bytes{});
    return {static_cast<uint8_t*>(data), length};
  }
  throw Napi::TypeError::New(env, std::string(operation) + ": expected an ArrayBuffer or typed array for the buffer");
}

// A non-negative integer below 2^53.
inline uint64_t to_size(Napi::Env env, const Napi::Value& value, const char* what, const char* operation) {
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(operation) + ": " + what + " must be a number");
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0) || number > 9007199254740991.0 || number != static_cast<double>(static_cast<uint64_t>(number))) {
    throw Napi::RangeError::New(env, std::string(operation) + ": " + what + " must be a non-negative integer, got " +
                                         Napi::Value(value).ToString().Utf8Value());
  }
  return static_cast<uint64_t>(number);
}

inline std::string to_string_arg(Napi::Env env, const Napi::Value& value, const char* what, const char* operation) {
  if (!value.IsString()) throw Napi::TypeError::New(env, std::string(operation) + ": " + what + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

template <typename Typed>
Typed typed_array(Napi::Env env, const Napi::Value& value, napi_typedarray_type type, const char* what,
                  const char* operation) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(env, std::string(operation) + ": " + what);
  }
  return value.As<Typed>();
}

}  // namespace dmem::addon
