// The memory node's pool served over RDMA: one anonymous mapping divided into
// slots. A granted slot is a memory region in its session's protection
// domain, so the lease key is the MR's rkey and the lease address its real
// virtual address; each client lane's queue pair lives in the same PD. A
// session's QPs can therefore reach its own slabs and nothing else, and the
// device does all the work: no application CPU on the data path.
//
// Mechanism only: the control server (TypeScript) picks slots, decides when
// leases end, and runs the connect-qp exchange. Every call here runs on that
// one control thread; nothing else touches the pool, so there is no lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mapping.h"
#include "verbs/completion_queue.h"
#include "verbs/device.h"
#include "verbs/memory_region.h"
#include "verbs/protection_domain.h"
#include "verbs/queue_pair.h"

namespace dmem::verbs {

struct RdmaPoolOptions {
  std::string device;  // "" = the first device with an active port
  uint8_t port = 1;
  int gid_index = -1;  // -1 = the RoCE v2 GID of the netdev's IPv4 address
  size_t slab_size = 0;
  uint32_t slots = 0;
  uint32_t max_qps_per_session = 256;
};

struct RdmaGrant {
  uint64_t address;
  uint32_t rkey;
};

class RdmaPool {
 public:
  explicit RdmaPool(const RdmaPoolOptions& options);  // throws SystemError
  ~RdmaPool();
  RdmaPool(const RdmaPool&) = delete;
  RdmaPool& operator=(const RdmaPool&) = delete;

  const std::string& device_name() const noexcept { return device_->name(); }
  const PortSelection& port() const noexcept { return port_; }
  uint64_t address_base() const noexcept { return reinterpret_cast<uintptr_t>(pool_.base()); }
  uint32_t queue_pairs() const noexcept;

  void open_session(uint32_t session);  // throws
  // Destroys the session's QPs and drops its PD (freed once its last MR is).
  void close_session(uint32_t session) noexcept;
  // Registers the slot's memory in the session's PD for remote READ and WRITE.
  RdmaGrant grant(uint32_t slot, uint32_t session);  // throws
  // Deregisters the slot's MR (its rkey is dead from here on) and drops its
  // memory, which reads as zeros when next granted. Throws SystemError when
  // deregistration fails: the slot must then never be leased again.
  void revoke(uint32_t slot);
  // A QP in the session's PD, connected to the client's. Also frees the
  // session's QPs that have failed (IBV_QPS_ERR: a remote access error ends
  // an RC connection on both sides). Throws (EMFILE at the per-session limit).
  QpEndpoint connect_qp(uint32_t session, const QpEndpoint& client);
  // Destroys the session's QP `qpn`; false when it has none by that number.
  bool disconnect_qp(uint32_t session, uint32_t qpn) noexcept;

 private:
  struct Session {
    std::shared_ptr<ProtectionDomain> pd;
    std::vector<std::unique_ptr<QueuePair>> qps;
  };
  struct Slot {
    std::unique_ptr<MemoryRegion> mr;
    uint32_t session = 0;
  };
  Session& session(uint32_t id, const char* operation);

  const RdmaPoolOptions options_;
  // Declared in reverse teardown order. Destruction runs bottom-up: the
  // sessions' QPs first, then the slabs' MRs (each PD is freed with the last
  // MR or session holding it), then the CQ, the pool memory (only once no MR
  // covers it), and the device last.
  std::shared_ptr<Device> device_;
  PortSelection port_;
  Mapping pool_;
  // Every memory-node QP's CQ. Nothing is ever posted on this side, so
  // nothing ever completes here; the QPs only need one.
  std::shared_ptr<CompletionQueue> cq_;
  std::vector<Slot> slots_;
  std::map<uint32_t, Session> sessions_;
};

}  // namespace dmem::verbs
