#include "verbs/completion_queue.h"

#include <errno.h>
#include <fcntl.h>

#include <utility>

#include "common/system_error.h"
#include "verbs/check.h"

namespace dmem::verbs {

CompletionQueue::CompletionQueue(std::shared_ptr<Device> device, int capacity, bool with_channel)
    : device_(std::move(device)) {
  const std::string what = device_->name() + " (" + std::to_string(capacity) + " entries)";
  if (with_channel) {
    errno = 0;
    channel_ = check_null(ibv_create_comp_channel(device_->get()), "ibv_create_comp_channel", what);
    // Non-blocking: wait() sleeps in poll(2), bounded by its timeout.
    const int flags = fcntl(channel_->fd, F_GETFL);
    if (flags < 0 || fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      const int err = errno;
      release();
      throw_errno(err, "fcntl", "completion channel of " + what);
    }
  }
  errno = 0;
  cq_ = ibv_create_cq(device_->get(), capacity, nullptr, channel_, 0);
  if (cq_ == nullptr) {
    const int err = errno != 0 ? errno : ENOMEM;
    release();
    throw_errno(err, "ibv_create_cq", what);
  }
}

CompletionQueue::~CompletionQueue() { release(); }

CompletionQueue::CompletionQueue(CompletionQueue&& other) noexcept
    : device_(std::move(other.device_)),
      channel_(std::exchange(other.channel_, nullptr)),
      cq_(std::exchange(other.cq_, nullptr)) {}

CompletionQueue& CompletionQueue::operator=(CompletionQueue&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::move(other.device_);
    channel_ = std::exchange(other.channel_, nullptr);
    cq_ = std::exchange(other.cq_, nullptr);
  }
  return *this;
}

// QPs using this CQ hold a shared_ptr to it, so they are destroyed already.
// CQ first, then its channel; sleep() acknowledges each event as it takes it.
void CompletionQueue::release() noexcept {
  if (cq_ != nullptr) (void)ibv_destroy_cq(cq_);
  cq_ = nullptr;
  if (channel_ != nullptr) (void)ibv_destroy_comp_channel(channel_);
  channel_ = nullptr;
}

}  // namespace dmem::verbs
