// The compute node's verbs state for one memory-node session: the device,
// one protection domain (every lane's staging MR and QP live in it), and the
// lanes whose queue pairs are connected but not yet claimed by a thread.
//
// Thread contract: create_lane / connect_lane / drop_lane / take_closed run on
// the session's thread (they follow the control protocol's connect-qp
// exchange, which runs on that thread's event loop); claim_lane and
// lane_closed run on lane threads; a mutex guards the lane table (control
// path only: a lane's data path never touches it). lost() is read by lanes
// without a lock.
//
// Ownership: a Lane holds the session (for its PD, device and lost flag);
// the session holds unclaimed lanes. close() drops those, so no cycle
// survives it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "verbs/device.h"
#include "verbs/protection_domain.h"
#include "verbs/queue_pair.h"

namespace dmem::verbs {

class Lane;

struct ClientSessionOptions {
  std::string device;  // "" = the first device with an active port
  uint8_t port = 1;
  int gid_index = -1;  // -1 = the RoCE v2 GID of the netdev's IPv4 address
  int timeout_ms = 5000;  // how long a lane waits for any completion before it gives up
};

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  static std::shared_ptr<ClientSession> create(const ClientSessionOptions& options);  // throws
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  const std::shared_ptr<Device>& device() const noexcept { return device_; }
  const std::shared_ptr<ProtectionDomain>& pd() const noexcept { return pd_; }
  const PortSelection& port() const noexcept { return port_; }
  int timeout_ms() const noexcept { return timeout_ms_; }

  // ---- session thread
  // A lane whose QP is in INIT; returns its id and fills its endpoint.
  uint32_t create_lane(uint32_t max_inflight, QpEndpoint* local);
  // Connects the lane's QP to the memory node's (RTR, RTS). Throws.
  void connect_lane(uint32_t lane, const QpEndpoint& remote);
  void drop_lane(uint32_t lane) noexcept;
  // Memory-node QP numbers of lanes closed since the last call: the session
  // tells the node (disconnect-qp) so it can free them.
  std::vector<uint32_t> take_closed();
  void mark_lost() noexcept { lost_.store(true, std::memory_order_release); }
  // Drops unclaimed lanes and marks the session lost. Idempotent.
  void close() noexcept;

  // ---- any thread
  bool lost() const noexcept { return lost_.load(std::memory_order_acquire); }
  // Hands a connected lane to the calling thread, once. Throws SystemError
  // (ENOENT unknown or already claimed, ENOTCONN not connected yet).
  std::shared_ptr<Lane> claim_lane(uint32_t lane);
  void lane_closed(uint32_t remote_qpn) noexcept;

 private:
  ClientSession(std::shared_ptr<Device> device, const PortSelection& port, int timeout_ms);

  // Teardown: lanes hold this session, so by the time it goes they are gone;
  // then the PD, then the device (reverse declaration order).
  std::shared_ptr<Device> device_;
  std::shared_ptr<ProtectionDomain> pd_;
  const PortSelection port_;
  const int timeout_ms_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  uint32_t next_lane_ = 1;
  std::map<uint32_t, std::shared_ptr<Lane>> lanes_;  // unclaimed
  std::vector<uint32_t> closed_;
};

}  // namespace dmem::verbs
