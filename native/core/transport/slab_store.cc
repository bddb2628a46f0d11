#include "transport/slab_store.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/system_error.h"
#include "transport/wire.h"

namespace dmem {

SlabStore::SlabStore(const SlabStoreOptions& options) : options_(options), slots_(options.slots) {
  if (options.kind != PoolKind::kFile) return;
  const std::string& path = options.file_path;
  file_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!file_.valid()) throw_errno(errno, "open", path + " (the --file pool)");
  off_t bytes = static_cast<off_t>(options.slab_size) * options.slots;
  if (::ftruncate(file_.get(), bytes) < 0) throw_errno(errno, "ftruncate", path + " to " + std::to_string(bytes) + " bytes");
  // Zero the whole pool: a file may hold an earlier run's data.
  (void)::fallocate(file_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, bytes);
  file_direct_fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_DIRECT));
  file_direct_ = file_direct_fd_.valid();
  if (!file_direct_) {
    // tmpfs and some others refuse O_DIRECT (EINVAL): buffered I/O it is.
    file_direct_fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!file_direct_fd_.valid()) throw_errno(errno, "open", path);
  }
}

SlabStore::~SlabStore() = default;

void SlabStore::open_session(uint32_t session, const std::string& secret) {
  if (secret.size() != 16) throw SystemError(EINVAL, "open_session", "session secret must be 16 hex digits");
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_[session] = secret;
}

void SlabStore::close_session(uint32_t session) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.erase(session);
}

uint64_t SlabStore::grant(uint32_t slot, uint32_t session, uint32_t key) {
  const std::string what = "slab " + std::to_string(slot);
  if (slot >= options_.slots) throw SystemError(ERANGE, "grant", what + " is beyond the pool's " + std::to_string(options_.slots) + " slots");
  UniqueFd memfd;
  Mapping mapping;
  if (options_.kind == PoolKind::kMemory) {
    memfd = UniqueFd(::memfd_create("dmem-slab", MFD_CLOEXEC));
    if (!memfd.valid()) throw_errno(errno, "memfd_create", what);
    if (::ftruncate(memfd.get(), static_cast<off_t>(options_.slab_size)) < 0) throw_errno(errno, "ftruncate", what);
    void* base = ::mmap(nullptr, options_.slab_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, memfd.get(), 0);
    if (base == MAP_FAILED) throw_errno(errno, "mmap", what);
    mapping = Mapping(base, options_.slab_size);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& s = slots_[slot];
  if (s.granted) throw SystemError(EBUSY, "grant", what + " is already granted");
  s.granted = true;
  s.session = session;
  s.key = key;
  s.memfd = std::move(memfd);
  s.mapping = std::move(mapping);
  return options_.address_base + static_cast<uint64_t>(slot) * options_.slab_size;
}

void SlabStore::revoke(uint32_t slot) noexcept {
  if (slot >= options_.slots) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& s = slots_[slot];
  s.granted = false;
  s.session = 0;
  s.key = 0;
  // Memory pools: dropping the memfd and mapping frees the memory; a client
  // that still maps it keeps an orphan, never a later lease's data.
  s.mapping.reset();
  s.memfd.reset();
  if (options_.kind == PoolKind::kFile) {
    (void)::fallocate(file_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(slot) * static_cast<off_t>(options_.slab_size),
                      static_cast<off_t>(options_.slab_size));
  }
}

SlabStoreStats SlabStore::stats() const noexcept {
  return {reads_.load(std::memory_order_relaxed), writes_.load(std::memory_order_relaxed),
          bytes_read_.load(std::memory_order_relaxed), bytes_written_.load(std::memory_order_relaxed),
          refused_.load(std::memory_order_relaxed)};
}

uint32_t SlabStore::session_for(const char secret[16]) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [session, s] : sessions_) {
    if (memcmp(s.data(), secret, 16) == 0) return session;
  }
  return 0;
}

bool SlabStore::session_open(uint32_t session) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.count(session) != 0;
}

int SlabStore::check(uint32_t session, uint64_t address, uint32_t length, uint32_t key,
                     uint32_t* slot_out, size_t* offset_out) noexcept {
  *slot_out = wire::kNoSlab;
  if (address < options_.address_base) return ERANGE;
  const uint64_t relative = address - options_.address_base;
  const uint64_t slot = relative / options_.slab_size;
  if (slot >= options_.slots) return ERANGE;
  *slot_out = static_cast<uint32_t>(slot);
  const size_t offset = relative % options_.slab_size;
  if (length == 0 || length > options_.slab_size - offset) return ERANGE;  // crosses the slab's end
  const Slot& s = slots_[slot];
  if (!s.granted || s.session != session) return EACCES;
  if (s.key != key) return EKEYREJECTED;
  *offset_out = offset;
  return 0;
}

int SlabStore::read(uint32_t session, uint64_t address, uint32_t length, uint32_t key, uint8_t* dst,
                    uint32_t* slot_out) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t offset = 0;
  int status = check(session, address, length, key, slot_out, &offset);
  if (status == 0) {
    if (options_.kind == PoolKind::kMemory) {
      memcpy(dst, slots_[*slot_out].mapping.base() + offset, length);
    } else {
      off_t at = static_cast<off_t>(*slot_out) * static_cast<off_t>(options_.slab_size) + static_cast<off_t>(offset);
      ssize_t n = ::pread(file_.get(), dst, length, at);
      if (n != static_cast<ssize_t>(length)) status = n < 0 ? errno : EIO;
    }
  }
  if (status == 0) {
    reads_.fetch_add(1, std::memory_order_relaxed);
    bytes_read_.fetch_add(length, std::memory_order_relaxed);
  } else {
    refused_.fetch_add(1, std::memory_order_relaxed);
  }
  return status;
}

int SlabStore::write(uint32_t session, uint64_t address, uint32_t length, uint32_t key,
                     const uint8_t* src, uint32_t* slot_out) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t offset = 0;
  int status = check(session, address, length, key, slot_out, &offset);
  if (status == 0) {
    if (options_.kind == PoolKind::kMemory) {
      memcpy(slots_[*slot_out].mapping.base() + offset, src, length);
    } else {
      off_t at = static_cast<off_t>(*slot_out) * static_cast<off_t>(options_.slab_size) + static_cast<off_t>(offset);
      ssize_t n = ::pwrite(file_.get(), src, length, at);
      if (n != static_cast<ssize_t>(length)) status = n < 0 ? errno : EIO;
    }
  }
  if (status == 0) {
    writes_.fetch_add(1, std::memory_order_relaxed);
    bytes_written_.fetch_add(length, std::memory_order_relaxed);
  } else {
    refused_.fetch_add(1, std::memory_order_relaxed);
  }
  return status;
}

int SlabStore::descriptor(uint32_t session, uint32_t slot, UniqueFd* fd, uint64_t* offset,
                          uint64_t* length) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sessions_.count(session) == 0) return EACCES;
  if (options_.kind == PoolKind::kFile) {
    if (slot != wire::kNoSlab) return EINVAL;
    *offset = 0;
    *length = static_cast<uint64_t>(options_.slab_size) * options_.slots;
    fd->reset(::fcntl(file_direct_fd_.get(), F_DUPFD_CLOEXEC, 0));
  } else {
    if (slot >= options_.slots) return ERANGE;
    const Slot& s = slots_[slot];
    if (!s.granted || s.session != session) return EACCES;
    *offset = 0;
    *length = options_.slab_size;
    fd->reset(::fcntl(s.memfd.get(), F_DUPFD_CLOEXEC, 0));
  }
  return fd->valid() ? 0 : errno;
}

}  // namespace dmem
