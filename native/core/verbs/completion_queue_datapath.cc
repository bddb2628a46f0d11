// Completion queue data path: poll and sleep. No allocation, no exceptions,
// no logging; results are counts or -errno.
#include <errno.h>
#include <poll.h>

#include "verbs/completion_queue.h"

namespace dmem::verbs {

int CompletionQueue::poll(ibv_wc* wc, int max) noexcept {
  const int n = ibv_poll_cq(cq_, max, wc);
  return n < 0 ? -EIO : n;  // convention 3: a negative count, no errno
}

int CompletionQueue::arm() noexcept {
  if (channel_ == nullptr) return -ENOTSUP;
  const int rc = ibv_req_notify_cq(cq_, 0);
  return rc > 0 ? -rc : rc;  // convention 2: a returned errno
}

int CompletionQueue::sleep(int timeout_ms) noexcept {
  if (channel_ == nullptr) return -ENOTSUP;
  struct pollfd pfd = {channel_->fd, POLLIN, 0};
  const int rc = ::poll(&pfd, 1, timeout_ms);
  if (rc < 0) return errno == EINTR ? 0 : -errno;
  if (rc == 0) return 0;
  // Take the event and acknowledge it at once: ibv_destroy_cq waits for
  // every event to be acknowledged.
  ibv_cq* cq = nullptr;
  void* context = nullptr;
  if (ibv_get_cq_event(channel_, &cq, &context) == 0) ibv_ack_cq_events(cq, 1);
  return 0;
}

}  // namespace dmem::verbs
