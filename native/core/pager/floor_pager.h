// The native floor of bench/pager: the least a userfaultfd pager can cost
// here, fetching from the same memory node over the same transport as the
// TypeScript pager. One thread; fixed aligned blocks, mapped whole with one
// UFFDIO_COPY; FIFO eviction in batches (zap, write back every page, punch);
// no dirty tracking, no policy. It exists to be measured against.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "transport/connection.h"
#include "transport/remote_session.h"
#include "transport/staging.h"
#include "uffd/region.h"

namespace dmem {

struct FloorPagerOptions {
  std::vector<uint64_t> slab_addresses;
  std::vector<uint32_t> slab_keys;
  uint64_t slab_size;
  uint32_t block_pages;   // power of two, <= 64
  uint32_t budget_pages;  // resident pages never exceed this
};

struct FloorPagerStats {
  uint64_t faults, fetched_pages, evicted_pages, failures;
};

class FloorPager {
 public:
  FloorPager(std::shared_ptr<RegionCore> region, std::shared_ptr<RemoteSession> session,
             const FloorPagerOptions& options);  // throws; starts the thread
  ~FloorPager();
  void stop() noexcept;
  FloorPagerStats stats() const noexcept;

 private:
  void run() noexcept;
  bool serve(uint64_t page) noexcept;
  bool evict_batch() noexcept;
  bool transfer(uint8_t op, uint64_t first_page, uint32_t pages, uint64_t staging_offset) noexcept;
  uint64_t remote_address(uint64_t page) const noexcept;
  uint32_t remote_key(uint64_t page) const noexcept;

  std::shared_ptr<RegionCore> region_;
  std::shared_ptr<RemoteSession> session_;
  FloorPagerOptions options_;
  uint64_t pages_;
  std::shared_ptr<Staging> staging_;
  std::unique_ptr<Connection> connection_;
  std::vector<uint8_t> resident_;        // per page
  std::vector<uint8_t> remote_valid_;    // per page
  std::vector<uint64_t> fifo_;           // ring of installed block starts
  size_t fifo_head_ = 0, fifo_count_ = 0;
  uint64_t resident_pages_ = 0;
  std::atomic<uint64_t> faults_{0}, fetched_{0}, evicted_{0}, failures_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last
};

}  // namespace dmem
