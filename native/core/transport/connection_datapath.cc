// Connection data path: post and poll. No allocation, no exceptions, no
// locks, no logging; results are counts or -errno.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "transport/connection.h"
#include "transport/wire.h"

namespace dmem {

namespace {

constexpr int kIovBatch = 64;  // operations per sendmsg

int64_t now_ns() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Op {
  int op;
  uint32_t tag;
  uint64_t staging_offset;
  uint64_t address;
  uint32_t length;
  uint32_t key;
};

Op decode(const double* p) noexcept {
  return {static_cast<int>(p[0]), static_cast<uint32_t>(p[1]), static_cast<uint64_t>(p[2]),
          static_cast<uint64_t>(p[3]), static_cast<uint32_t>(p[4]), static_cast<uint32_t>(p[5])};
}

// Sends every byte of iov[0..count) or fails (-errno). Blocking, bounded by SO_SNDTIMEO.
int send_all(int fd, struct iovec* iov, int count) noexcept {
  while (count > 0) {
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    size_t sent = static_cast<size_t>(n);
    while (count > 0 && sent >= iov->iov_len) {
      sent -= iov->iov_len;
      iov++;
      count--;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + sent;
      iov->iov_len -= sent;
    }
  }
  return 0;
}

}  // namespace

int Connection::post(const double* ops, int count) noexcept {
  if (broken_ != 0) return -broken_;
  return kind_ == TransportKind::kTcp ? post_tcp(ops, count) : post_local(ops, count);
}

int Connection::post_local(const double* ops, int count) noexcept {
  int posted = 0;
  for (; posted < count; posted++) {
    // Completions of shm and file wait in the ring; never overfill it.
    if (done_.full()) break;
    const Op op = decode(ops + posted * kOpStride);
    int status = 0;
    uint32_t slot = 0;
    uint64_t offset = 0;
    if ((op.op != wire::kRead && op.op != wire::kWrite) || !staging_->contains(op.staging_offset, op.length)) {
      status = EINVAL;
    } else if (session_->lost()) {
      status = ECONNRESET;
    } else {
      status = session_->resolve(op.address, op.length, op.key, &slot, &offset);
    }
    if (status == 0) {
      uint8_t* local = staging_->data() + op.staging_offset;
      if (kind_ == TransportKind::kShm) {
        uint8_t* remote = session_->slab_memory(slot) + offset;
        if (op.op == wire::kRead) memcpy(local, remote, op.length);
        else memcpy(remote, local, op.length);
      } else {
        const off_t at = static_cast<off_t>(session_->slab_file_offset(slot) + offset);
        ssize_t n = op.op == wire::kRead ? ::pread(session_->pool_file(), local, op.length, at)
                                         : ::pwrite(session_->pool_file(), local, op.length, at);
        if (n != static_cast<ssize_t>(op.length)) status = n < 0 ? errno : EIO;
      }
    }
    done_.push(static_cast<int32_t>(op.tag), status, status == 0 ? static_cast<int32_t>(op.length) : 0);
  }
  return posted;
}

int Connection::post_tcp(const double* ops, int count) noexcept {
  wire::Request headers[kIovBatch];
  struct iovec iov[kIovBatch * 2];
  int posted = 0;
  while (posted < count) {
    int batch = 0;
    int iovs = 0;
    const int64_t deadline = now_ns() + static_cast<int64_t>(session_->options().timeout_ms) * 1000000;
    while (posted + batch < count && batch < kIovBatch) {
      const Op op = decode(ops + (posted + batch) * kOpStride);
      const bool malformed = (op.op != wire::kRead && op.op != wire::kWrite) ||
                             op.length > wire::kMaxOpBytes || op.length == 0 ||
                             !staging_->contains(op.staging_offset, op.length);
      if (malformed) {
        if (batch > 0) break;  // send what is queued first; this op comes next round
        if (!done_.push(static_cast<int32_t>(op.tag), EINVAL, 0)) break;  // ring full: poll first
        posted++;
        continue;
      }
      if (free_tags_.empty()) break;
      const uint32_t wire_tag = free_tags_.back();
      free_tags_.pop_back();
      pending_[wire_tag] = {op.tag, static_cast<uint8_t>(op.op), op.length, op.staging_offset, deadline, true};
      wire::Request& h = headers[batch];
      memset(&h, 0, sizeof(h));
      h.op = static_cast<uint8_t>(op.op);
      h.tag = wire_tag;
      h.address = op.address;
      h.length = op.length;
      h.key = op.key;
      iov[iovs++] = {&h, sizeof(h)};
      if (op.op == wire::kWrite) iov[iovs++] = {staging_->data() + op.staging_offset, op.length};
      batch++;
      inflight_++;
    }
    if (batch == 0) break;
    int rc = send_all(socket_.get(), iov, iovs);
    if (rc < 0) {
      broken_ = -rc;
      fail_all(broken_);  // the batch completes with the error
      return posted + batch;
    }
    posted += batch;
  }
  return posted;
}

void Connection::fail_all(int err) noexcept {
  for (uint32_t t = 0; t < pending_.size(); t++) {
    if (!pending_[t].live) continue;
    // The done ring holds max_inflight entries, so every pending op fits.
    done_.push(static_cast<int32_t>(pending_[t].user_tag), err, 0);
    pending_[t].live = false;
    free_tags_.push_back(t);
  }
  inflight_ = 0;
  socket_.reset();
}

int Connection::parse_responses(int32_t* out, int max) noexcept {
  int n = 0;
  size_t pos = 0;
  while (n < max && rx_len_ - pos >= sizeof(wire::Response)) {
    wire::Response r;
    memcpy(&r, rx_.data() + pos, sizeof(r));
    if (r.tag >= pending_.size()) {
      broken_ = EPROTO;
      break;
    }
    Pending& p = pending_[r.tag];
    if (!p.live) {
      broken_ = EPROTO;
      break;
    }
    const size_t payload = (p.op == wire::kRead && r.status == 0) ? r.length : 0;
    if (payload > p.length) {
      broken_ = EPROTO;
      break;
    }
    if (rx_len_ - pos < sizeof(r) + payload) break;
    if (payload > 0) memcpy(staging_->data() + p.staging_offset, rx_.data() + pos + sizeof(r), payload);
    out[n * kCompletionStride + 0] = static_cast<int32_t>(p.user_tag);
    out[n * kCompletionStride + 1] = r.status;
    out[n * kCompletionStride + 2] = r.status == 0 ? static_cast<int32_t>(r.length) : 0;
    p.live = false;
    free_tags_.push_back(r.tag);
    inflight_--;
    n++;
    pos += sizeof(r) + payload;
  }
  if (pos > 0) {
    memmove(rx_.data(), rx_.data() + pos, rx_len_ - pos);
    rx_len_ -= pos;
  }
  return n;
}

int Connection::poll(int32_t* out, int max, int timeout_ms) noexcept {
  int n = done_.drain(out, max);
  if (n > 0 || kind_ != TransportKind::kTcp) return n;
  if (broken_ != 0) return -broken_;
  return poll_tcp(out, max, timeout_ms);
}

int Connection::poll_tcp(int32_t* out, int max, int timeout_ms) noexcept {
  const int64_t give_up = now_ns() + static_cast<int64_t>(timeout_ms) * 1000000;
  for (;;) {
    int n = parse_responses(out, max);
    if (broken_ != 0) {
      fail_all(broken_);
      return n + done_.drain(out + n * kCompletionStride, max - n);
    }
    if (n > 0 || inflight_ == 0) return n;
    // Bounded: an operation older than the session's timeout fails the connection.
    const int64_t now = now_ns();
    bool expired = false;
    for (const Pending& p : pending_) expired |= p.live && p.deadline_ns < now;
    if (expired) {
      broken_ = ETIMEDOUT;
      fail_all(broken_);
      return done_.drain(out, max);
    }
    const int64_t left_ms = (give_up - now) / 1000000;
    if (left_ms < 0 && timeout_ms >= 0) return 0;
    struct pollfd pfd = {socket_.get(), POLLIN, 0};
    int wait = timeout_ms < 0 ? 100 : static_cast<int>(left_ms < 100 ? left_ms : 100);
    int ready = ::poll(&pfd, 1, wait);
    if (ready < 0 && errno != EINTR) {
      broken_ = errno;
      continue;
    }
    if (ready <= 0) {
      if (timeout_ms == 0) return 0;
      continue;
    }
    ssize_t got = ::recv(socket_.get(), rx_.data() + rx_len_, rx_.size() - rx_len_, MSG_DONTWAIT);
    if (got == 0) {
      broken_ = ECONNRESET;
    } else if (got < 0) {
      if (errno != EAGAIN && errno != EINTR) broken_ = errno;
    } else {
      rx_len_ += static_cast<size_t>(got);
    }
  }
}

}  // namespace dmem
