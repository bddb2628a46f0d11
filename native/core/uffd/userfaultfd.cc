#include "uffd/userfaultfd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/system_error.h"
#include "uffd/kernel_compat.h"

namespace dmem {

UniqueFd open_userfaultfd(UffdOpenPath path, bool user_mode_only) {
  int flags = O_CLOEXEC | O_NONBLOCK | (user_mode_only ? UFFD_USER_MODE_ONLY : 0);
  if (path == UffdOpenPath::kSyscall) {
    int fd = static_cast<int>(::syscall(SYS_userfaultfd, flags));
    if (fd < 0) {
      throw_errno(errno, "userfaultfd",
                  user_mode_only ? "(UFFD_USER_MODE_ONLY)" : "(kernel and user faults)");
    }
    return UniqueFd(fd);
  }
  UniqueFd dev(::open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
  if (!dev.valid()) throw_errno(errno, "open", "/dev/userfaultfd");
  int fd = ::ioctl(dev.get(), USERFAULTFD_IOC_NEW, flags);
  if (fd < 0) throw_errno(errno, "ioctl", "USERFAULTFD_IOC_NEW on /dev/userfaultfd");
  return UniqueFd(fd);
}

UffdApi uffd_handshake(int uffd, uint64_t features) {
  struct uffdio_api api = {};
  api.api = UFFD_API;
  api.features = features;
  if (::ioctl(uffd, UFFDIO_API, &api) < 0) {
    throw_errno(errno, "ioctl", "UFFDIO_API features=0x" + std::to_string(features));
  }
  return UffdApi{api.features, api.ioctls};
}

bool pagemap_scan_available() {
  UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return false;
  // An empty walk: supported kernels return 0 regions, older ones ENOTTY.
  compat::PmScanArg arg = {};
  arg.size = sizeof(arg);
  // An unknown ioctl is ENOTTY; anything else means the kernel parsed it.
  return ::ioctl(pagemap.get(), compat::kPagemapScan, &arg) >= 0 || errno != ENOTTY;
}

}  // namespace dmem
