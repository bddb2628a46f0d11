// A registered memory region: pinned memory the device may read and write
// under the access flags given (explicit at every call site, never a default).
// The MR keeps its protection domain alive, and, through `keeper`, the memory
// it covers: the memory cannot be freed while the device may still DMA to it.
#pragma once

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "verbs/protection_domain.h"

namespace dmem::verbs {

class MemoryRegion {
 public:
  // Throws SystemError; ENOMEM names the memlock limit (recoverable: raise
  // it, or register less). `what` names the memory in messages.
  MemoryRegion(std::shared_ptr<ProtectionDomain> pd, void* address, size_t length, int access,
               std::shared_ptr<const void> keeper, const std::string& what);
  ~MemoryRegion();
  MemoryRegion(MemoryRegion&& other) noexcept;
  MemoryRegion& operator=(MemoryRegion&& other) noexcept;
  MemoryRegion(const MemoryRegion&) = delete;
  MemoryRegion& operator=(const MemoryRegion&) = delete;

  uint64_t address() const noexcept { return address_; }
  size_t length() const noexcept { return length_; }
  uint32_t lkey() const noexcept { return mr_ == nullptr ? 0 : mr_->lkey; }
  uint32_t rkey() const noexcept { return mr_ == nullptr ? 0 : mr_->rkey; }
  bool registered() const noexcept { return mr_ != nullptr; }

  // Deregisters now; 0, or the errno of ibv_dereg_mr (the MR then stays
  // registered). From a successful return on, the rkey is dead: a remote
  // operation naming it completes with IBV_WC_REM_ACCESS_ERR.
  int deregister() noexcept;

 private:
  std::shared_ptr<ProtectionDomain> pd_;  // parent: released after mr_
  std::shared_ptr<const void> keeper_;    // the memory: released after mr_
  ibv_mr* mr_ = nullptr;
  uint64_t address_ = 0;
  size_t length_ = 0;
};

}  // namespace dmem::verbs
