#include "transport/staging.h"

#include <errno.h>
#include <sys/mman.h>

#include <string>

#include "common/system_error.h"

namespace dmem {

std::shared_ptr<Staging> Staging::create(size_t bytes) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw_errno(errno, "mmap", "staging buffer of " + std::to_string(bytes) + " bytes");
  auto staging = std::make_shared<Staging>();
  staging->mapping_ = Mapping(base, bytes);
  return staging;
}

}  // namespace dmem
