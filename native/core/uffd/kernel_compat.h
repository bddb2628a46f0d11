// Kernel ABI that Debian 12's 6.1 headers lack but our 6.x kernels offer.
// Each value is the upstream one; each is defined only where missing.
#pragma once

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

// UFFDIO_POISON (Linux 6.6): the next access to the range raises SIGBUS.
namespace dmem::compat {
struct UffdioPoison {
  struct uffdio_range range;
  __u64 mode;
  __s64 updated;
};
constexpr unsigned long kUffdioPoison = _IOWR(UFFDIO, 0x08, UffdioPoison);
}  // namespace dmem::compat

// PAGEMAP_SCAN (Linux 6.7, <linux/fs.h>), under our own names so that newer
// headers that define the same structs do not clash. Same layout, same ioctl.
namespace dmem::compat {

struct PageRegion {
  __u64 start;
  __u64 end;
  __u64 categories;
};

struct PmScanArg {
  __u64 size;
  __u64 flags;
  __u64 start;
  __u64 end;
  __u64 walk_end;
  __u64 vec;
  __u64 vec_len;
  __u64 max_pages;
  __u64 category_inverted;
  __u64 category_mask;
  __u64 category_anyof_mask;
  __u64 return_mask;
};

constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr __u64 kPmScanWpMatching = 1 << 0;
constexpr __u64 kPmScanCheckWpAsync = 1 << 1;

}  // namespace dmem::compat
