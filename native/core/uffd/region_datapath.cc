// RegionCore data path. Called per fault by pager lanes: no allocation, no
// exceptions, no locks, no logging. Every result is a count or -errno.
//
// userfaultfd conventions (as firecracker's handler and QEMU postcopy):
//   EAGAIN with progress: partial; continue after what was done.
//   EAGAIN without progress: the mm is changing under us; retry, bounded.
//   EEXIST: the page is already present; count it done and wake its waiters.
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "uffd/kernel_compat.h"
#include "uffd/region.h"

namespace dmem {

namespace {

constexpr size_t kPage = 4096;
constexpr int kMaxStalledRetries = 10000;
constexpr int kMaxMessagesPerRead = 64;
constexpr size_t kScanChunk = 64;

}  // namespace

long RegionCore::fill_range(unsigned long request, size_t offset, const void* src, size_t len,
                            uint64_t mode) noexcept {
  const uint64_t start = reinterpret_cast<uint64_t>(base()) + offset;
  size_t done = 0;
  long installed = 0;
  int stalled = 0;
  uint64_t wake_lo = UINT64_MAX;
  uint64_t wake_hi = 0;

  while (done < len) {
    int64_t progress = 0;
    int rc;
    if (request == UFFDIO_COPY) {
      struct uffdio_copy op = {};
      op.dst = start + done;
      op.src = reinterpret_cast<uint64_t>(src) + done;
      op.len = len - done;
      op.mode = mode;
      rc = ::ioctl(uffd_.get(), UFFDIO_COPY, &op);
      progress = op.copy;
    } else if (request == UFFDIO_ZEROPAGE) {
      struct uffdio_zeropage op = {};
      op.range.start = start + done;
      op.range.len = len - done;
      op.mode = mode;
      rc = ::ioctl(uffd_.get(), UFFDIO_ZEROPAGE, &op);
      progress = op.zeropage;
    } else {
      struct uffdio_continue op = {};
      op.range.start = start + done;
      op.range.len = len - done;
      op.mode = mode;
      rc = ::ioctl(uffd_.get(), UFFDIO_CONTINUE, &op);
      progress = op.mapped;
    }
    if (rc == 0) {
      installed += static_cast<long>((len - done) / kPage);
      done = len;
      break;
    }
    const int err = errno;
    if (progress > 0) {
      installed += static_cast<long>(progress / kPage);
      done += static_cast<size_t>(progress);
      stalled = 0;
    }
    if (err == EAGAIN) {
      if (progress <= 0 && ++stalled > kMaxStalledRetries) return -EAGAIN;
      continue;
    }
    if (err == EEXIST) {
      const uint64_t page = start + done;
      wake_lo = std::min(wake_lo, page);
      wake_hi = std::max(wake_hi, page + kPage);
      done += kPage;
      continue;
    }
    return -err;
  }
  if (wake_hi > wake_lo) {
    struct uffdio_range range = {wake_lo, wake_hi - wake_lo};
    if (::ioctl(uffd_.get(), UFFDIO_WAKE, &range) < 0) return -errno;
  }
  return installed;
}

long RegionCore::copy(size_t offset, const void* src, size_t len, bool write_protect) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  return fill_range(UFFDIO_COPY, offset, src, len, write_protect ? UFFDIO_COPY_MODE_WP : 0);
}

long RegionCore::continue_range(size_t offset, size_t len, bool write_protect) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  return fill_range(UFFDIO_CONTINUE, offset, nullptr, len,
                    write_protect ? UFFDIO_CONTINUE_MODE_WP : 0);
}

long RegionCore::zeropage(size_t offset, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  return fill_range(UFFDIO_ZEROPAGE, offset, nullptr, len, 0);
}

long RegionCore::poison(size_t offset, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  compat::UffdioPoison op = {};
  op.range.start = reinterpret_cast<uint64_t>(base()) + offset;
  op.range.len = len;
  if (::ioctl(uffd_.get(), compat::kUffdioPoison, &op) < 0) return op.updated > 0 ? op.updated / kPage : -errno;
  return static_cast<long>(len / kPage);
}

int RegionCore::wake(size_t offset, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  struct uffdio_range range = {reinterpret_cast<uint64_t>(base()) + offset, len};
  return ::ioctl(uffd_.get(), UFFDIO_WAKE, &range) < 0 ? -errno : 0;
}

