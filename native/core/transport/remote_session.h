// The compute node's view of one memory-node session: the data endpoint, the
// session secret, and the slabs leased so far. Shared (shared_ptr) by every
// lane's Connection; lanes in other threads reach it by id (addon registry).
//
// Slab table contract: add_slab/remove_slab/mark_lost run on the control
// thread; lanes read concurrently without locks. Each slot's fields are
// written before its `active` flag is stored (release) and read after it is
// loaded (acquire). A removed shm slab keeps its mapping until the session
// dies (its memory is punched at once), so a lane racing a release can never
// touch unmapped memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/mapping.h"
#include "common/unique_fd.h"

namespace dmem {

enum class TransportKind : int { kTcp = 0, kShm = 1, kFile = 2 };

struct RemoteSessionOptions {
  TransportKind kind;
  std::string host;       // tcp
  uint16_t port;          // tcp
  std::string unix_path;  // shm, file: descriptor passing
  std::string secret;     // 16 hex digits
  uint64_t slab_size;
  uint32_t slots;
  uint64_t address_base;
  int timeout_ms;         // connect and per-operation bound
};

class RemoteSession {
 public:
  static std::shared_ptr<RemoteSession> create(const RemoteSessionOptions& options);  // throws
  ~RemoteSession();
  RemoteSession(const RemoteSession&) = delete;
  RemoteSession& operator=(const RemoteSession&) = delete;

  const RemoteSessionOptions& options() const noexcept { return options_; }

  // ---- control thread. add_slab fetches the descriptor for shm and file.
  void add_slab(uint32_t slot, uint32_t key);  // throws
  void remove_slab(uint32_t slot) noexcept;
  void mark_lost() noexcept { lost_.store(true, std::memory_order_release); }

  // ---- any thread
  bool lost() const noexcept { return lost_.load(std::memory_order_acquire); }
  // Resolves a remote range inside one active slab under `key`. Returns 0 or
  // ERANGE / EACCES / EKEYREJECTED; sets the slot and the offset in it.
  int resolve(uint64_t address, uint32_t length, uint32_t key, uint32_t* slot,
              uint64_t* offset) const noexcept;
  uint8_t* slab_memory(uint32_t slot) const noexcept { return slots_[slot].mapping.base(); }
  uint64_t slab_file_offset(uint32_t slot) const noexcept {
    return static_cast<uint64_t>(slot) * options_.slab_size;
  }
  int pool_file() const noexcept { return pool_file_.get(); }

 private:
  explicit RemoteSession(const RemoteSessionOptions& options);
  // Asks the memory node for a descriptor over its unix socket.
  UniqueFd fetch_descriptor(uint32_t slot, uint64_t* length);

  struct Slot {
    std::atomic<uint32_t> active{0};
    uint32_t key = 0;
    Mapping mapping;  // shm
    UniqueFd memfd;   // shm: kept to punch it on removal
    std::vector<Mapping> retired;  // shm: earlier mappings of this slot
  };

  const RemoteSessionOptions options_;
  std::vector<Slot> slots_;
  UniqueFd pool_file_;  // file
  std::atomic<bool> lost_{false};
};

}  // namespace dmem
