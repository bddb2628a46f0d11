// Lane data path: batched one-sided READ/WRITE and completion polling. No
// allocation, no exceptions, no locks of ours, no logging; results are counts
// or -errno. (The provider's ibv_post_send takes its own send-queue lock.)
#include <errno.h>
#include <string.h>
#include <time.h>

#include "verbs/lane.h"
#include "verbs/work_completion.h"

namespace dmem::verbs {

namespace {

constexpr int kPostBatch = 32;        // work requests linked into one ibv_post_send
constexpr int kPollBatch = 32;        // completions taken per ibv_poll_cq
constexpr int kSleepSliceMs = 100;    // a sleeping poll re-checks the stall clock this often
constexpr uint32_t kSpinsPerClockRead = 64;
constexpr int kOpRead = 0;
constexpr int kOpWrite = 1;

int64_t now_ns() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace

void Lane::break_lane(int err) noexcept {
  if (broken_ == 0) broken_ = err;
}

int Lane::post(const double* ops, int count) noexcept {
  assert_owner();
  if (broken_ != 0) return -broken_;
  if (mr_ == nullptr || !connected()) return -ENOTCONN;
  struct ibv_send_wr wrs[kPostBatch];
  struct ibv_sge sges[kPostBatch];
  int accepted = 0;
  while (accepted < count) {
    int n = 0;
    while (accepted + n < count && n < kPostBatch && inflight_ + static_cast<uint32_t>(n) < max_inflight_) {
      const double* p = ops + static_cast<ptrdiff_t>(accepted + n) * kOpStride;
      const int op = static_cast<int>(p[0]);
      const uint32_t tag = static_cast<uint32_t>(p[1]);
      const uint64_t offset = static_cast<uint64_t>(p[2]);
      const uint32_t length = static_cast<uint32_t>(p[4]);
      int32_t status = 0;
      if ((op != kOpRead && op != kOpWrite) || length == 0 || offset > staging_length_ ||
          length > staging_length_ - offset) {
        status = EINVAL;
      } else if (session_->lost()) {
        status = ECONNRESET;
      }
      if (status != 0) {
        if (n > 0) break;  // post what is queued first; this one comes next round
        if (!done_.push(static_cast<int32_t>(tag), status, 0)) return accepted;  // ring full: poll first
        accepted++;
        continue;
      }
      const uint64_t seq = next_seq_ + static_cast<uint64_t>(n);
      pending_[seq % max_inflight_] = {tag, length, 0, false};
      sges[n].addr = reinterpret_cast<uintptr_t>(staging_ + offset);
      sges[n].length = length;
      sges[n].lkey = lkey_;
      struct ibv_send_wr& wr = wrs[n];
      memset(&wr, 0, sizeof(wr));
      wr.wr_id = seq;
      wr.sg_list = &sges[n];
      wr.num_sge = 1;
      wr.opcode = op == kOpRead ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
      wr.wr.rdma.remote_addr = static_cast<uint64_t>(p[3]);
      wr.wr.rdma.rkey = static_cast<uint32_t>(p[5]);
      n++;
    }
    if (n == 0) break;
    for (int i = 0; i + 1 < n; i++) wrs[i].next = &wrs[i + 1];
    wrs[n - 1].send_flags = IBV_SEND_SIGNALED;  // stands for the whole batch
    // The stall clock restarts; it is read only once poll() has to wait (see
    // poll): a clock read can be a system call (HPET) and most completions
    // are there before one is needed.
    if (inflight_ == 0) last_progress_ns_ = 0;
    struct ibv_send_wr* bad = nullptr;
    const int rc = ibv_post_send(qp_->get(), wrs, &bad);  // convention 2: a returned errno
    next_seq_ += static_cast<uint64_t>(n);
    inflight_ += static_cast<uint32_t>(n);
    accepted += n;
    if (rc != 0) {
      // Requests from `bad` on were never posted: they fail now. The ones
      // before it were posted; moving the QP to ERR flushes them, so each
      // still gets its completion.
      const int first = bad == nullptr ? 0 : static_cast<int>(bad - wrs);
      for (int i = first; i < n; i++) {
        Pending& p = pending_[wrs[i].wr_id % max_inflight_];
        p.status = rc;
        p.done = true;
      }
      break_lane(rc);
      (void)qp_->to_error();
      break;
    }
  }
  return accepted;
}

void Lane::settle(uint64_t seq, int wc_status) noexcept {
  if (seq < head_seq_ || seq >= next_seq_) return;  // already reported (a stall gave up on it)
  const bool first_failure = wc_status != IBV_WC_SUCCESS && broken_ == 0;
  for (uint64_t s = head_seq_; s <= seq; s++) {
    Pending& p = pending_[s % max_inflight_];
    if (p.done) continue;
    p.done = true;
    if (s == seq) {
      p.status = wc_status == IBV_WC_SUCCESS ? 0 : kWcStatusBase + wc_status;
    } else if (wc_status == IBV_WC_SUCCESS || first_failure) {
      // In-order completion: everything before a success, and everything
      // before the first failure, succeeded.
      p.status = 0;
    } else {
      p.status = kWcStatusBase + IBV_WC_WR_FLUSH_ERR;
    }
  }
  // A failed completion leaves the QP in ERR: the lane is done for.
  if (wc_status != IBV_WC_SUCCESS) break_lane(ECONNABORTED);
}

void Lane::fail_pending(int32_t status) noexcept {
  for (uint64_t s = head_seq_; s < next_seq_; s++) {
    Pending& p = pending_[s % max_inflight_];
    if (!p.done) {
      p.done = true;
      p.status = status;
    }
  }
}

int Lane::emit(int32_t* out, int max) noexcept {
  int n = 0;
  while (n < max && head_seq_ < next_seq_) {
    const Pending& p = pending_[head_seq_ % max_inflight_];
    if (!p.done) break;
    out[n * kCompletionStride + 0] = static_cast<int32_t>(p.tag);
    out[n * kCompletionStride + 1] = p.status;
    out[n * kCompletionStride + 2] = p.status == 0 ? static_cast<int32_t>(p.length) : 0;
    head_seq_++;
    inflight_--;
    n++;
  }
  return n;
}

int Lane::reap(int32_t* out, int max) noexcept {
  if (inflight_ > 0) {
    struct ibv_wc wc[kPollBatch];
    const int got = cq_->poll(wc, kPollBatch);
    if (got < 0) {
      break_lane(-got);
      (void)qp_->to_error();
      fail_pending(-got);
    }
    for (int i = 0; i < got; i++) settle(wc[i].wr_id, wc[i].status);
    if (got > 0) last_progress_ns_ = 0;  // progress: the stall clock restarts at the next wait
  }
  return emit(out, max);
}

int Lane::poll(int32_t* out, int max, int timeout_ms) noexcept {
  assert_owner();
  int n = done_.drain(out, max);
  n += reap(out + static_cast<ptrdiff_t>(n) * kCompletionStride, max - n);
  if (n > 0 || max <= 0) return n;
  if (inflight_ == 0) return broken_ != 0 ? -broken_ : 0;
  if (timeout_ms == 0) return 0;
  // The clock is read once per kSpinsPerClockRead polls while spinning: a
  // read can cost far more than a poll (a system call and an emulated HPET
  // access in a VM), and a spin that reads it every time delays the very
  // completion it waits for.
  int64_t spin_until = 0;
  int64_t deadline = 0;
  uint32_t spins = 1;  // the first read, too, comes after kSpinsPerClockRead polls
  for (;;) {
    n = reap(out, max);
    if (n > 0) return n;
    if (spins != 0 && spins++ % kSpinsPerClockRead != 0) {
      cpu_relax();
      continue;
    }
    const int64_t now = now_ns();
    if (deadline == 0) {
      spin_until = now + spin_ns_;
      deadline = timeout_ms < 0 ? INT64_MAX : now + static_cast<int64_t>(timeout_ms) * 1000000;
    }
    if (last_progress_ns_ == 0) last_progress_ns_ = now;
    if (now - last_progress_ns_ > stall_ns_) {
      // Nothing completed for the session's timeout. First flush the QP (the
      // device then returns every request); if even that stays silent, give
      // up on them. They are reported ETIMEDOUT only then, so a staging range
      // is never handed back while the device may still write it, unless the
      // device itself has stopped answering.
      break_lane(ETIMEDOUT);
      if (!flushing_) {
        flushing_ = true;
        (void)qp_->to_error();
        last_progress_ns_ = now;
      } else {
        fail_pending(ETIMEDOUT);
      }
      continue;
    }
    if (now >= deadline) return 0;
    if (now < spin_until) {
      spins = 1;  // spin on, reading the clock again kSpinsPerClockRead polls from now
      cpu_relax();
      continue;
    }
    spins = 0;
    // Sleep on the completion channel: arm, look once more (a completion
    // that landed before the arm raises no event), then sleep.
    if (cq_->arm() != 0) {
      cpu_relax();  // no channel after all: keep spinning
      continue;
    }
    n = reap(out, max);
    if (n > 0) return n;
    const int64_t left_ms = (deadline - now) / 1000000 + 1;
    (void)cq_->sleep(static_cast<int>(left_ms < kSleepSliceMs ? left_ms : kSleepSliceMs));
  }
}

}  // namespace dmem::verbs
