// The memory node's data listener: one epoll thread that serves
//   - tcp data connections: one-sided READ/WRITE requests executed against the
//     SlabStore, many in flight per connection, no JavaScript per request;
//   - descriptor requests on a unix socket (shm, file transports): a slab's
//     memfd, or the pool file, passed with SCM_RIGHTS.
// Every request is checked against the session's slabs by the SlabStore.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/unique_fd.h"
#include "transport/slab_store.h"

namespace dmem {

struct NodeServerOptions {
  bool tcp;               // listen for tcp data connections
  std::string host;       // tcp: IPv4 address to bind
  uint16_t port;          // tcp: 0 picks a free port
  std::string unix_path;  // descriptor passing; "" = none; leading '@' = abstract
};

class NodeServer {
 public:
  NodeServer(std::shared_ptr<SlabStore> store, const NodeServerOptions& options);  // throws
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  const std::string& unix_path() const noexcept { return options_.unix_path; }
  uint32_t connections() const noexcept { return connections_.load(std::memory_order_relaxed); }
  // Drops the data connections of sessions the store no longer knows.
  void sweep() noexcept;
  // Stops the thread and closes every connection. Idempotent.
  void stop() noexcept;

 private:
  struct Connection;
  void run() noexcept;
  void accept_all(int listener, bool is_unix) noexcept;
  void on_readable(Connection& c) noexcept;
  void on_writable(Connection& c) noexcept;
  size_t serve_requests(Connection& c) noexcept;
  size_t serve_descriptors(Connection& c) noexcept;
  bool handshake(Connection& c) noexcept;
  void flush(Connection& c) noexcept;
  void drop(int fd) noexcept;
  void update_interest(Connection& c) noexcept;

  std::shared_ptr<SlabStore> store_;
  NodeServerOptions options_;
  uint16_t port_ = 0;
  UniqueFd epoll_;
  UniqueFd tcp_listener_;
  UniqueFd unix_listener_;
  UniqueFd wakeup_;  // eventfd: sweep() and stop() poke the thread
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> connections_{0};
  std::unordered_map<int, std::unique_ptr<Connection>> conns_;  // data thread only
  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace dmem
