#include "verbs/client_session.h"

#include <errno.h>

#include <utility>

#include "common/system_error.h"
#include "verbs/lane.h"

namespace dmem::verbs {

std::shared_ptr<ClientSession> ClientSession::create(const ClientSessionOptions& options) {
  std::shared_ptr<Device> device = Device::open(options.device);
  const PortSelection port = device->select_port(options.port, options.gid_index);
  return std::shared_ptr<ClientSession>(new ClientSession(std::move(device), port, options.timeout_ms));
}

ClientSession::ClientSession(std::shared_ptr<Device> device, const PortSelection& port, int timeout_ms)
    : device_(std::move(device)), pd_(std::make_shared<ProtectionDomain>(device_)), port_(port), timeout_ms_(timeout_ms) {}

ClientSession::~ClientSession() = default;

uint32_t ClientSession::create_lane(uint32_t max_inflight, QpEndpoint* local) {
  auto lane = std::make_shared<Lane>(shared_from_this(), max_inflight);
  *local = lane->local();
  std::lock_guard<std::mutex> lock(mutex_);
  const uint32_t id = next_lane_++;
  lanes_.emplace(id, std::move(lane));
  return id;
}

void ClientSession::connect_lane(uint32_t lane, const QpEndpoint& remote) {
  std::shared_ptr<Lane> found;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = lanes_.find(lane);
    if (it != lanes_.end()) found = it->second;
  }
  if (found == nullptr) throw SystemError(ENOENT, "connect_lane", "lane " + std::to_string(lane) + " is unknown or dropped");
  found->connect(remote);
}

void ClientSession::drop_lane(uint32_t lane) noexcept {
  std::shared_ptr<Lane> dropped;  // destroyed after the lock is released: its destructor calls lane_closed
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = lanes_.find(lane);
  if (it == lanes_.end()) return;
  dropped = std::move(it->second);
  lanes_.erase(it);
}

std::vector<uint32_t> ClientSession::take_closed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(closed_, {});
}

void ClientSession::close() noexcept {
  mark_lost();
  std::map<uint32_t, std::shared_ptr<Lane>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dropped.swap(lanes_);
  }
  // `dropped` goes here, outside the lock: each lane's destructor calls lane_closed.
}

std::shared_ptr<Lane> ClientSession::claim_lane(uint32_t lane) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = lanes_.find(lane);
  if (it == lanes_.end()) {
    throw SystemError(ENOENT, "claim_lane",
                      "lane " + std::to_string(lane) + " is unknown or already open: each prepareLane() handle opens one DataConnection");
  }
  if (!it->second->connected()) throw SystemError(ENOTCONN, "claim_lane", "lane " + std::to_string(lane) + " is not connected yet");
  std::shared_ptr<Lane> claimed = std::move(it->second);
  lanes_.erase(it);
  return claimed;
}

void ClientSession::lane_closed(uint32_t remote_qpn) noexcept {
  if (remote_qpn == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    closed_.push_back(remote_qpn);
  } catch (...) {
    // Out of memory: the memory node frees the QP with the session instead.
  }
}

}  // namespace dmem::verbs
