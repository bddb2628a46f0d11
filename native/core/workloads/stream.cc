// stream: the STREAM triad a = b + s*c over three arrays filling the range,
// a few cyclic passes (each thread its slice). A cyclic scan larger than
// local memory is the worst case for any LRU-like replacement.
#include "workloads/workload.h"

namespace dmem::workloads {

void stream(const Context& ctx, Result& r) {
  const size_t n = ctx.bytes / (3 * sizeof(double));
  double* a = reinterpret_cast<double*>(ctx.base);
  double* b = a + n;
  double* c = b + n;
  const size_t lo = ctx.slice_begin(n), hi = ctx.slice_end(n);
  const int passes = static_cast<int>(ctx.param("passes", 3));
  Stages stages(ctx, r);
  for (size_t i = lo; i < hi; i++) {
    b[i] = static_cast<double>(i % 1000);
    c[i] = static_cast<double>(i % 7);
  }
  stages.measure();
  for (int p = 1; p <= passes; p++) {
    const double s = p;
    for (size_t i = lo; i < hi; i++) {
      a[i] = b[i] + s * c[i];
      if ((i & 0xFFFF) == 0) ctx.run->checkpoint();
    }
  }
  stages.verify();
  r.ops = static_cast<uint64_t>(passes) * (hi - lo);
  r.bytes_touched = r.ops * 3 * sizeof(double);
  r.distinct_pages = static_cast<uint64_t>(passes) * 3 * (hi - lo) * sizeof(double) / kPage;
  // Every value is a small integer, so the triad is exact in doubles.
  for (size_t i = lo; i < hi; i++) {
    const double want = static_cast<double>(i % 1000) + passes * static_cast<double>(i % 7);
    if (a[i] != want) {
      r.fail("stream: a[" + std::to_string(i) + "] = " + std::to_string(a[i]) + ", expected " + std::to_string(want));
      break;
    }
    r.checksum += static_cast<uint64_t>(a[i]);
  }
  stages.done();
}

}  // namespace dmem::workloads
