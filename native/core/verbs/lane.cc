// Lane control path: queue pair and completion queue, connection, staging
// registration, teardown.
#include "verbs/lane.h"

#include <errno.h>

#include <utility>

#include "common/system_error.h"

namespace dmem::verbs {

Lane::Lane(std::shared_ptr<ClientSession> session, uint32_t max_inflight)
    : session_(std::move(session)), max_inflight_(max_inflight) {
  if (max_inflight == 0 || max_inflight > 4096) {
    throw SystemError(EINVAL, "ibv_create_qp", "a lane holds 1..4096 operations in flight, not " + std::to_string(max_inflight));
  }
  // One completion per work request at most (errors and flushes), so a CQ as
  // deep as the send queue never overflows.
  cq_ = std::make_shared<CompletionQueue>(session_->device(), static_cast<int>(max_inflight) + 1, true);
  qp_ = std::make_unique<QueuePair>(session_->pd(), cq_, session_->port(), max_inflight, 0);
  pending_.resize(max_inflight);
  done_.reset(max_inflight);
  stall_ns_ = static_cast<int64_t>(session_->timeout_ms()) * 1000000;
}

// Teardown (members, reverse order): QP, staging MR, CQ, then the session
// reference (PD, device). The memory node is told to free its side on the
// next prepareLane() (lane_closed queues the QP number for disconnect-qp).
Lane::~Lane() { session_->lane_closed(remote_qpn_); }

void Lane::connect(const QpEndpoint& remote) {
  qp_->connect(remote);
  remote_qpn_ = remote.qpn;
}

void Lane::attach_staging(uint8_t* base, size_t length) {
  if (mr_ != nullptr) throw SystemError(EBUSY, "ibv_reg_mr", "this lane already has a staging buffer");
  // Local access only: READ writes into staging, WRITE reads from it. No
  // remote access: nobody reaches into a compute node's staging buffer.
  mr_ = std::make_unique<MemoryRegion>(session_->pd(), base, length, IBV_ACCESS_LOCAL_WRITE, nullptr,
                                       "staging buffer of lane QP " + std::to_string(qp_->qpn()));
  staging_ = base;
  staging_length_ = length;
  lkey_ = mr_->lkey();
  owner_ = std::this_thread::get_id();
}

}  // namespace dmem::verbs
