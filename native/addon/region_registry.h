// Regions by id, for attachRegion in other threads.
#pragma once

#include <cstdint>
#include <memory>

#include "addon/handle_registry.h"
#include "uffd/region.h"

namespace dmem::addon {

inline uint32_t register_region(const std::shared_ptr<RegionCore>& core) {
  return HandleRegistry<RegionCore>::instance().add(core);
}
inline void unregister_region(uint32_t id) { HandleRegistry<RegionCore>::instance().remove(id); }
// The region with this id, or nullptr when it is closed or never existed.
inline std::shared_ptr<RegionCore> find_region(uint32_t id) {
  std::shared_ptr<RegionCore> core = HandleRegistry<RegionCore>::instance().find(id);
  return core != nullptr && !core->closed() ? core : nullptr;
}

}  // namespace dmem::addon
