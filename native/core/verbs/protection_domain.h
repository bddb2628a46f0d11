// A protection domain: memory regions and queue pairs in one PD can reach
// each other, and nothing in another PD. The memory node gives each session
// its own, so a session's QPs can never touch another session's slabs even
// with a guessed rkey.
#pragma once

#include <infiniband/verbs.h>

#include <memory>

#include "verbs/device.h"

namespace dmem::verbs {

class ProtectionDomain {
 public:
  explicit ProtectionDomain(std::shared_ptr<Device> device);  // throws SystemError
  ~ProtectionDomain();
  ProtectionDomain(ProtectionDomain&& other) noexcept;
  ProtectionDomain& operator=(ProtectionDomain&& other) noexcept;
  ProtectionDomain(const ProtectionDomain&) = delete;
  ProtectionDomain& operator=(const ProtectionDomain&) = delete;

  ibv_pd* get() const noexcept { return pd_; }
  const std::shared_ptr<Device>& device() const noexcept { return device_; }

 private:
  void release() noexcept;

  std::shared_ptr<Device> device_;  // the parent: released after pd_
  ibv_pd* pd_ = nullptr;
};

}  // namespace dmem::verbs