int RegionCore::write_protect(size_t offset, size_t len, bool protect, bool wake_after) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  struct uffdio_writeprotect op = {};
  op.range.start = reinterpret_cast<uint64_t>(base()) + offset;
  op.range.len = len;
  op.mode = (protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0) |
            (wake_after ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
  return ::ioctl(uffd_.get(), UFFDIO_WRITEPROTECT, &op) < 0 ? -errno : 0;
}

int RegionCore::read_events(double* out, int max_events, int timeout_ms) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  struct pollfd fds[2] = {{uffd_.get(), POLLIN, 0}, {shutdown_.get(), POLLIN, 0}};
  int ready = ::poll(fds, 2, timeout_ms);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  if (ready == 0) return 0;
  if (fds[1].revents != 0) return -ECANCELED;

  struct uffd_msg msgs[kMaxMessagesPerRead];
  const int want = std::min(max_events, kMaxMessagesPerRead);
  ssize_t got = ::read(uffd_.get(), msgs, sizeof(msgs[0]) * static_cast<size_t>(want));
  if (got < 0) return errno == EAGAIN ? 0 : -errno;

  const uint64_t lo = reinterpret_cast<uint64_t>(base());
  const uint64_t hi = lo + size();
  int count = 0;
  for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof(msgs[0])); i++) {
    const struct uffd_msg& msg = msgs[i];
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    const uint64_t address = msg.arg.pagefault.address & ~static_cast<uint64_t>(kPage - 1);
    if (address < lo || address >= hi) continue;
    const uint64_t flags = msg.arg.pagefault.flags;
    double* event = out + count * kEventStride;
    event[0] = static_cast<double>(address - lo);
    event[1] = (flags & UFFD_PAGEFAULT_FLAG_MINOR) ? kFaultMinor
               : (flags & UFFD_PAGEFAULT_FLAG_WP)  ? kFaultWriteProtect
                                                   : kFaultMissing;
    event[2] = (flags & UFFD_PAGEFAULT_FLAG_WRITE) ? 1 : 0;
    event[3] = static_cast<double>(msg.arg.pagefault.feat.ptid);
    count++;
  }
  return count;
}

long RegionCore::pread(size_t offset, void* dst, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(memfd_.get(), static_cast<uint8_t*>(dst) + done, len - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<long>(done);
}

long RegionCore::pwrite(size_t offset, const void* src, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(memfd_.get(), static_cast<const uint8_t*>(src) + done, len - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    done += static_cast<size_t>(n);
  }
  return static_cast<long>(done);
}

int RegionCore::punch_hole(size_t offset, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  int rc = ::fallocate(memfd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       static_cast<off_t>(offset), static_cast<off_t>(len));
  return rc < 0 ? -errno : 0;
}

int RegionCore::dontneed(size_t offset, size_t len) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  return ::madvise(base() + offset, len, MADV_DONTNEED) < 0 ? -errno : 0;
}

long RegionCore::allocated_bytes() noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  struct stat st;
  if (::fstat(memfd_.get(), &st) < 0) return -errno;
  return static_cast<long>(st.st_blocks) * 512;
}

long RegionCore::pagemap_scan(size_t offset, size_t len, uint64_t flags,
                              uint64_t category_inverted, uint64_t category_mask,
                              uint64_t category_anyof_mask, uint64_t return_mask, double* out,
                              size_t max_regions) noexcept {
  OpGuard guard(*this);
  if (!guard.ok()) return -ECANCELED;
  if (!pagemap_.valid()) return -ENOTSUP;
  const uint64_t lo = reinterpret_cast<uint64_t>(base());
  uint64_t cursor = lo + offset;
  const uint64_t end = lo + offset + len;
  size_t filled = 0;
  compat::PageRegion chunk[kScanChunk];
  while (cursor < end && filled < max_regions) {
    compat::PmScanArg arg = {};
    arg.size = sizeof(arg);
    arg.flags = flags;
    arg.start = cursor;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(chunk);
    arg.vec_len = std::min(kScanChunk, max_regions - filled);
    arg.category_inverted = category_inverted;
    arg.category_mask = category_mask;
    arg.category_anyof_mask = category_anyof_mask;
    arg.return_mask = return_mask;
    int n = ::ioctl(pagemap_.get(), compat::kPagemapScan, &arg);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
      out[filled * 3 + 0] = static_cast<double>(chunk[i].start - lo);
      out[filled * 3 + 1] = static_cast<double>(chunk[i].end - lo);
      out[filled * 3 + 2] = static_cast<double>(chunk[i].categories);
      filled++;
    }
    if (arg.walk_end <= cursor) break;
    cursor = arg.walk_end;
  }
  return static_cast<long>(filled);
}

}  // namespace dmem
