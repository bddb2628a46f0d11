// A lane's data connection to one memory node session: posts one-sided READ
// and WRITE operations between a staging buffer and remote addresses, and
// reports their completions. One per lane (per thread); not thread-safe.
//
// Operations (caller-owned doubles, kOpStride each):
//   [op (0 READ, 1 WRITE), tag, staging offset, remote address, length, key]
// Completions (caller-owned int32s, kCompletionStride each):
//   [tag, status (0 or an errno value), bytes]
//
// tcp: requests go out on the connection's own socket; the memory node's
// data thread answers. shm: memcpy to and from the slab's mapping. file:
// pread/pwrite on the pool file. shm and file complete at post time; their
// completions wait in a ring until poll().
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/unique_fd.h"
#include "transport/data_layout.h"
#include "transport/remote_session.h"
#include "transport/staging.h"

namespace dmem {


class Connection {
 public:
  // Connects (tcp: socket + handshake). Throws SystemError.
  Connection(std::shared_ptr<RemoteSession> session, std::shared_ptr<Staging> staging,
             uint32_t max_inflight);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint32_t inflight() const noexcept { return inflight_; }
  uint32_t max_inflight() const noexcept { return max_inflight_; }
  bool broken() const noexcept { return broken_ != 0; }
  int broken_reason() const noexcept { return broken_; }
  const std::shared_ptr<Staging>& staging() const noexcept { return staging_; }

  // ---- data path (connection_datapath.cc): no allocation, no throw.
  // Posts up to `count` operations; returns how many were accepted (fewer when
  // the in-flight limit is reached), or -errno when the connection is broken.
  // A malformed operation (staging range, length) completes with EINVAL.
  int post(const double* ops, int count) noexcept;
  // Waits up to timeout_ms (0: do not wait) for completions; returns how many
  // were written (at most max), or -errno when the connection is broken and
  // nothing is left to report. Operations in flight longer than the session's
  // timeout complete with ETIMEDOUT and break the connection.
  int poll(int32_t* out, int max, int timeout_ms) noexcept;

 private:
  struct Pending {
    uint32_t user_tag;
    uint8_t op;
    uint32_t length;
    uint64_t staging_offset;
    int64_t deadline_ns;
    bool live;
  };
  int post_tcp(const double* ops, int count) noexcept;
  int post_local(const double* ops, int count) noexcept;
  int poll_tcp(int32_t* out, int max, int timeout_ms) noexcept;
  void fail_all(int err) noexcept;
  int parse_responses(int32_t* out, int max) noexcept;

  std::shared_ptr<RemoteSession> session_;
  std::shared_ptr<Staging> staging_;
  const TransportKind kind_;
  const uint32_t max_inflight_;
  UniqueFd socket_;                // tcp
  std::vector<Pending> pending_;   // tcp: indexed by wire tag
  std::vector<uint32_t> free_tags_;  // tcp: stack of unused wire tags
  std::vector<uint8_t> rx_;        // tcp: received bytes not yet parsed
  size_t rx_len_ = 0;
  CompletionRing done_;            // completions waiting for poll
  uint32_t inflight_ = 0;
  int broken_ = 0;                 // errno that broke the connection
};

}  // namespace dmem
