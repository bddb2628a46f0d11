// gups: uniform random read-modify-write updates of 64-bit words over the
// whole range (HPCC RandomAccess). No locality at all: the adversarial case,
// reported apart from the suite average. Verified the HPCC way: applying the
// same updates again (untimed) must restore every word.
#include "workloads/workload.h"

namespace dmem::workloads {

namespace {
void apply(const Context& ctx, uint64_t* table, size_t n, uint64_t updates) {
  Rng rng(ctx.seed * 131 + ctx.thread());
  for (uint64_t u = 0; u < updates; u++) {
    const uint64_t v = rng.next();
    // Atomic xor: threads may hit the same word, and xor must not lose one.
    __atomic_fetch_xor(&table[rng.below(n)], v, __ATOMIC_RELAXED);
    if ((u & 0xFFF) == 0) ctx.run->checkpoint();
  }
}
}  // namespace

void gups(const Context& ctx, Result& r) {
  const size_t n = ctx.bytes / sizeof(uint64_t);
  uint64_t* table = reinterpret_cast<uint64_t*>(ctx.base);
  const uint64_t updates = static_cast<uint64_t>(ctx.param("updates", static_cast<double>(n / 4))) / ctx.threads();
  const size_t lo = ctx.slice_begin(n), hi = ctx.slice_end(n);
  Stages stages(ctx, r);
  for (size_t i = lo; i < hi; i++) table[i] = i;
  stages.measure();
  apply(ctx, table, n, updates);
  stages.verify();
  r.ops = updates;
  r.bytes_touched = updates * sizeof(uint64_t);
  r.distinct_pages = updates;  // uniform over a footprint of many more pages than updates hit twice
  for (size_t i = lo; i < hi; i += kPage / sizeof(uint64_t)) r.checksum ^= table[i];
  ctx.run->barrier();
  apply(ctx, table, n, updates);
  ctx.run->barrier();
  for (size_t i = lo; i < hi; i++) {
    if (table[i] != i) {
      r.fail("gups: word " + std::to_string(i) + " not restored by replaying the updates");
      break;
    }
  }
  stages.done();
}

}  // namespace dmem::workloads
