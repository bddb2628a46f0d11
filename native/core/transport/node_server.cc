#include "transport/node_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/system_error.h"
#include "transport/fd_passing.h"
#include "transport/wire.h"

namespace dmem {

namespace {

constexpr size_t kInCapacity = sizeof(wire::Request) + wire::kMaxOpBytes + sizeof(wire::Hello);
constexpr size_t kOutBacklog = 8u << 20;  // stop reading requests above this much unsent
constexpr uint64_t kListenerTag = 1ull << 62;
constexpr uint64_t kUnixListenerTag = 1ull << 61;
constexpr uint64_t kWakeupTag = 1ull << 60;

}  // namespace

struct NodeServer::Connection {
  UniqueFd fd;
  bool is_unix = false;
  bool handshaken = false;
  bool closing = false;     // flush what is queued, then close
  bool want_out = false;
  uint32_t session = 0;
  std::vector<uint8_t> in;  // kInCapacity
  size_t in_len = 0;
  std::vector<uint8_t> out;
  size_t out_sent = 0;
};

NodeServer::NodeServer(std::shared_ptr<SlabStore> store, const NodeServerOptions& options)
    : store_(std::move(store)), options_(options) {
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) throw_errno(errno, "epoll_create1", "memory node data listener");
  wakeup_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup_.valid()) throw_errno(errno, "eventfd", "memory node data listener");
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeupTag;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev);

  if (options.tcp) {
    const std::string where = options.host + ":" + std::to_string(options.port);
    tcp_listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!tcp_listener_.valid()) throw_errno(errno, "socket", "data listener " + where);
    int one = 1;
    ::setsockopt(tcp_listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(options.port);
    if (::inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
      throw SystemError(EINVAL, "inet_pton", "data listener: " + options.host + " is not an IPv4 address");
    }
    if (::bind(tcp_listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
      throw_errno(errno, "bind", "data listener " + where);
    }
    if (::listen(tcp_listener_.get(), 128) < 0) throw_errno(errno, "listen", "data listener " + where);
    socklen_t len = sizeof(addr);
    ::getsockname(tcp_listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, tcp_listener_.get(), &ev);
  }
  if (!options.unix_path.empty()) {
    unix_listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!unix_listener_.valid()) throw_errno(errno, "socket", "descriptor listener " + options.unix_path);
    struct sockaddr_un addr;
    size_t len = unix_address(options.unix_path, &addr);
    if (::bind(unix_listener_.get(), reinterpret_cast<sockaddr*>(&addr), static_cast<socklen_t>(len)) < 0) {
      throw_errno(errno, "bind", "descriptor listener " + options.unix_path);
    }
    if (::listen(unix_listener_.get(), 128) < 0) throw_errno(errno, "listen", options.unix_path);
    ev.data.u64 = kUnixListenerTag;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, unix_listener_.get(), &ev);
  }
  thread_ = std::thread([this] { run(); });
}

// Teardown: stop() joins the thread, which closes every connection on its
// way out; then the listeners, the eventfd and epoll close with the members.
NodeServer::~NodeServer() { stop(); }

void NodeServer::stop() noexcept {
  if (stopping_.exchange(true)) {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    return;
  }
  uint64_t one = 1;
  (void)!::write(wakeup_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void NodeServer::sweep() noexcept {
  uint64_t one = 1;
  (void)!::write(wakeup_.get(), &one, sizeof(one));
}

void NodeServer::run() noexcept {
  struct epoll_event events[64];
  while (!stopping_.load(std::memory_order_acquire)) {
    int n = ::epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeupTag) {
        uint64_t value;
        (void)!::read(wakeup_.get(), &value, sizeof(value));
        std::vector<int> gone;
        for (auto& [fd, c] : conns_) {
          if (c->session != 0 && !store_->session_open(c->session)) gone.push_back(fd);
        }
        for (int fd : gone) drop(fd);
        continue;
      }
      if (tag == kListenerTag) {
        accept_all(tcp_listener_.get(), false);
        continue;
      }
      if (tag == kUnixListenerTag) {
        accept_all(unix_listener_.get(), true);
        continue;
      }
      const int fd = static_cast<int>(tag);
      auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      Connection& c = *it->second;
      if (events[i].events & EPOLLOUT) on_writable(c);
      if (conns_.count(fd) && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable(c);
    }
  }
  std::vector<int> all;
  for (auto& [fd, c] : conns_) all.push_back(fd);
  for (int fd : all) drop(fd);
}

void NodeServer::accept_all(int listener, bool is_unix) noexcept {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: try on the next event
    auto c = std::make_unique<Connection>();
    c->fd = UniqueFd(fd);
    c->is_unix = is_unix;
    c->in.resize(is_unix ? sizeof(wire::Hello) * 16 : kInCapacity);
    c->out.reserve(is_unix ? 256 : (1u << 20));
    if (!is_unix) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(fd);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) continue;  // c closes fd
    conns_.emplace(fd, std::move(c));
    connections_.fetch_add(1, std::memory_order_relaxed);
  }
}

void NodeServer::drop(int fd) noexcept {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  conns_.erase(it);
  connections_.fetch_sub(1, std::memory_order_relaxed);
}

void NodeServer::update_interest(Connection& c) noexcept {
  struct epoll_event ev = {};
  const bool backlog = c.out.size() - c.out_sent > 0;
  // Backpressure: with a large unsent backlog, stop reading new requests.
  const bool read_more = !c.closing && (c.out.size() - c.out_sent) < kOutBacklog;
  ev.events = (read_more ? uint32_t{EPOLLIN} : 0u) | (backlog ? uint32_t{EPOLLOUT} : 0u);
  ev.data.u64 = static_cast<uint64_t>(c.fd.get());
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
}

