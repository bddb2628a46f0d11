#include "transport/raw_baseline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/system_error.h"
#include "transport/wire.h"

namespace dmem {

namespace {

int64_t now_ns() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool read_exact(int fd, void* dst, size_t bytes) noexcept {
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::recv(fd, static_cast<char*>(dst) + got, bytes - got, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

bool write_exact(int fd, const void* src, size_t bytes) noexcept {
  size_t sent = 0;
  while (sent < bytes) {
    ssize_t n = ::send(fd, static_cast<const char*>(src) + sent, bytes - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

sockaddr_in ipv4(const std::string& host, uint16_t port) {
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw SystemError(EINVAL, "inet_pton", host + " is not an IPv4 address");
  }
  return addr;
}

}  // namespace

RawServer::RawServer(const std::string& host, uint16_t port) {
  listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) throw_errno(errno, "socket", "raw baseline server");
  int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = ipv4(host, port);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) throw_errno(errno, "bind", "raw baseline server");
  if (::listen(listener_.get(), 16) < 0) throw_errno(errno, "listen", "raw baseline server");
  socklen_t len = sizeof(addr);
  ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { accept_loop(); });
}

RawServer::~RawServer() { stop(); }

void RawServer::stop() noexcept {
  if (stopping_.exchange(true)) return;
  ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
  if (thread_.joinable()) thread_.join();
}

void RawServer::accept_loop() noexcept {
  while (!stopping_.load()) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    // One detached thread per connection: the bench opens one or two.
    std::thread([fd] { serve(fd); }).detach();
  }
}

void RawServer::serve(int fd) noexcept {
  UniqueFd sock(fd);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<uint8_t> payload(sizeof(wire::Response) + wire::kMaxOpBytes);
  wire::Request req;
  while (read_exact(fd, &req, sizeof(req))) {
    if (req.length > wire::kMaxOpBytes) return;
    wire::Response resp = {req.tag, 0, req.length, 0};
    memcpy(payload.data(), &resp, sizeof(resp));
    if (!write_exact(fd, payload.data(), sizeof(resp) + req.length)) return;
  }
}

RawClient::RawClient(const std::string& host, uint16_t port) {
  socket_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket_.valid()) throw_errno(errno, "socket", "raw baseline client");
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr = ipv4(host, port);
  if (::connect(socket_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    throw_errno(errno, "connect", "raw baseline server " + host + ":" + std::to_string(port));
  }
  buffer_.resize(wire::kMaxOpBytes);
}

int64_t RawClient::run(uint32_t size, uint32_t inflight, uint32_t count, double* lat_us) noexcept {
  if (size > wire::kMaxOpBytes || inflight == 0) return -EINVAL;
  std::vector<int64_t> started(count);
  const int64_t begin = now_ns();
  uint32_t sent = 0;
  uint32_t done = 0;
  auto send_one = [&]() {
    wire::Request req = {};
    req.op = wire::kRead;
    req.tag = sent;
    req.length = size;
    started[sent] = now_ns();
    sent++;
    return write_exact(socket_.get(), &req, sizeof(req));
  };
  while (sent < count && sent - done < inflight) {
    if (!send_one()) return -errno;
  }
  while (done < count) {
    wire::Response resp;
    if (!read_exact(socket_.get(), &resp, sizeof(resp))) return -ECONNRESET;
    if (!read_exact(socket_.get(), buffer_.data(), resp.length)) return -ECONNRESET;
    if (resp.tag < count) lat_us[resp.tag] = static_cast<double>(now_ns() - started[resp.tag]) / 1000.0;
    done++;
    if (sent < count && !send_one()) return -errno;
  }
  return now_ns() - begin;
}

}  // namespace dmem
