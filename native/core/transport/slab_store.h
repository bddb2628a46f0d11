// The memory node's slabs: which session holds which slot, under which key,
// and the memory behind it. Mechanism only: the control server (TypeScript)
// picks slots and keys and decides when leases end.
//
// Memory pools give each granted slot a fresh memfd (so a reused slot can only
// ever read as zeros, and a stale client mapping holds orphaned memory, never
// another client's). File pools map each slot to a fixed file range, punched
// (zeroed) on revoke.
//
// Thread contract: grant/revoke/open_session/close_session run on the control
// thread; read/write/descriptor/session_for run on the data thread. One mutex
// guards the table and is held across each data operation, so a revoke never
// races a copy into the slab it frees.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mapping.h"
#include "common/unique_fd.h"

namespace dmem {

enum class PoolKind { kMemory, kFile };

struct SlabStoreOptions {
  PoolKind kind;
  size_t slab_size;
  uint32_t slots;
  uint64_t address_base;
  std::string file_path;  // kFile only
};

struct SlabStoreStats {
  uint64_t reads, writes, bytes_read, bytes_written, refused;
};

class SlabStore {
 public:
  explicit SlabStore(const SlabStoreOptions& options);  // throws SystemError
  ~SlabStore();
  SlabStore(const SlabStore&) = delete;
  SlabStore& operator=(const SlabStore&) = delete;

  size_t slab_size() const noexcept { return options_.slab_size; }
  uint32_t slots() const noexcept { return options_.slots; }
  uint64_t address_base() const noexcept { return options_.address_base; }
  PoolKind kind() const noexcept { return options_.kind; }
  bool file_direct() const noexcept { return file_direct_; }

  // ---- control thread
  void open_session(uint32_t session, const std::string& secret);
  void close_session(uint32_t session) noexcept;
  // Backs `slot` for `session` under `key`; returns its remote address. Throws.
  uint64_t grant(uint32_t slot, uint32_t session, uint32_t key);
  void revoke(uint32_t slot) noexcept;
  SlabStoreStats stats() const noexcept;

  // ---- data thread. Results: 0 or an errno value; *slot_out names the slot
  // the address fell in (wire::kNoSlab when none).
  uint32_t session_for(const char secret[16]) noexcept;
  bool session_open(uint32_t session) noexcept;
  int read(uint32_t session, uint64_t address, uint32_t length, uint32_t key, uint8_t* dst,
           uint32_t* slot_out) noexcept;
  int write(uint32_t session, uint64_t address, uint32_t length, uint32_t key, const uint8_t* src,
            uint32_t* slot_out) noexcept;
  // A duplicate of the descriptor behind `slot` (memory pools) or of the pool
  // file (slot == kNoSlab, file pools), with the range it covers.
  int descriptor(uint32_t session, uint32_t slot, UniqueFd* fd, uint64_t* offset,
                 uint64_t* length) noexcept;

 private:
  struct Slot {
    bool granted = false;
    uint32_t session = 0;
    uint32_t key = 0;
    UniqueFd memfd;   // kMemory
    Mapping mapping;  // kMemory
  };
  // Checks (session, range, key) under mutex_; returns status, sets slot/offset.
  int check(uint32_t session, uint64_t address, uint32_t length, uint32_t key, uint32_t* slot_out,
            size_t* offset_out) noexcept;

  const SlabStoreOptions options_;
  std::mutex mutex_;
  std::vector<Slot> slots_;
  std::unordered_map<uint32_t, std::string> sessions_;  // session -> secret
  UniqueFd file_;         // kFile: buffered, for the tcp data path
  UniqueFd file_direct_fd_;  // kFile: O_DIRECT where the filesystem allows, for clients
  bool file_direct_ = false;
  std::atomic<uint64_t> reads_{0}, writes_{0}, bytes_read_{0}, bytes_written_{0}, refused_{0};
};

}  // namespace dmem
