// Process-wide table of live regions, so that a worker thread can attach to a
// region created in another thread by its small integer id. Entries are weak:
// the registry never keeps a region alive; the owner's close() removes it.
#pragma once

#include <cstdint>
#include <memory>

#include "uffd/region.h"

namespace dmem::addon {

uint32_t register_region(const std::shared_ptr<RegionCore>& core);
void unregister_region(uint32_t id);
// The region with this id, or nullptr when it is closed or never existed.
std::shared_ptr<RegionCore> find_region(uint32_t id);

}  // namespace dmem::addon
