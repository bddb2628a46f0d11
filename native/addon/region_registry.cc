#include "addon/region_registry.h"

#include <mutex>
#include <unordered_map>

namespace dmem::addon {

namespace {

struct Registry {
  std::mutex mutex;
  uint32_t next_id = 1;
  std::unordered_map<uint32_t, std::weak_ptr<RegionCore>> regions;
};

Registry& registry() {
  static Registry* instance = new Registry();  // never destroyed: outlives every worker
  return *instance;
}

}  // namespace

uint32_t register_region(const std::shared_ptr<RegionCore>& core) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  uint32_t id = r.next_id++;
  r.regions.emplace(id, core);
  return id;
}

void unregister_region(uint32_t id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.regions.erase(id);
}

std::shared_ptr<RegionCore> find_region(uint32_t id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.regions.find(id);
  if (it == r.regions.end()) return nullptr;
  std::shared_ptr<RegionCore> core = it->second.lock();
  return core != nullptr && !core->closed() ? core : nullptr;
}

}  // namespace dmem::addon
