// phases: alternating sequential and random phases over the same words (each
// thread its slice), so that the best block size of every chunk changes over
// time: large while scanning, small while updating at random. Each phase adds
// 1 to words; the sum must equal the number of increments.
#include "workloads/workload.h"

namespace dmem::workloads {

void phases(const Context& ctx, Result& r) {
  const size_t n = ctx.bytes / sizeof(uint64_t);
  uint64_t* words = reinterpret_cast<uint64_t*>(ctx.base);
  const size_t lo = ctx.slice_begin(n), hi = ctx.slice_end(n);
  const int count = static_cast<int>(ctx.param("phases", 6));
  // Random updates per random phase, per thread.
  const uint64_t updates = static_cast<uint64_t>(ctx.param("updates", static_cast<double>(n / 64))) / ctx.threads();
  Stages stages(ctx, r);
  for (size_t i = lo; i < hi; i++) words[i] = 0;
  stages.measure();
  Rng rng(ctx.seed * 17 + ctx.thread());
  uint64_t increments = 0;
  for (int ph = 0; ph < count; ph++) {
    if (ph % 2 == 0) {
      for (size_t i = lo; i < hi; i++) words[i]++;
      increments += hi - lo;
      r.distinct_pages += (hi - lo) * sizeof(uint64_t) / kPage;
      r.bytes_touched += (hi - lo) * sizeof(uint64_t);
    } else {
      for (uint64_t u = 0; u < updates; u++) {
        words[lo + rng.below(hi - lo)]++;
        if ((u & 0xFFF) == 0) ctx.run->checkpoint();
      }
      increments += updates;
      r.distinct_pages += updates;
      r.bytes_touched += updates * sizeof(uint64_t);
    }
    ctx.run->checkpoint();
  }
  stages.verify();
  r.ops = increments;
  uint64_t sum = 0;
  for (size_t i = lo; i < hi; i++) sum += words[i];
  if (sum != increments) r.fail("phases: words sum to " + std::to_string(sum) + ", expected " + std::to_string(increments));
  r.checksum = sum;
  stages.done();
}

}  // namespace dmem::workloads
