// kvcache: a memcached-shaped cache VM. 1 KiB items in slabs, a hash index
// over them, sharded by thread (each thread serves its own keys, as a
// worker-per-core cache does). The hot items are the recently allocated ones
// (the last `hotFraction` of each shard's slabs); a request touches a cold
// item with probability `coldRate`. Each request also does `work` rounds of
// CPU work standing in for protocol parsing. Every get checks the item's
// checksum; at the end every item and its index entry are checked.
#include "workloads/workload.h"

namespace dmem::workloads {

namespace {
constexpr size_t kItemBytes = 1024;
constexpr size_t kValueWords = (kItemBytes - 32) / 8;
struct Item {
  uint64_t key;
  uint64_t version;
  uint64_t checksum;
  uint64_t reserved;
  uint64_t value[kValueWords];
};
static_assert(sizeof(Item) == kItemBytes, "items are 1 KiB");
struct IndexSlot {
  uint64_t key;   // 0 = empty
  uint64_t item;  // item number
};

void write_item(Item* item, uint64_t key, uint64_t version) {
  item->key = key;
  item->version = version;
  for (size_t w = 0; w < kValueWords; w++) item->value[w] = mix64(key ^ (version << 24) ^ w);
  item->checksum = hash_words(item->value, kValueWords) ^ key;
}
bool item_ok(const Item* item, uint64_t key) { return item->key == key && item->checksum == (hash_words(item->value, kValueWords) ^ key); }
uint64_t slot_of(uint64_t key, uint64_t slots) { return static_cast<uint64_t>((static_cast<unsigned __int128>(mix64(key)) * slots) >> 64); }
}  // namespace

void kvcache(const Context& ctx, Result& r) {
  const uint64_t items = (ctx.bytes - kPage) / (kItemBytes + 2 * sizeof(IndexSlot));  // a page for rounding the index up
  const uint64_t slots = 2 * items;
  IndexSlot* index = reinterpret_cast<IndexSlot*>(ctx.base);
  Item* slab = reinterpret_cast<Item*>(ctx.base + ((slots * sizeof(IndexSlot) + kPage - 1) / kPage) * kPage);
  const uint64_t lo = ctx.slice_begin(items), hi = ctx.slice_end(items);
  const uint64_t hot_lo = hi - static_cast<uint64_t>(static_cast<double>(hi - lo) * ctx.param("hotFraction", 0.2));
  const double cold_rate = ctx.param("coldRate", 0.001);
  const uint32_t work = static_cast<uint32_t>(ctx.param("work", 200));
  const uint64_t requests = static_cast<uint64_t>(ctx.param("requests", 200000)) / ctx.threads();
  Stages stages(ctx, r);
  for (uint64_t s = ctx.slice_begin(slots); s < ctx.slice_end(slots); s++) index[s] = IndexSlot{0, 0};
  ctx.run->barrier();
  // Allocate in order, so that the last slabs written are the recent ones.
  for (uint64_t i = lo; i < hi; i++) {
    const uint64_t key = i + 1;
    write_item(&slab[i], key, 0);
    for (uint64_t s = slot_of(key, slots);; s = s + 1 == slots ? 0 : s + 1) {
      uint64_t expected = 0;
      if (__atomic_compare_exchange_n(&index[s].key, &expected, key, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        index[s].item = i;
        break;
      }
    }
  }
  stages.measure();
  Rng rng(ctx.seed * 977 + ctx.thread());
  uint64_t sink = 0, cold = 0;
  for (uint64_t q = 0; q < requests; q++) {
    const bool is_cold = rng.uniform() < cold_rate;
    const uint64_t i = is_cold ? lo + rng.below(hi - lo) : hot_lo + rng.below(hi - hot_lo);
    cold += is_cold;
    const uint64_t key = i + 1;
    sink += busy_work(key ^ q, work);
    uint64_t s = slot_of(key, slots);
    while (index[s].key != key) s = s + 1 == slots ? 0 : s + 1;
    Item* item = &slab[index[s].item];
    if (rng.below(10) == 0) {
      write_item(item, key, item->version + 1);
    } else if (!item_ok(item, key)) {
      r.fail("kvcache: item " + std::to_string(i) + " fails its checksum");
      break;
    }
    if ((q & 0x3FF) == 0) ctx.run->checkpoint();
  }
  stages.verify();
  r.ops = requests;
  r.bytes_touched = requests * (kItemBytes + 64);
  r.distinct_pages = (hi - hot_lo) * kItemBytes / kPage + cold;
  r.checksum = sink;
  for (uint64_t i = lo; i < hi && r.ok; i++) {
    uint64_t s = slot_of(i + 1, slots);
    while (index[s].key != i + 1 && index[s].key != 0) s = s + 1 == slots ? 0 : s + 1;
    if (index[s].key != i + 1 || index[s].item != i || !item_ok(&slab[i], i + 1)) r.fail("kvcache: item " + std::to_string(i) + " or its index entry is wrong");
  }
  stages.done();
}

}  // namespace dmem::workloads
