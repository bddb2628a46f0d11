// A userfaultfd region: a sparse memfd mapped MAP_SHARED and registered with
// a userfaultfd, plus the page-range operations a pager needs. Mechanism only:
// what to fetch, map, zap or punch is decided in TypeScript.
//
// Lifetime: a RegionCore is shared (std::shared_ptr) by its owner, by every
// attached handle in other threads and by every ArrayBuffer view over it, so
// the mapping never disappears under a live view. The owner's close() releases
// what matters at once (it unregisters the range, which wakes every faulting
// thread, and punches the whole file, which frees its memory); the mapping and
// the descriptors are closed as soon as no operation is using them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/mapping.h"
#include "common/unique_fd.h"

namespace dmem {

struct RegionOptions {
  size_t size;             // bytes, a multiple of the page size
  uint64_t features;       // UFFD_FEATURE_* to request in the handshake
  uint64_t register_mode;  // UFFDIO_REGISTER_MODE_* for the whole range
  std::string name;        // memfd name, seen in /proc/PID/maps
};

// One decoded fault event, four doubles: see lib/uffd/event-layout.ts.
enum FaultKind : int { kFaultMissing = 0, kFaultMinor = 1, kFaultWriteProtect = 2 };
constexpr int kEventStride = 4;

class RegionCore {
 public:
  // Takes ownership of `uffd`, which has not had its handshake yet.
  static std::shared_ptr<RegionCore> create(UniqueFd uffd, const RegionOptions& options);
  ~RegionCore();

  RegionCore(const RegionCore&) = delete;
  RegionCore& operator=(const RegionCore&) = delete;

  uint8_t* base() const noexcept { return mapping_.base(); }
  size_t size() const noexcept { return mapping_.length(); }
  uint64_t features() const noexcept { return features_; }
  uint64_t ioctls() const noexcept { return ioctls_; }
  uint64_t register_mode() const noexcept { return register_mode_; }
  int uffd() const noexcept { return uffd_.get(); }
  int memfd() const noexcept { return memfd_.get(); }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // Every operation runs inside an OpGuard: close() waits for the operations
  // in flight, then closes the descriptors, so that no thread can ever use a
  // descriptor number after it was closed (and perhaps reused).
  class OpGuard {
   public:
    explicit OpGuard(RegionCore& core) noexcept : core_(core) {
      core_.active_.fetch_add(1, std::memory_order_seq_cst);
      ok_ = !core_.closed_.load(std::memory_order_seq_cst);
    }
    ~OpGuard() { core_.active_.fetch_sub(1, std::memory_order_release); }
    OpGuard(const OpGuard&) = delete;
    OpGuard& operator=(const OpGuard&) = delete;
    bool ok() const noexcept { return ok_; }

   private:
    RegionCore& core_;
    bool ok_;
  };

  // The owner's close: idempotent, never throws; see the header comment.
  // Frees the memory, releases faulting threads, and closes the descriptors
  // once the operations in flight have returned. Operations after it fail
  // with -ECANCELED.
  void close() noexcept;

  // ---- data path (region_datapath.cc): no allocation, no throw, no lock.
  // Offsets and lengths are bytes from base(), page-aligned, range-checked by
  // the caller. Results are >= 0 on success, -errno on failure.

  // UFFDIO_COPY `len` bytes from `src`. Pages found present are skipped and
  // their waiters woken. Returns the number of pages newly installed.
  long copy(size_t offset, const void* src, size_t len, bool write_protect) noexcept;
  // UFFDIO_CONTINUE: map pages already in the page cache. Skips present pages
  // like copy(). A hole in the range fails with -EFAULT.
  long continue_range(size_t offset, size_t len, bool write_protect) noexcept;
  // UFFDIO_ZEROPAGE; same skipping. Returns pages installed.
  long zeropage(size_t offset, size_t len) noexcept;
  int wake(size_t offset, size_t len) noexcept;
  // UFFDIO_POISON: resolve faults on the range with SIGBUS (a page that can
  // no longer be fetched). Returns pages poisoned.
  long poison(size_t offset, size_t len) noexcept;
  int write_protect(size_t offset, size_t len, bool protect, bool wake_after) noexcept;
  // Block until fault events arrive, `timeout_ms` passes (-1: forever) or the
  // region is closed (-ECANCELED). Fills `out` (max_events * kEventStride).
  int read_events(double* out, int max_events, int timeout_ms) noexcept;

  long pread(size_t offset, void* dst, size_t len) noexcept;
  long pwrite(size_t offset, const void* src, size_t len) noexcept;
  int punch_hole(size_t offset, size_t len) noexcept;
  int dontneed(size_t offset, size_t len) noexcept;
  // Bytes the memfd holds in memory (st_blocks * 512).
  long allocated_bytes() noexcept;
  // PAGEMAP_SCAN over [offset, offset+len). Writes up to max_regions triples
  // (start offset, end offset, categories) to out; returns the count.
  long pagemap_scan(size_t offset, size_t len, uint64_t flags, uint64_t category_inverted,
                    uint64_t category_mask, uint64_t category_anyof_mask, uint64_t return_mask,
                    double* out, size_t max_regions) noexcept;

 private:
  RegionCore() = default;
  long fill_range(unsigned long request, size_t offset, const void* src, size_t len,
                  uint64_t mode) noexcept;

  Mapping mapping_;      // unmapped last: views may outlive the owner's close()
  UniqueFd memfd_;
  UniqueFd uffd_;
  UniqueFd shutdown_;    // eventfd, signalled by close() to end read_events
  UniqueFd pagemap_;     // /proc/self/pagemap, opened when PAGEMAP_SCAN exists
  uint64_t features_ = 0;
  uint64_t ioctls_ = 0;
  uint64_t register_mode_ = 0;
  std::atomic<bool> closed_{false};
  std::atomic<int> active_{0};
};

}  // namespace dmem
