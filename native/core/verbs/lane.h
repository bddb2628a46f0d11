// One pager lane's RDMA connection to a memory node: an RC queue pair, its
// own completion queue, and the lane's staging buffer registered as a memory
// region. Posts batches of one-sided READ and WRITE operations and reports
// their completions in the same caller-owned layouts as every transport
// (native/core/transport/connection.h, lib/transport/layout.ts):
//   operations  [op (0 READ, 1 WRITE), tag, staging offset, remote address, length, key = rkey]
//   completions [tag, status, bytes]
// status: 0; an errno value (EINVAL malformed, ECONNRESET session lost,
// ETIMEDOUT nothing completed for the session's timeout); or
// kWcStatusBase + ibv_wc_status for a failed work completion.
//
// Made on the session's thread (create, connect), then claimed by one lane
// thread, which alone uses it from then on (attach_staging, post, poll).
//
// Signalling: only the last work request of each post() batch asks for a
// completion. RC completes a send queue in order, so its completion stands
// for every earlier request; a failed request always completes, signalled or
// not, and so do the ones flushed after it.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "transport/data_layout.h"
#include "verbs/client_session.h"
#include "verbs/completion_queue.h"
#include "verbs/memory_region.h"
#include "verbs/queue_pair.h"

namespace dmem::verbs {

class Lane {
 public:
  Lane(std::shared_ptr<ClientSession> session, uint32_t max_inflight);  // QP in INIT; throws
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  QpEndpoint local() const noexcept { return qp_->local(); }
  void connect(const QpEndpoint& remote);  // throws
  bool connected() const noexcept { return remote_qpn_ != 0; }

  // ---- the lane's thread
  // Registers [base, base + length) for local writes (READ lands there) and
  // reads (WRITE takes from there). The caller keeps the memory alive until
  // this lane is destroyed. Throws SystemError (ENOMEM: memlock).
  void attach_staging(uint8_t* base, size_t length);
  // Caps the busy-poll before poll() sleeps on the completion channel.
  void set_spin_us(uint32_t spin_us) noexcept { spin_ns_ = static_cast<int64_t>(spin_us) * 1000; }

  uint32_t max_inflight() const noexcept { return max_inflight_; }
  uint32_t inflight() const noexcept { return inflight_; }
  int broken_reason() const noexcept { return broken_; }

  // ---- data path (lane_datapath.cc): no allocation, no throw, no lock.
  // Posts up to `count` operations; returns how many were accepted (fewer at
  // the in-flight limit), or -errno once the lane is broken.
  int post(const double* ops, int count) noexcept;
  // Waits up to timeout_ms (0: do not wait; < 0: no limit) for completions:
  // spins for the spin budget, then sleeps on the completion channel.
  // Returns how many were written (at most max), or -errno when the lane is
  // broken and nothing is left to report.
  int poll(int32_t* out, int max, int timeout_ms) noexcept;

 private:
  struct Pending {
    uint32_t tag;
    uint32_t length;
    int32_t status;
    bool done;
  };
  int reap(int32_t* out, int max) noexcept;
  void settle(uint64_t seq, int wc_status) noexcept;
  void fail_pending(int32_t status) noexcept;
  int emit(int32_t* out, int max) noexcept;
  void break_lane(int err) noexcept;
  // Debug builds (node-gyp defines DEBUG there, not NDEBUG in Release): post
  // and poll only on the thread that attached staging.
  void assert_owner() const noexcept {
#ifdef DEBUG
    assert(owner_ == std::this_thread::get_id());
#endif
  }

  // Declared in reverse teardown order: the QP goes first, then the staging
  // MR, then the CQ, then the session (and with it, last, PD and device).
  std::shared_ptr<ClientSession> session_;
  std::shared_ptr<CompletionQueue> cq_;
  std::unique_ptr<MemoryRegion> mr_;
  std::unique_ptr<QueuePair> qp_;

  const uint32_t max_inflight_;
  uint32_t remote_qpn_ = 0;
  uint8_t* staging_ = nullptr;
  size_t staging_length_ = 0;
  uint32_t lkey_ = 0;
  int64_t spin_ns_ = 0;
  int64_t stall_ns_ = 0;
  // Work requests in flight, by sequence number (the wr_id) modulo max_inflight.
  std::vector<Pending> pending_;
  uint64_t head_seq_ = 0;  // oldest not yet reported
  uint64_t next_seq_ = 0;  // next to post
  uint32_t inflight_ = 0;
  int64_t last_progress_ns_ = 0;  // last completion seen while waiting; 0: not waiting yet
  bool flushing_ = false;  // stalled: the QP was moved to ERR and we wait for its flush
  // Completions decided at post time (malformed, session lost), reported first.
  CompletionRing done_;
  int broken_ = 0;
  std::thread::id owner_;  // the lane's thread, from attach_staging on
};

}  // namespace dmem::verbs
