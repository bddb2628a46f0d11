// Enumerating RDMA devices: names, GUIDs, ports and GID tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dmem::verbs {

struct GidEntry {
  uint32_t index;
  std::string gid;   // colon-separated hex, as in sysfs
  std::string type;  // "IB", "RoCEv1", "RoCEv2"
};

struct PortInfo {
  uint32_t port;
  std::string state;       // "ACTIVE", "DOWN", ...
  std::string link_layer;  // "InfiniBand" or "Ethernet"
  uint32_t active_mtu;     // bytes
  uint32_t lid;
  std::vector<GidEntry> gids;  // non-zero entries only
};

struct DeviceInfo {
  std::string name;
  std::string node_guid;
  std::vector<PortInfo> ports;
};

// Every device libibverbs sees. Throws SystemError.
std::vector<DeviceInfo> list_devices();

}  // namespace dmem::verbs
