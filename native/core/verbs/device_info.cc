#include "verbs/device_info.h"

#include <endian.h>
#include <infiniband/verbs.h>
#include <stdio.h>

#include <memory>

#include "verbs/check.h"
#include "verbs/device.h"

namespace dmem::verbs {

namespace {

std::string format_guid(__be64 guid) {
  uint64_t g = be64toh(guid);
  char text[24];
  snprintf(text, sizeof(text), "%04x:%04x:%04x:%04x", static_cast<unsigned>(g >> 48) & 0xffff,
           static_cast<unsigned>(g >> 32) & 0xffff, static_cast<unsigned>(g >> 16) & 0xffff,
           static_cast<unsigned>(g) & 0xffff);
  return text;
}

bool gid_is_zero(const union ibv_gid& gid) {
  for (uint8_t byte : gid.raw) {
    if (byte != 0) return false;
  }
  return true;
}

struct DeviceListDeleter {
  void operator()(ibv_device** list) const noexcept { ibv_free_device_list(list); }
};
struct ContextDeleter {
  void operator()(ibv_context* ctx) const noexcept { ibv_close_device(ctx); }
};

PortInfo query_port(ibv_context* ctx, uint8_t port, const std::string& device) {
  struct ibv_port_attr attr = {};
  check_ret(ibv_query_port(ctx, port, &attr), "ibv_query_port",
            device + " port " + std::to_string(port));
  PortInfo info;
  info.port = port;
  info.state = ibv_port_state_str(attr.state);
  info.link_layer = attr.link_layer == IBV_LINK_LAYER_ETHERNET ? "Ethernet" : "InfiniBand";
  info.active_mtu = 128u << attr.active_mtu;
  info.lid = attr.lid;
  for (int i = 0; i < attr.gid_tbl_len; i++) {
    struct ibv_gid_entry entry = {};
    // Unpopulated entries fail with ENODATA; they are simply absent.
    if (ibv_query_gid_ex(ctx, port, static_cast<uint32_t>(i), &entry, 0) != 0) continue;
    if (gid_is_zero(entry.gid)) continue;
    info.gids.push_back({static_cast<uint32_t>(i), format_gid(entry.gid), gid_type_name(entry.gid_type)});
  }
  return info;
}

}  // namespace

std::vector<DeviceInfo> list_devices() {
  int count = 0;
  errno = 0;
  std::unique_ptr<ibv_device*, DeviceListDeleter> list(
      check_null(ibv_get_device_list(&count), "ibv_get_device_list", "(all devices)"));
  std::vector<DeviceInfo> devices;
  for (int i = 0; i < count; i++) {
    ibv_device* dev = list.get()[i];
    DeviceInfo info;
    info.name = ibv_get_device_name(dev);
    info.node_guid = format_guid(ibv_get_device_guid(dev));
    std::unique_ptr<ibv_context, ContextDeleter> ctx(
        check_null(ibv_open_device(dev), "ibv_open_device", info.name));
    struct ibv_device_attr attr = {};
    check_ret(ibv_query_device(ctx.get(), &attr), "ibv_query_device", info.name);
    for (uint8_t port = 1; port <= attr.phys_port_cnt; port++) {
      info.ports.push_back(query_port(ctx.get(), port, info.name));
    }
    devices.push_back(std::move(info));
  }
  return devices;
}

}  // namespace dmem::verbs