void NodeServer::flush(Connection& c) noexcept {
  while (c.out_sent < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      c.closing = true;
      c.out.clear();
      c.out_sent = 0;
      return;
    }
    c.out_sent += static_cast<size_t>(n);
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
}

void NodeServer::on_writable(Connection& c) noexcept {
  flush(c);
  const int fd = c.fd.get();
  if (c.closing && c.out.empty()) {
    drop(fd);
    return;
  }
  update_interest(c);
  // Requests may be waiting in the input buffer behind the backlog.
  if (c.in_len > 0 && c.out.size() - c.out_sent < kOutBacklog) on_readable(c);
}

void NodeServer::on_readable(Connection& c) noexcept {
  const int fd = c.fd.get();
  bool eof = false;
  for (;;) {
    if (c.in_len < c.in.size()) {
      ssize_t n = ::recv(fd, c.in.data() + c.in_len, c.in.size() - c.in_len, 0);
      if (n > 0) {
        c.in_len += static_cast<size_t>(n);
      } else if (n == 0) {
        eof = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        eof = true;
      }
    }
    const size_t consumed = c.is_unix ? serve_descriptors(c) : serve_requests(c);
    if (consumed > 0) {
      memmove(c.in.data(), c.in.data() + consumed, c.in_len - consumed);
      c.in_len -= consumed;
    }
    flush(c);
    if (eof || c.closing) break;
    // Stop when the socket is drained or the backlog is full.
    if (consumed == 0 || c.out.size() - c.out_sent >= kOutBacklog) break;
  }
  if ((eof && c.out.empty()) || (c.closing && c.out.empty())) {
    drop(fd);
    return;
  }
  if (eof) c.closing = true;
  update_interest(c);
}

bool NodeServer::handshake(Connection& c) noexcept {
  wire::Hello hello;
  memcpy(&hello, c.in.data(), sizeof(hello));
  wire::HelloReply reply = {};
  if (memcmp(hello.magic, wire::kDataMagic, sizeof(hello.magic)) != 0 || hello.version != wire::kDataVersion) {
    reply.status = EPROTO;
  } else {
    c.session = store_->session_for(hello.secret);
    reply.status = c.session == 0 ? EACCES : 0;
    reply.session = c.session;
  }
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&reply);
  c.out.insert(c.out.end(), bytes, bytes + sizeof(reply));
  if (reply.status != 0) c.closing = true;
  c.handshaken = reply.status == 0;
  return c.handshaken;
}

size_t NodeServer::serve_requests(Connection& c) noexcept {
  size_t pos = 0;
  if (!c.handshaken) {
    if (c.in_len < sizeof(wire::Hello)) return 0;
    pos = sizeof(wire::Hello);
    if (!handshake(c)) return pos;
  }
  while (!c.closing && c.out.size() - c.out_sent < kOutBacklog) {
    if (c.in_len - pos < sizeof(wire::Request)) break;
    wire::Request req;
    memcpy(&req, c.in.data() + pos, sizeof(req));
    wire::Response resp = {req.tag, 0, 0, wire::kNoSlab};
    if (req.op > wire::kWrite || req.length > wire::kMaxOpBytes) {
      // The stream can no longer be framed: answer, then close.
      resp.status = EPROTO;
      const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&resp);
      c.out.insert(c.out.end(), bytes, bytes + sizeof(resp));
      c.closing = true;
      return c.in_len;
    }
    const size_t need = sizeof(req) + (req.op == wire::kWrite ? req.length : 0);
    if (c.in_len - pos < need) break;
    if (!store_->session_open(c.session)) {
      c.closing = true;
      return c.in_len;
    }
    const size_t at = c.out.size();
    if (req.op == wire::kRead) {
      c.out.resize(at + sizeof(resp) + req.length);
      resp.status = store_->read(c.session, req.address, req.length, req.key,
                                 c.out.data() + at + sizeof(resp), &resp.slot);
      resp.length = resp.status == 0 ? req.length : 0;
      c.out.resize(at + sizeof(resp) + resp.length);
    } else {
      resp.status = store_->write(c.session, req.address, req.length, req.key,
                                  c.in.data() + pos + sizeof(req), &resp.slot);
      resp.length = resp.status == 0 ? req.length : 0;
      c.out.resize(at + sizeof(resp));
    }
    memcpy(c.out.data() + at, &resp, sizeof(resp));
    pos += need;
  }
  return pos;
}

size_t NodeServer::serve_descriptors(Connection& c) noexcept {
  size_t pos = 0;
  while (c.in_len - pos >= sizeof(wire::Hello)) {
    wire::Hello hello;
    memcpy(&hello, c.in.data() + pos, sizeof(hello));
    pos += sizeof(hello);
    wire::HelloReply reply = {};
    UniqueFd fd;
    if (memcmp(hello.magic, wire::kDataMagic, sizeof(hello.magic)) != 0 || hello.version != wire::kDataVersion) {
      reply.status = EPROTO;
    } else {
      reply.session = store_->session_for(hello.secret);
      reply.status = reply.session == 0
                         ? EACCES
                         : store_->descriptor(reply.session, hello.slot, &fd, &reply.offset, &reply.length);
    }
    // Small replies on a unix stream socket: sent whole or the peer is gone.
    if (send_with_fd(c.fd.get(), &reply, sizeof(reply), reply.status == 0 ? fd.get() : -1) < 0) {
      c.closing = true;
      return c.in_len;
    }
  }
  return pos;
}

}  // namespace dmem
