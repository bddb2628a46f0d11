// RegionCore control path: creation and the owner's close.
#include "uffd/region.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/system_error.h"
#include "uffd/kernel_compat.h"
#include "uffd/userfaultfd.h"

namespace dmem {

namespace {

std::string describe(const RegionOptions& o) {
  return "(region \"" + o.name + "\", " + std::to_string(o.size) + " bytes)";
}

}  // namespace

std::shared_ptr<RegionCore> RegionCore::create(UniqueFd uffd, const RegionOptions& options) {
  std::shared_ptr<RegionCore> core(new RegionCore());
  const std::string what = describe(options);

  UffdApi api = uffd_handshake(uffd.get(), options.features);
  core->features_ = options.features & api.features;  // the kernel reports all it offers

  core->memfd_ = UniqueFd(::memfd_create(options.name.c_str(), MFD_CLOEXEC));
  if (!core->memfd_.valid()) throw_errno(errno, "memfd_create", what);
  if (::ftruncate(core->memfd_.get(), static_cast<off_t>(options.size)) < 0) {
    throw_errno(errno, "ftruncate", what);
  }

  void* base = ::mmap(nullptr, options.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                      core->memfd_.get(), 0);
  if (base == MAP_FAILED) throw_errno(errno, "mmap", what);
  core->mapping_ = Mapping(base, options.size);

  struct uffdio_register reg = {};
  reg.range.start = reinterpret_cast<uint64_t>(base);
  reg.range.len = options.size;
  reg.mode = options.register_mode;
  if (::ioctl(uffd.get(), UFFDIO_REGISTER, &reg) < 0) {
    throw_errno(errno, "ioctl",
                "UFFDIO_REGISTER mode=0x" + std::to_string(options.register_mode) + " " + what);
  }
  core->ioctls_ = reg.ioctls;
  core->register_mode_ = options.register_mode;
  core->uffd_ = std::move(uffd);

  core->shutdown_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!core->shutdown_.valid()) throw_errno(errno, "eventfd", what);

  if (pagemap_scan_available()) {
    core->pagemap_ = UniqueFd(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  }
  return core;
}

void RegionCore::close() noexcept {
  if (closed_.exchange(true, std::memory_order_seq_cst)) return;
  // 1. End every read_events() in every lane: the eventfd stays readable.
  uint64_t one = 1;
  (void)!::write(shutdown_.get(), &one, sizeof(one));
  // 2. Unregister: the kernel wakes every thread blocked on a fault here, and
  //    from now on faults are served by shmem itself, so nothing can hang.
  struct uffdio_range range = {reinterpret_cast<uint64_t>(base()), size()};
  (void)::ioctl(uffd_.get(), UFFDIO_UNREGISTER, &range);
  // 3. Free the memory now; the mapping itself goes with the last reference.
  (void)::fallocate(memfd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                    static_cast<off_t>(size()));
  // 4. Wait out the operations in flight (each is one system call), then
  //    close the descriptors.
  while (active_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  pagemap_.reset();
  uffd_.reset();
  shutdown_.reset();
  memfd_.reset();
}

// Teardown order (members are destroyed in reverse declaration order):
// pagemap and eventfd, then the userfaultfd (which would unregister anyway),
// then the memfd descriptor, and the mapping last of all.
RegionCore::~RegionCore() { close(); }

}  // namespace dmem
