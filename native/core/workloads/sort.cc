// sort: 64-bit keys, each thread sorts its slice (std::sort: introsort, whose
// partitions have good locality). Verified sorted, with the same sum and xor
// of keys as before sorting.
#include <algorithm>

#include "workloads/workload.h"

namespace dmem::workloads {

void sort_keys(const Context& ctx, Result& r) {
  const size_t n = ctx.bytes / sizeof(uint64_t);
  uint64_t* keys = reinterpret_cast<uint64_t*>(ctx.base);
  const size_t lo = ctx.slice_begin(n), hi = ctx.slice_end(n);
  Stages stages(ctx, r);
  Rng rng(ctx.seed * 7919 + ctx.thread());
  uint64_t sum = 0, xr = 0;
  for (size_t i = lo; i < hi; i++) {
    keys[i] = rng.next();
    sum += keys[i];
    xr ^= keys[i];
  }
  stages.measure();
  std::sort(keys + lo, keys + hi);
  stages.verify();
  const size_t count = hi - lo;
  r.ops = count;
  uint64_t levels = 1;
  for (size_t m = count; m > 1; m >>= 1) levels++;
  r.bytes_touched = count * sizeof(uint64_t) * levels;  // ~one pass per partition level
  r.distinct_pages = count * sizeof(uint64_t) * levels / kPage;
  uint64_t sum2 = 0, xr2 = 0;
  for (size_t i = lo; i < hi; i++) {
    if (i > lo && keys[i - 1] > keys[i]) {
      r.fail("sort: keys out of order at " + std::to_string(i));
      break;
    }
    sum2 += keys[i];
    xr2 ^= keys[i];
  }
  if (r.ok && (sum2 != sum || xr2 != xr)) r.fail("sort: the sorted keys are not the keys that were generated");
  r.checksum = sum2 ^ xr2;
  stages.done();
}

}  // namespace dmem::workloads
