// An open RDMA device (ibv_context), and the port and GID a connection uses.
//
// Ownership: every verbs object made from a device (protection domain,
// completion queue) holds a shared_ptr to it, so the context closes only
// after the last of them is gone.
#pragma once

#include <infiniband/verbs.h>

#include <cstdint>
#include <memory>
#include <string>

namespace dmem::verbs {

// What a queue pair needs to know about its port.
struct PortSelection {
  uint8_t port = 1;
  bool roce = false;        // Ethernet link layer: address by GID (RoCE); else by LID (InfiniBand)
  uint16_t lid = 0;         // InfiniBand
  ibv_mtu active_mtu = IBV_MTU_1024;
  int gid_index = -1;       // RoCE: the source GID; -1 on InfiniBand
  union ibv_gid gid = {};   // RoCE: its value
  uint32_t max_rd_atomic = 1;  // RDMA READs one QP may have outstanding (both directions)
};

class Device {
 public:
  // Opens the device called `name`, or, when `name` is empty, the first
  // device with an active port. Throws SystemError (ENODEV names the devices
  // there are).
  static std::shared_ptr<Device> open(const std::string& name);

  Device(ibv_context* context, std::string name) noexcept;  // adopts `context`
  ~Device();
  Device(Device&& other) noexcept;
  Device& operator=(Device&& other) noexcept;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  ibv_context* get() const noexcept { return context_; }
  const std::string& name() const noexcept { return name_; }

  // The port's link layer, LID, MTU and source GID. gid_index < 0 picks, on
  // RoCE, the RoCE v2 GID whose value is the IPv4-mapped address of the GID's
  // own netdev (found by value, never by position). Throws SystemError when
  // the port is not active or no such GID exists, naming the ones there are.
  PortSelection select_port(uint8_t port, int gid_index) const;

 private:
  void close() noexcept;

  ibv_context* context_ = nullptr;
  std::string name_;
};

// "fe80:0000:...": the form sysfs and `dmem info` show.
std::string format_gid(const union ibv_gid& gid);
// "IB", "RoCEv1", "RoCEv2" for an IBV_GID_TYPE_* value.
const char* gid_type_name(uint32_t type);

}  // namespace dmem::verbs
