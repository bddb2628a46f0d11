// A reliable-connected (RC) queue pair and its connection to one peer QP.
//
// Life: constructed in INIT (access flags explicit), then connect() with the
// peer's endpoint takes it INIT → RTR → RTS. Endpoints travel over dmem's
// control protocol (connect-qp / qp-connected, docs/PROTOCOL.md).
//
// Ownership: the QP holds its PD and CQ, so it is always destroyed before
// them (first in the teardown order QP → MR → CQ → PD → device).
#pragma once

#include <infiniband/verbs.h>

#include <cstdint>
#include <memory>

#include "verbs/completion_queue.h"
#include "verbs/device.h"
#include "verbs/protection_domain.h"

namespace dmem::verbs {

// What one side tells the other to connect an RC QP pair.
struct QpEndpoint {
  uint32_t qpn = 0;        // 24 bits
  uint32_t psn = 0;        // 24 bits: the first packet sequence number it sends
  union ibv_gid gid = {};  // RoCE (zero on InfiniBand)
  uint16_t lid = 0;        // InfiniBand
  uint32_t mtu = 0;        // bytes, 256..4096: the path MTU is the smaller of the two
};

uint32_t mtu_bytes(ibv_mtu mtu) noexcept;
// 0 when `bytes` is not 256, 512, 1024, 2048 or 4096.
int mtu_from_bytes(uint32_t bytes) noexcept;

class QueuePair {
 public:
  // `remote_access`: what the peer may do to this PD's memory through this
  // QP (IBV_ACCESS_REMOTE_READ | _WRITE on the memory node, 0 on a client).
  // Throws SystemError.
  QueuePair(std::shared_ptr<ProtectionDomain> pd, std::shared_ptr<CompletionQueue> cq, const PortSelection& port,
            uint32_t max_send_wr, int remote_access);
  ~QueuePair();
  QueuePair(QueuePair&& other) noexcept;
  QueuePair& operator=(QueuePair&& other) noexcept;
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;

  ibv_qp* get() const noexcept { return qp_; }
  uint32_t qpn() const noexcept { return qp_ == nullptr ? 0 : qp_->qp_num; }
  uint32_t max_send_wr() const noexcept { return max_send_wr_; }
  QpEndpoint local() const noexcept;

  // INIT → RTR → RTS towards `remote`. Throws SystemError naming the step.
  void connect(const QpEndpoint& remote);
  // The QP's state (IBV_QPS_*), or -errno.
  int state() const noexcept;
  // Moves the QP to ERR: every outstanding work request completes (flushed).
  // 0 or an errno value. Safe on the data path (one syscall, no allocation).
  int to_error() noexcept;

 private:
  void release() noexcept;

  std::shared_ptr<ProtectionDomain> pd_;  // parents: released after qp_
  std::shared_ptr<CompletionQueue> cq_;
  PortSelection port_;
  ibv_qp* qp_ = nullptr;
  uint32_t psn_ = 0;
  uint32_t max_send_wr_ = 0;
};

}  // namespace dmem::verbs
