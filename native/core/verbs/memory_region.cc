#include "verbs/memory_region.h"

#include <errno.h>
#include <sys/resource.h>

#include <utility>

#include "common/system_error.h"
#include "verbs/check.h"

namespace dmem::verbs {

namespace {

std::string memlock_hint() {
  struct rlimit limit = {};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "";
  if (limit.rlim_cur == RLIM_INFINITY) return " (memlock is unlimited: the device itself is out of memory)";
  return " (memlock limit " + std::to_string(limit.rlim_cur >> 10) +
         " KiB: raise it with `ulimit -l unlimited` or LimitMEMLOCK=, or register less)";
}

}  // namespace

MemoryRegion::MemoryRegion(std::shared_ptr<ProtectionDomain> pd, void* address, size_t length, int access,
                           std::shared_ptr<const void> keeper, const std::string& what)
    : pd_(std::move(pd)), keeper_(std::move(keeper)), address_(reinterpret_cast<uintptr_t>(address)), length_(length) {
  errno = 0;
  mr_ = ibv_reg_mr(pd_->get(), address, length, access);
  if (mr_ == nullptr) {
    const int err = errno != 0 ? errno : ENOMEM;
    const std::string context = what + " (" + std::to_string(length) + " bytes on " + pd_->device()->name() + ")";
    throw_errno(err, "ibv_reg_mr", err == ENOMEM ? context + memlock_hint() : context);
  }
}

// Teardown: the registration goes first (the device stops using the memory),
// then the memory's keeper, then the PD reference (members, after the body).
MemoryRegion::~MemoryRegion() {
  // Should deregistration ever fail, the device may still write the memory:
  // leak it (and the MR) rather than free it under the device.
  if (deregister() != 0) new std::shared_ptr<const void>(std::move(keeper_));
}

MemoryRegion::MemoryRegion(MemoryRegion&& other) noexcept
    : pd_(std::move(other.pd_)),
      keeper_(std::move(other.keeper_)),
      mr_(std::exchange(other.mr_, nullptr)),
      address_(other.address_),
      length_(other.length_) {}

MemoryRegion& MemoryRegion::operator=(MemoryRegion&& other) noexcept {
  if (this != &other) {
    (void)deregister();
    pd_ = std::move(other.pd_);
    keeper_ = std::move(other.keeper_);
    mr_ = std::exchange(other.mr_, nullptr);
    address_ = other.address_;
    length_ = other.length_;
  }
  return *this;
}

int MemoryRegion::deregister() noexcept {
  if (mr_ == nullptr) return 0;
  const int rc = ibv_dereg_mr(mr_);
  if (rc != 0) return rc;
  mr_ = nullptr;
  return 0;
}

}  // namespace dmem::verbs
