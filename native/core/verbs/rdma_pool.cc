#include "verbs/rdma_pool.h"

#include <errno.h>
#include <sys/mman.h>

#include <utility>

#include "common/system_error.h"

namespace dmem::verbs {

namespace {

// The memory node's slabs: remote peers read and write them. LOCAL_WRITE is
// required alongside REMOTE_WRITE.
constexpr int kSlabAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
// What a client's QP may do to this side's memory (its MRs still decide).
constexpr int kQpRemoteAccess = IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;

}  // namespace

RdmaPool::RdmaPool(const RdmaPoolOptions& options) : options_(options) {
  if (options.slab_size == 0 || options.slab_size % 4096 != 0 || options.slots == 0) {
    throw SystemError(EINVAL, "RdmaPool", "slab size must be a positive multiple of 4096 and slots positive");
  }
  device_ = Device::open(options.device);
  port_ = device_->select_port(options.port, options.gid_index);
  const size_t bytes = options.slab_size * options.slots;
  // Reserved, not committed: a slab takes memory when it is registered
  // (pinned) and gives it back on revoke.
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw_errno(errno, "mmap", "memory-node pool of " + std::to_string(bytes) + " bytes");
  pool_ = Mapping(base, bytes);
  cq_ = std::make_shared<CompletionQueue>(device_, 16, false);
  slots_.resize(options.slots);
}

RdmaPool::~RdmaPool() = default;

uint32_t RdmaPool::queue_pairs() const noexcept {
  size_t n = 0;
  for (const auto& entry : sessions_) n += entry.second.qps.size();
  return static_cast<uint32_t>(n);
}

RdmaPool::Session& RdmaPool::session(uint32_t id, const char* operation) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) throw SystemError(ENOENT, operation, "session " + std::to_string(id) + " is not open");
  return it->second;
}

void RdmaPool::open_session(uint32_t id) {
  if (sessions_.count(id) != 0) throw SystemError(EEXIST, "open_session", "session " + std::to_string(id) + " is open already");
  Session s;
  s.pd = std::make_shared<ProtectionDomain>(device_);
  sessions_.emplace(id, std::move(s));
}

void RdmaPool::close_session(uint32_t id) noexcept {
  // QPs first (each drops its PD and CQ references), then the session's own
  // PD reference; MRs of slabs not yet revoked keep the PD until they go.
  sessions_.erase(id);
}

RdmaGrant RdmaPool::grant(uint32_t slot, uint32_t session_id) {
  if (slot >= slots_.size()) throw SystemError(ERANGE, "grant", "slot " + std::to_string(slot) + " is beyond the pool");
  Slot& s = slots_[slot];
  if (s.mr != nullptr) throw SystemError(EBUSY, "grant", "slot " + std::to_string(slot) + " is granted already");
  Session& owner = session(session_id, "grant");
  uint8_t* memory = pool_.base() + static_cast<size_t>(slot) * options_.slab_size;
  s.mr = std::make_unique<MemoryRegion>(owner.pd, memory, options_.slab_size, kSlabAccess, nullptr,
                                        "slab " + std::to_string(slot));
  s.session = session_id;
  return {s.mr->address(), s.mr->rkey()};
}

void RdmaPool::revoke(uint32_t slot) {
  if (slot >= slots_.size() || slots_[slot].mr == nullptr) return;
  Slot& s = slots_[slot];
  const int rc = s.mr->deregister();
  if (rc != 0) throw_errno(rc, "ibv_dereg_mr", "slab " + std::to_string(slot) + " (its memory cannot be reused)");
  s.mr.reset();
  // Unpinned now: drop the pages, so the slab reads as zeros when next granted.
  uint8_t* memory = pool_.base() + static_cast<size_t>(slot) * options_.slab_size;
  if (::madvise(memory, options_.slab_size, MADV_DONTNEED) != 0) {
    throw_errno(errno, "madvise", "MADV_DONTNEED on slab " + std::to_string(slot) + " (it would not read as zeros)");
  }
}

QpEndpoint RdmaPool::connect_qp(uint32_t session_id, const QpEndpoint& client) {
  Session& s = session(session_id, "connect_qp");
  // A QP whose connection failed is in ERR for good: free it.
  for (auto it = s.qps.begin(); it != s.qps.end();) {
    it = (*it)->state() == IBV_QPS_ERR ? s.qps.erase(it) : std::next(it);
  }
  if (s.qps.size() >= options_.max_qps_per_session) {
    throw SystemError(EMFILE, "connect_qp",
                      "session " + std::to_string(session_id) + " has " + std::to_string(s.qps.size()) +
                          " queue pairs, the limit: close lanes you no longer use");
  }
  auto qp = std::make_unique<QueuePair>(s.pd, cq_, port_, 1, kQpRemoteAccess);
  qp->connect(client);
  QpEndpoint local = qp->local();
  s.qps.push_back(std::move(qp));
  return local;
}

bool RdmaPool::disconnect_qp(uint32_t session_id, uint32_t qpn) noexcept {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return false;
  auto& qps = it->second.qps;
  for (auto q = qps.begin(); q != qps.end(); ++q) {
    if ((*q)->qpn() == qpn) {
      qps.erase(q);
      return true;
    }
  }
  return false;
}

}  // namespace dmem::verbs
