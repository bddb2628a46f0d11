// A staging buffer: page-aligned native memory that transports read into and
// write from. The verbs transport registers it as a memory region. JavaScript
// sees it as an external ArrayBuffer that keeps it alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/mapping.h"

namespace dmem {

class Staging {
 public:
  // Anonymous, page-aligned, zero-filled. Throws SystemError.
  static std::shared_ptr<Staging> create(size_t bytes);

  uint8_t* data() const noexcept { return mapping_.base(); }
  size_t size() const noexcept { return mapping_.length(); }
  bool contains(size_t offset, size_t length) const noexcept {
    return offset <= size() && length <= size() - offset;
  }

 private:
  Mapping mapping_;
};

}  // namespace dmem
