// The caller-owned arrays every data path fills (lib/transport/layout.ts),
// and the ring of completions decided at post time, shared by the tcp/shm/
// file Connection and the verbs Lane.
//   Operations: kOpStride doubles each: [op, tag, staging offset, remote address, length, key]
//   Completions: kCompletionStride int32s each: [tag, status, bytes]
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dmem {

constexpr int kOpStride = 6;
constexpr int kCompletionStride = 3;

// Completions waiting for poll(): a fixed-capacity ring, allocated once on the
// control path; push and drain never allocate.
class CompletionRing {
 public:
  void reset(size_t capacity) {
    slots_.assign(capacity, Slot{});
    head_ = 0;
    count_ = 0;
  }
  bool full() const noexcept { return count_ == slots_.size(); }

  // False when full: the caller must poll first.
  bool push(int32_t tag, int32_t status, int32_t bytes) noexcept {
    if (full()) return false;
    slots_[(head_ + count_) % slots_.size()] = {tag, status, bytes};
    count_++;
    return true;
  }

  // Moves up to `max` completions into `out`; returns how many.
  int drain(int32_t* out, int max) noexcept {
    int n = 0;
    while (n < max && count_ > 0) {
      const Slot& s = slots_[head_];
      out[n * kCompletionStride + 0] = s.tag;
      out[n * kCompletionStride + 1] = s.status;
      out[n * kCompletionStride + 2] = s.bytes;
      head_ = (head_ + 1) % slots_.size();
      count_--;
      n++;
    }
    return n;
  }

 private:
  struct Slot {
    int32_t tag, status, bytes;
  };
  std::vector<Slot> slots_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace dmem
