// Connection control path: connect, handshake, teardown.
#include "transport/connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/system_error.h"
#include "transport/wire.h"

namespace dmem {

namespace {

void read_exact(int fd, void* dst, size_t bytes, const std::string& what) {
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::recv(fd, static_cast<char*>(dst) + got, bytes - got, 0);
    if (n == 0) throw SystemError(ECONNRESET, "recv", what + ": the memory node closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno == EAGAIN ? ETIMEDOUT : errno, "recv", what);
    }
    got += static_cast<size_t>(n);
  }
}

}  // namespace

Connection::Connection(std::shared_ptr<RemoteSession> session, std::shared_ptr<Staging> staging,
                       uint32_t max_inflight)
    : session_(std::move(session)),
      staging_(std::move(staging)),
      kind_(session_->options().kind),
      max_inflight_(max_inflight) {
  done_.reset(max_inflight);
  if (kind_ != TransportKind::kTcp) return;

  const RemoteSessionOptions& o = session_->options();
  const std::string what = "data connection to " + o.host + ":" + std::to_string(o.port);
  socket_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket_.valid()) throw_errno(errno, "socket", what);
  int one = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct timeval tv = {o.timeout_ms / 1000, (o.timeout_ms % 1000) * 1000};
  ::setsockopt(socket_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(socket_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o.port);
  if (::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    throw SystemError(EINVAL, "inet_pton", what + ": not an IPv4 address");
  }
  if (::connect(socket_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    throw_errno(errno == EINPROGRESS ? ETIMEDOUT : errno, "connect", what);
  }
  wire::Hello hello = {};
  memcpy(hello.magic, wire::kDataMagic, sizeof(hello.magic));
  hello.version = wire::kDataVersion;
  hello.slot = wire::kNoSlab;
  memcpy(hello.secret, o.secret.data(), 16);
  if (::send(socket_.get(), &hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello)) {
    throw_errno(errno, "send", what);
  }
  wire::HelloReply reply;
  read_exact(socket_.get(), &reply, sizeof(reply), what);
  if (reply.status != 0) throw_errno(reply.status, "recv", what + ": the memory node refused the session");

  pending_.resize(max_inflight);
  free_tags_.reserve(max_inflight);
  for (uint32_t t = max_inflight; t > 0; t--) free_tags_.push_back(t - 1);
  rx_.resize(sizeof(wire::Response) + wire::kMaxOpBytes + (64u << 10));
}

// Teardown: the socket closes (the memory node drops the connection), then
// the staging buffer and session references are released.
Connection::~Connection() = default;

}  // namespace dmem
