#include "verbs/protection_domain.h"

#include <errno.h>

#include <utility>

#include "verbs/check.h"

namespace dmem::verbs {

ProtectionDomain::ProtectionDomain(std::shared_ptr<Device> device) : device_(std::move(device)) {
  errno = 0;
  pd_ = check_null(ibv_alloc_pd(device_->get()), "ibv_alloc_pd", device_->name());
}

// Every MR and QP of this PD holds a shared_ptr to it, so they are gone by
// now (QP → MR → ... → PD); the device reference goes after, with the members.
ProtectionDomain::~ProtectionDomain() { release(); }

ProtectionDomain::ProtectionDomain(ProtectionDomain&& other) noexcept
    : device_(std::move(other.device_)), pd_(std::exchange(other.pd_, nullptr)) {}

ProtectionDomain& ProtectionDomain::operator=(ProtectionDomain&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::move(other.device_);
    pd_ = std::exchange(other.pd_, nullptr);
  }
  return *this;
}

void ProtectionDomain::release() noexcept {
  if (pd_ != nullptr) (void)ibv_dealloc_pd(pd_);
  pd_ = nullptr;
}

}  // namespace dmem::verbs
