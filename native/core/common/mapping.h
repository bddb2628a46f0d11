// A move-only owner of an mmap'd range; the destructor unmaps it.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace dmem {

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* base, size_t length) noexcept : base_(static_cast<uint8_t*>(base)), length_(length) {}
  Mapping(Mapping&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)), length_(std::exchange(other.length_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      reset();
      base_ = std::exchange(other.base_, nullptr);
      length_ = std::exchange(other.length_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  uint8_t* base() const noexcept { return base_; }
  size_t length() const noexcept { return length_; }
  void reset() noexcept {
    if (base_ != nullptr) ::munmap(base_, length_);
    base_ = nullptr;
    length_ = 0;
  }

 private:
  uint8_t* base_ = nullptr;
  size_t length_ = 0;
};

}  // namespace dmem
