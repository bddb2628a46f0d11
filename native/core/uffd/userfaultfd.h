// Opening and probing a userfaultfd. Mechanism only: which path to try, and
// in which order, is decided by the caller (lib/uffd/open.ts).
#pragma once

#include <cstdint>

#include "common/unique_fd.h"

namespace dmem {

enum class UffdOpenPath : int {
  kSyscall = 0,  // userfaultfd(2)
  kDevNode = 1,  // open("/dev/userfaultfd") + USERFAULTFD_IOC_NEW (Linux 6.1)
};

// Opens a non-blocking, close-on-exec userfaultfd. Throws SystemError.
UniqueFd open_userfaultfd(UffdOpenPath path, bool user_mode_only);

struct UffdApi {
  uint64_t features;  // UFFD_FEATURE_* granted
  uint64_t ioctls;    // 1 << _UFFDIO_* available on the fd
};

// Performs the UFFDIO_API handshake asking for `features`. A fd takes exactly
// one handshake: to learn what the kernel offers, hand a fresh fd features=0.
UffdApi uffd_handshake(int uffd, uint64_t features);

// Whether this kernel implements PAGEMAP_SCAN on /proc/self/pagemap.
bool pagemap_scan_available();

}  // namespace dmem
