#include "verbs/queue_pair.h"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include "common/system_error.h"
#include "verbs/check.h"

namespace dmem::verbs {

namespace {

// ACK timeout 4.096 us * 2^14 = 67 ms, 7 retries: a dead peer fails a work
// request (IBV_WC_RETRY_EXC_ERR) within about half a second, never hangs it.
constexpr uint8_t kAckTimeout = 14;
constexpr uint8_t kRetryCount = 7;
constexpr uint8_t kRnrRetry = 7;
constexpr uint8_t kMinRnrTimer = 12;
constexpr uint8_t kHopLimit = 64;

uint32_t random_psn() {
  std::random_device random;
  return random() & 0xffffff;
}

}  // namespace

uint32_t mtu_bytes(ibv_mtu mtu) noexcept { return 128u << static_cast<int>(mtu); }

int mtu_from_bytes(uint32_t bytes) noexcept {
  switch (bytes) {
    case 256: return IBV_MTU_256;
    case 512: return IBV_MTU_512;
    case 1024: return IBV_MTU_1024;
    case 2048: return IBV_MTU_2048;
    case 4096: return IBV_MTU_4096;
    default: return 0;
  }
}

QueuePair::QueuePair(std::shared_ptr<ProtectionDomain> pd, std::shared_ptr<CompletionQueue> cq,
                     const PortSelection& port, uint32_t max_send_wr, int remote_access)
    : pd_(std::move(pd)), cq_(std::move(cq)), port_(port), psn_(random_psn()), max_send_wr_(max_send_wr) {
  const std::string what = "RC queue pair on " + pd_->device()->name() + " port " + std::to_string(port_.port);
  struct ibv_qp_init_attr init = {};
  init.send_cq = cq_->get();
  init.recv_cq = cq_->get();
  init.qp_type = IBV_QPT_RC;
  init.sq_sig_all = 0;  // selective signalling: each work request says whether it wants a completion
  init.cap.max_send_wr = max_send_wr;
  init.cap.max_recv_wr = 1;  // one-sided only: nothing is ever received
  init.cap.max_send_sge = 1;
  init.cap.max_recv_sge = 1;
  errno = 0;
  qp_ = check_null(ibv_create_qp(pd_->get(), &init), "ibv_create_qp",
                   what + " (" + std::to_string(max_send_wr) + " send work requests)");

  struct ibv_qp_attr attr = {};
  attr.qp_state = IBV_QPS_INIT;
  attr.pkey_index = 0;
  attr.port_num = port_.port;
  attr.qp_access_flags = remote_access;
  const int rc = ibv_modify_qp(qp_, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
  if (rc != 0) {
    release();
    check_ret(rc, "ibv_modify_qp", what + ": RESET -> INIT");
  }
}

// First in the teardown order: the QP goes, then its CQ and PD references
// (members, after the body), which may in turn free those.
QueuePair::~QueuePair() { release(); }

QueuePair::QueuePair(QueuePair&& other) noexcept
    : pd_(std::move(other.pd_)),
      cq_(std::move(other.cq_)),
      port_(other.port_),
      qp_(std::exchange(other.qp_, nullptr)),
      psn_(other.psn_),
      max_send_wr_(other.max_send_wr_) {}

QueuePair& QueuePair::operator=(QueuePair&& other) noexcept {
  if (this != &other) {
    release();
    pd_ = std::move(other.pd_);
    cq_ = std::move(other.cq_);
    port_ = other.port_;
    qp_ = std::exchange(other.qp_, nullptr);
    psn_ = other.psn_;
    max_send_wr_ = other.max_send_wr_;
  }
  return *this;
}

void QueuePair::release() noexcept {
  if (qp_ != nullptr) (void)ibv_destroy_qp(qp_);
  qp_ = nullptr;
}

QpEndpoint QueuePair::local() const noexcept {
  QpEndpoint e;
  e.qpn = qpn();
  e.psn = psn_;
  if (port_.gid_index >= 0) e.gid = port_.gid;
  e.lid = port_.lid;
  e.mtu = mtu_bytes(port_.active_mtu);
  return e;
}

void QueuePair::connect(const QpEndpoint& remote) {
  const std::string what = "queue pair " + std::to_string(qpn()) + " on " + pd_->device()->name() + " to peer QP " +
                           std::to_string(remote.qpn);
  const int remote_mtu = mtu_from_bytes(remote.mtu);
  if (remote_mtu == 0) throw SystemError(EINVAL, "ibv_modify_qp", what + ": peer MTU " + std::to_string(remote.mtu) + " is not 256..4096");
  if (remote.qpn == 0 || remote.qpn > 0xffffff || remote.psn > 0xffffff) {
    throw SystemError(EINVAL, "ibv_modify_qp", what + ": QPN and PSN must be 24-bit, QPN non-zero");
  }

  struct ibv_qp_attr attr = {};
  attr.qp_state = IBV_QPS_RTR;
  attr.path_mtu = static_cast<ibv_mtu>(std::min<int>(port_.active_mtu, remote_mtu));
  attr.dest_qp_num = remote.qpn;
  attr.rq_psn = remote.psn;
  attr.max_dest_rd_atomic = static_cast<uint8_t>(port_.max_rd_atomic);
  attr.min_rnr_timer = kMinRnrTimer;
  attr.ah_attr.port_num = port_.port;
  attr.ah_attr.sl = 0;
  attr.ah_attr.src_path_bits = 0;
  if (port_.roce || port_.gid_index >= 0) {
    // RoCE (and GRH-routed InfiniBand): the peer is named by its GID.
    attr.ah_attr.is_global = 1;
    attr.ah_attr.grh.dgid = remote.gid;
    attr.ah_attr.grh.sgid_index = static_cast<uint8_t>(port_.gid_index);
    attr.ah_attr.grh.hop_limit = kHopLimit;
    attr.ah_attr.grh.traffic_class = 0;
  }
  if (!port_.roce) attr.ah_attr.dlid = remote.lid;  // InfiniBand: the peer is named by its LID
  check_ret(ibv_modify_qp(qp_, &attr,
                          IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                              IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER),
            "ibv_modify_qp", what + ": INIT -> RTR");

  attr = {};
  attr.qp_state = IBV_QPS_RTS;
  attr.timeout = kAckTimeout;
  attr.retry_cnt = kRetryCount;
  attr.rnr_retry = kRnrRetry;
  attr.sq_psn = psn_;
  attr.max_rd_atomic = static_cast<uint8_t>(port_.max_rd_atomic);
  check_ret(ibv_modify_qp(qp_, &attr,
                          IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                              IBV_QP_MAX_QP_RD_ATOMIC),
            "ibv_modify_qp", what + ": RTR -> RTS");
}

int QueuePair::state() const noexcept {
  struct ibv_qp_attr attr = {};
  struct ibv_qp_init_attr init = {};
  const int rc = ibv_query_qp(qp_, &attr, IBV_QP_STATE, &init);
  return rc != 0 ? -rc : static_cast<int>(attr.qp_state);
}

int QueuePair::to_error() noexcept {
  struct ibv_qp_attr attr = {};
  attr.qp_state = IBV_QPS_ERR;
  return ibv_modify_qp(qp_, &attr, IBV_QP_STATE);
}

}  // namespace dmem::verbs
