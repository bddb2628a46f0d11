#include "pager/floor_pager.h"

#include <errno.h>
#include <string.h>

#include "common/system_error.h"
#include "transport/wire.h"

namespace dmem {

namespace {
constexpr uint64_t kPage = 4096;
constexpr uint32_t kEvictBatch = 256;
}  // namespace

FloorPager::FloorPager(std::shared_ptr<RegionCore> region, std::shared_ptr<RemoteSession> session,
                       const FloorPagerOptions& options)
    : region_(std::move(region)), session_(std::move(session)), options_(options) {
  pages_ = region_->size() / kPage;
  if (options_.block_pages == 0 || options_.block_pages > 64 || (options_.block_pages & (options_.block_pages - 1)) != 0) {
    throw SystemError(EINVAL, "FloorPager", "block pages must be a power of two up to 64");
  }
  if (options_.budget_pages < kEvictBatch + options_.block_pages) {
    throw SystemError(EINVAL, "FloorPager", "the budget must hold at least one eviction batch and one block");
  }
  staging_ = Staging::create(kEvictBatch * kPage);
  connection_ = std::make_unique<Connection>(session_, staging_, 64);
  resident_.assign(pages_, 0);
  remote_valid_.assign(pages_, 0);
  fifo_.assign(pages_ / options_.block_pages + 1, 0);
  thread_ = std::thread([this] { run(); });
}

// Teardown: the thread stops first (the region's eventfd or the flag ends
// its wait), then the connection, staging and references go.
FloorPager::~FloorPager() { stop(); }

void FloorPager::stop() noexcept {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

FloorPagerStats FloorPager::stats() const noexcept {
  return {faults_.load(), fetched_.load(), evicted_.load(), failures_.load()};
}

uint64_t FloorPager::remote_address(uint64_t page) const noexcept {
  const uint64_t per_slab = options_.slab_size / kPage;
  return options_.slab_addresses[page / per_slab] + (page % per_slab) * kPage;
}

uint32_t FloorPager::remote_key(uint64_t page) const noexcept {
  return options_.slab_keys[page / (options_.slab_size / kPage)];
}

void FloorPager::run() noexcept {
  double events[64 * kEventStride];
  while (!stopping_.load(std::memory_order_relaxed)) {
    int n = region_->read_events(events, 64, 100);
    if (n < 0) return;
    for (int i = 0; i < n; i++) {
      faults_.fetch_add(1, std::memory_order_relaxed);
      if (!serve(static_cast<uint64_t>(events[i * kEventStride]) / kPage)) {
        failures_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
}

bool FloorPager::transfer(uint8_t op, uint64_t first_page, uint32_t pages, uint64_t staging_offset) noexcept {
  double spec[kOpStride] = {static_cast<double>(op), 0, static_cast<double>(staging_offset),
                            static_cast<double>(remote_address(first_page)), static_cast<double>(pages * kPage),
                            static_cast<double>(remote_key(first_page))};
  if (connection_->post(spec, 1) != 1) return false;
  int32_t done[kCompletionStride];
  for (int tries = 0; tries < 1000; tries++) {
    int n = connection_->poll(done, 1, 100);
    if (n < 0) return false;
    if (n == 1) return done[1] == 0;
  }
  return false;
}

bool FloorPager::serve(uint64_t page) noexcept {
  const uint64_t start = page - page % options_.block_pages;
  const uint64_t end = std::min<uint64_t>(start + options_.block_pages, pages_);
  if (resident_[page]) {
    region_->wake(page * kPage, kPage);  // a duplicate message
    return true;
  }
  while (resident_pages_ + (end - start) > options_.budget_pages) {
    if (!evict_batch()) return false;
  }
  // Fetch the block's remote pages (zero-fill the rest) into staging, then
  // map it whole. Pages already resident are skipped by UFFDIO_COPY itself.
  uint8_t* data = staging_->data();
  uint64_t q = start;
  while (q < end) {
    uint64_t r = q + 1;
    while (r < end && remote_valid_[r] == remote_valid_[q]) r++;
    if (remote_valid_[q]) {
      if (!transfer(wire::kRead, q, static_cast<uint32_t>(r - q), (q - start) * kPage)) return false;
      fetched_.fetch_add(r - q, std::memory_order_relaxed);
    } else {
      memset(data + (q - start) * kPage, 0, (r - q) * kPage);
    }
    q = r;
  }
  long installed = region_->copy(start * kPage, data, (end - start) * kPage, false);
  if (installed < 0) return false;
  for (uint64_t p = start; p < end; p++) {
    if (!resident_[p]) {
      resident_[p] = 1;
      resident_pages_++;
    }
  }
  fifo_[(fifo_head_ + fifo_count_) % fifo_.size()] = start;
  fifo_count_++;
  return true;
}

bool FloorPager::evict_batch() noexcept {
  uint32_t freed = 0;
  while (freed < kEvictBatch && fifo_count_ > 0) {
    const uint64_t start = fifo_[fifo_head_];
    fifo_head_ = (fifo_head_ + 1) % fifo_.size();
    fifo_count_--;
    const uint64_t end = std::min<uint64_t>(start + options_.block_pages, pages_);
    // Zap first, then copy out, then punch: no write is lost.
    region_->dontneed(start * kPage, (end - start) * kPage);
    const uint32_t n = static_cast<uint32_t>(end - start);
    if (region_->pread(start * kPage, staging_->data(), n * kPage) != static_cast<long>(n * kPage)) return false;
    if (!transfer(wire::kWrite, start, n, 0)) return false;
    region_->punch_hole(start * kPage, n * kPage);
    for (uint64_t p = start; p < end; p++) {
      if (resident_[p]) resident_pages_--;
      resident_[p] = 0;
      remote_valid_[p] = 1;
    }
    freed += n;
    evicted_.fetch_add(n, std::memory_order_relaxed);
  }
  return freed > 0;
}

}  // namespace dmem
