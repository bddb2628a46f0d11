// A completion queue, polled by one thread, with an optional completion
// channel so that the poller can sleep in poll(2) instead of spinning.
//
// Teardown: the CQ is destroyed before its channel (a channel must outlive
// its CQs), and every event taken from the channel is acknowledged first
// (ibv_destroy_cq waits for that). Then the device reference goes.
#pragma once

#include <infiniband/verbs.h>

#include <memory>

#include "verbs/device.h"

namespace dmem::verbs {

class CompletionQueue {
 public:
  // Throws SystemError.
  CompletionQueue(std::shared_ptr<Device> device, int capacity, bool with_channel);
  ~CompletionQueue();
  CompletionQueue(CompletionQueue&& other) noexcept;
  CompletionQueue& operator=(CompletionQueue&& other) noexcept;
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  ibv_cq* get() const noexcept { return cq_; }
  const std::shared_ptr<Device>& device() const noexcept { return device_; }

  // ---- data path (completion_queue_datapath.cc): no allocation, no throw.
  // Up to `max` completions into `wc`; returns the count, or -EIO when the
  // provider reports a failure (a negative ibv_poll_cq: convention 3).
  int poll(ibv_wc* wc, int max) noexcept;
  // Sleeping without missing a wake-up: arm(), then poll() once more (a
  // completion that landed before the arm raises no event), and only if that
  // found nothing, sleep(). Both return 0 or -errno (-ENOTSUP without a
  // channel); sleep() returns when an event came or timeout_ms passed.
  int arm() noexcept;
  int sleep(int timeout_ms) noexcept;

 private:
  void release() noexcept;

  std::shared_ptr<Device> device_;  // parent: released last
  ibv_comp_channel* channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
};

}  // namespace dmem::verbs
