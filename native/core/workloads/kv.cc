// kv: an open-addressing hash table (16-byte slots, load `load`, default 1/2) with keys drawn
// Zipf(0.99), 90% get / 10% put, threads sharing one table. Hot keys hash to
// scattered slots, so the page-level hot set is much larger than the key-level
// one: the DESIGN floor's hard case. Every value carries a check of its key
// in its low 32 bits, which every get verifies.
#include "workloads/workload.h"

namespace dmem::workloads {

namespace {
struct Slot {
  uint64_t key;  // 0 = empty
  uint64_t value;
};
uint64_t key_of(uint64_t rank) { return mix64(rank + 1) | 1; }
uint64_t check_of(uint64_t key) { return mix64(key ^ 0x5bd1e995) & 0xFFFFFFFFull; }

Slot* find(Slot* table, uint64_t mask, uint64_t key) {
  for (uint64_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    uint64_t k = __atomic_load_n(&table[i].key, __ATOMIC_ACQUIRE);
    if (k == key) return &table[i];
    if (k == 0) return nullptr;
  }
}

void insert(Slot* table, uint64_t mask, uint64_t key, uint64_t value) {
  for (uint64_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    uint64_t expected = 0;
    if (__atomic_compare_exchange_n(&table[i].key, &expected, key, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
        expected == key) {
      __atomic_store_n(&table[i].value, value, __ATOMIC_RELEASE);
      return;
    }
  }
}
}  // namespace

void kv(const Context& ctx, Result& r) {
  uint64_t slots = 1;
  while (slots * 2 * sizeof(Slot) <= ctx.bytes) slots *= 2;
  Slot* table = reinterpret_cast<Slot*>(ctx.base);
  const uint64_t mask = slots - 1;
  // Load factor: inserting is random writes over the whole table, which at
  // 50% local costs a fault per insert; fewer keys keep the untimed set-up short
  // while the keys still cover every page of the table.
  const uint64_t keys = static_cast<uint64_t>(static_cast<double>(slots) * ctx.param("load", 0.5));
  const uint64_t ops = static_cast<uint64_t>(ctx.param("ops", static_cast<double>(keys))) / ctx.threads();
  const double theta = ctx.param("theta", 0.99);
  Stages stages(ctx, r);
  for (uint64_t i = ctx.slice_begin(slots); i < ctx.slice_end(slots); i++) table[i] = Slot{0, 0};
  ctx.run->barrier();
  // Inserting into a table with a publish-by-key protocol: a reader that sees
  // the key before its value reads 0, so values are written before keys are
  // visible to gets (gets start after the barrier).
  for (uint64_t k = ctx.slice_begin(keys); k < ctx.slice_end(keys); k++) insert(table, mask, key_of(k), check_of(key_of(k)));
  Zipf zipf(keys, theta);
  stages.measure();
  Rng rng(ctx.seed * 31 + ctx.thread());
  uint64_t gets = 0;
  for (uint64_t op = 0; op < ops; op++) {
    const uint64_t key = key_of(zipf.next(rng));
    Slot* slot = find(table, mask, key);
    if (slot == nullptr) {
      r.fail("kv: a key inserted before the run is missing");
      break;
    }
    if (rng.below(10) == 0) {
      __atomic_store_n(&slot->value, (op << 32) | check_of(key), __ATOMIC_RELAXED);
    } else {
      const uint64_t v = __atomic_load_n(&slot->value, __ATOMIC_RELAXED);
      if ((v & 0xFFFFFFFFull) != check_of(key)) {
        r.fail("kv: a value does not carry its key's check");
        break;
      }
      r.checksum += v >> 32;
      gets++;
    }
    if ((op & 0xFFF) == 0) ctx.run->checkpoint();
  }
  stages.verify();
  r.ops = ops;
  r.bytes_touched = ops * 2 * sizeof(Slot);  // the probe usually reads one or two slots
  r.distinct_pages = ops;                     // scattered slots: about one page per op
  for (uint64_t i = ctx.slice_begin(slots); i < ctx.slice_end(slots) && r.ok; i++) {
    if (table[i].key != 0 && (table[i].value & 0xFFFFFFFFull) != check_of(table[i].key)) r.fail("kv: slot check failed");
  }
  stages.done();
}

}  // namespace dmem::workloads
