#include "verbs/device.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <utility>

#include "common/system_error.h"
#include "verbs/check.h"

namespace dmem::verbs {

namespace {

struct DeviceListDeleter {
  void operator()(ibv_device** list) const noexcept { ibv_free_device_list(list); }
};

bool port_active(ibv_context* context) {
  struct ibv_device_attr attr = {};
  if (ibv_query_device(context, &attr) != 0) return false;
  for (uint8_t port = 1; port <= attr.phys_port_cnt; port++) {
    struct ibv_port_attr pa = {};
    if (ibv_query_port(context, port, &pa) == 0 && pa.state == IBV_PORT_ACTIVE) return true;
  }
  return false;
}

bool ipv4_mapped(const union ibv_gid& gid) {
  static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return memcmp(gid.raw, prefix, sizeof(prefix)) == 0;
}

// Whether the netdev with index `ifindex` carries the IPv4 address in the
// last four bytes of `gid`.
bool netdev_has_address(uint32_t ifindex, const union ibv_gid& gid) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || if_indextoname(ifindex, name) == nullptr) return false;
  struct ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) != 0) return false;
  bool found = false;
  for (struct ifaddrs* a = addrs; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || strcmp(a->ifa_name, name) != 0) continue;
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(a->ifa_addr);
    found = memcmp(&sin->sin_addr, gid.raw + 12, 4) == 0;
  }
  freeifaddrs(addrs);
  return found;
}

}  // namespace

const char* gid_type_name(uint32_t type) {
  switch (type) {
    case IBV_GID_TYPE_IB: return "IB";
    case IBV_GID_TYPE_ROCE_V1: return "RoCEv1";
    case IBV_GID_TYPE_ROCE_V2: return "RoCEv2";
    default: return "unknown";
  }
}

std::string format_gid(const union ibv_gid& gid) {
  char text[40];
  const uint8_t* b = gid.raw;
  snprintf(text, sizeof(text),
           "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
  return text;
}

std::shared_ptr<Device> Device::open(const std::string& name) {
  int count = 0;
  errno = 0;
  ibv_device** raw = ibv_get_device_list(&count);
  if (raw == nullptr && errno == ENOSYS) {
    throw SystemError(ENOSYS, "ibv_get_device_list",
                      "this kernel has no RDMA support: boot one with RDMA (rdma_rxe gives soft-RoCE; "
                      "scripts/softroce/run.sh boots a guest with it) or use RDMA hardware");
  }
  std::unique_ptr<ibv_device*, DeviceListDeleter> list(check_null(raw, "ibv_get_device_list", "(all devices)"));
  std::string seen;
  for (int i = 0; i < count; i++) {
    ibv_device* dev = list.get()[i];
    const std::string dev_name = ibv_get_device_name(dev);
    seen += (seen.empty() ? "" : ", ") + dev_name;
    if (!name.empty() && dev_name != name) continue;
    errno = 0;
    auto device = std::make_shared<Device>(check_null(ibv_open_device(dev), "ibv_open_device", dev_name), dev_name);
    if (!name.empty() || port_active(device->get())) return device;
  }
  if (count == 0) {
    throw SystemError(ENODEV, "ibv_get_device_list",
                      "no RDMA device on this machine: attach one, or create a soft-RoCE device "
                      "(`rdma link add rxe0 type rxe netdev <netdev>`; scripts/softroce/run.sh boots a guest with one)");
  }
  if (name.empty()) {
    throw SystemError(ENETDOWN, "ibv_query_port", "no RDMA device has an active port (devices: " + seen + ")");
  }
  throw SystemError(ENODEV, "ibv_open_device", "no RDMA device named \"" + name + "\" (devices: " + seen + ")");
}

Device::Device(ibv_context* context, std::string name) noexcept : context_(context), name_(std::move(name)) {}

Device::~Device() { close(); }

Device::Device(Device&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)), name_(std::move(other.name_)) {}

Device& Device::operator=(Device&& other) noexcept {
  if (this != &other) {
    close();
    context_ = std::exchange(other.context_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

// Last in the teardown order (QP → MR → CQ → PD → device): every child holds
// a shared_ptr to this device, so by now they are all gone.
void Device::close() noexcept {
  if (context_ != nullptr) (void)ibv_close_device(context_);
  context_ = nullptr;
}

PortSelection Device::select_port(uint8_t port, int gid_index) const {
  const std::string where = name_ + " port " + std::to_string(port);
  struct ibv_device_attr dattr = {};
  check_ret(ibv_query_device(context_, &dattr), "ibv_query_device", name_);
  if (port < 1 || port > dattr.phys_port_cnt) {
    throw SystemError(EINVAL, "ibv_query_port",
                      where + ": no such port (" + name_ + " has " + std::to_string(dattr.phys_port_cnt) + ")");
  }
  struct ibv_port_attr attr = {};
  check_ret(ibv_query_port(context_, port, &attr), "ibv_query_port", where);
  if (attr.state != IBV_PORT_ACTIVE) {
    throw SystemError(ENETDOWN, "ibv_query_port",
                      where + " is " + ibv_port_state_str(attr.state) +
                          ", not ACTIVE: bring its link up (soft-RoCE: `ip link set <netdev> up`)");
  }
  PortSelection sel;
  sel.port = port;
  sel.roce = attr.link_layer == IBV_LINK_LAYER_ETHERNET;
  sel.lid = attr.lid;
  sel.active_mtu = attr.active_mtu;
  const int rd = std::min(dattr.max_qp_rd_atom, dattr.max_qp_init_rd_atom);
  sel.max_rd_atomic = static_cast<uint32_t>(std::clamp(rd, 1, 16));

  if (gid_index >= 0) {
    struct ibv_gid_entry entry = {};
    check_ret(ibv_query_gid_ex(context_, port, static_cast<uint32_t>(gid_index), &entry, 0), "ibv_query_gid_ex",
              where + " GID index " + std::to_string(gid_index) + " (is it populated? see `dmem info`)");
    sel.gid_index = gid_index;
    sel.gid = entry.gid;
    return sel;
  }
  if (!sel.roce) return sel;  // InfiniBand: addressed by LID, no GRH

  // RoCE, no index given: the RoCE v2 GID holding its netdev's IPv4 address.
  std::string candidates;
  int fallback = -1;
  for (int i = 0; i < attr.gid_tbl_len; i++) {
    struct ibv_gid_entry entry = {};
    if (ibv_query_gid_ex(context_, port, static_cast<uint32_t>(i), &entry, 0) != 0) continue;  // unpopulated
    candidates += " " + std::to_string(i) + ":" + gid_type_name(entry.gid_type) + ":" + format_gid(entry.gid);
    if (entry.gid_type != IBV_GID_TYPE_ROCE_V2 || !ipv4_mapped(entry.gid)) continue;
    if (netdev_has_address(entry.ndev_ifindex, entry.gid)) {
      sel.gid_index = i;
      sel.gid = entry.gid;
      return sel;
    }
    // The netdev may sit in another network namespace: still the right kind of GID.
    if (fallback < 0) {
      fallback = i;
      sel.gid = entry.gid;
    }
  }
  if (fallback >= 0) {
    sel.gid_index = fallback;
    return sel;
  }
  throw SystemError(EADDRNOTAVAIL, "ibv_query_gid_ex",
                    where + " has no RoCE v2 GID carrying an IPv4 address: give its netdev an IPv4 address, "
                            "or pick a GID index (--gid-index); GIDs:" +
                        (candidates.empty() ? std::string(" none") : candidates));
}

}  // namespace dmem::verbs
