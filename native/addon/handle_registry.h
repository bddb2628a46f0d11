// Process-wide tables of live shared objects (regions, remote sessions), so a
// worker thread can attach by a small integer id to an object another thread
// created. Entries are weak: a table never keeps an object alive.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace dmem::addon {

template <typename T>
class HandleRegistry {
 public:
  static HandleRegistry& instance() {
    static HandleRegistry* registry = new HandleRegistry();  // never destroyed: outlives workers
    return *registry;
  }

  uint32_t add(const std::shared_ptr<T>& object) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Drop entries whose objects are gone, so the table stays small.
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expired() ? entries_.erase(it) : std::next(it);
    }
    uint32_t id = next_id_++;
    entries_.emplace(id, object);
    return id;
  }

  void remove(uint32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(id);
  }

  std::shared_ptr<T> find(uint32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.lock();
  }

 private:
  std::mutex mutex_;
  uint32_t next_id_ = 1;
  std::unordered_map<uint32_t, std::weak_ptr<T>> entries_;
};

}  // namespace dmem::addon
