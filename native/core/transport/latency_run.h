// A latency run, timed the way perftest's ib_read_lat times one: a single
// operation posted and polled to its completion, over and over, with one
// clock read per iteration; each latency is the time between consecutive
// reads. Runs natively, so what it measures is the connection's data path
// and not the cost of crossing into JavaScript per operation.
//
// Works on any connection with the transport interface (post/poll of
// native/core/transport/data_layout.h): the tcp/shm/file Connection and the
// verbs Lane.
#pragma once

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "transport/data_layout.h"

namespace dmem {

inline int64_t latency_clock_ns() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Runs `op` (one operation: kOpStride doubles) `iterations` times, one in
// flight; writes each one's latency in nanoseconds to out_ns[i] and its
// completion to completion[0..kCompletionStride). Returns how many completed
// successfully: fewer than `iterations` when a completion failed (its status
// is in completion[1]) or none came within timeout_ms (completion[1] is
// then ETIMEDOUT); -errno when the connection refused to post or is broken.
template <class Connection>
int run_latency(Connection& connection, const double* op, int iterations, double* out_ns, int32_t* completion,
                int timeout_ms) noexcept {
  int64_t previous = latency_clock_ns();
  for (int i = 0; i < iterations; i++) {
    const int posted = connection.post(op, 1);
    if (posted < 0) return posted;
    if (posted == 0) return -EBUSY;  // operations of the caller's are still in flight
    const int got = connection.poll(completion, 1, timeout_ms);
    if (got < 0) return got;
    if (got == 0) {
      completion[1] = ETIMEDOUT;
      return i;
    }
    if (completion[1] != 0) return i;
    const int64_t now = latency_clock_ns();
    out_ns[i] = static_cast<double>(now - previous);
    previous = now;
  }
  return iterations;
}

}  // namespace dmem
