// pagerank: pull-based PageRank over a CSR graph of in-edges generated in the
// range (part of the footprint). Every vertex v has in-edges from v-1 (so no
// vertex dangles) and from sources drawn from a power law (source id ~ n*u^3:
// low ids are the popular ones). Rank mass is conserved each iteration: the
// ranks must still sum to 1.
#include <cmath>

#include "workloads/workload.h"

namespace dmem::workloads {

void pagerank(const Context& ctx, Result& r) {
  const uint32_t degree = static_cast<uint32_t>(ctx.param("degree", 8));
  const int iterations = static_cast<int>(ctx.param("iterations", 4));
  // Per vertex: offset (4) + edges (4*degree) + outdeg (4) + rank (8) + contrib (8).
  const size_t n = ctx.bytes / (24 + 4 * static_cast<size_t>(degree)) - 1;
  uint8_t* p = ctx.base;
  double* rank = reinterpret_cast<double*>(p);
  double* contrib = rank + n;
  uint32_t* offsets = reinterpret_cast<uint32_t*>(contrib + n);
  uint32_t* outdeg = offsets + n + 1;
  uint32_t* sources = outdeg + n;
  const size_t lo = ctx.slice_begin(n), hi = ctx.slice_end(n);
  Stages stages(ctx, r);
  for (size_t v = lo; v < hi; v++) outdeg[v] = 0;
  ctx.run->barrier();
  Rng rng(ctx.seed * 101 + ctx.thread());
  for (size_t v = lo; v < hi; v++) {
    offsets[v] = static_cast<uint32_t>(v * degree);
    uint32_t* in = sources + v * degree;
    in[0] = static_cast<uint32_t>((v + n - 1) % n);
    for (uint32_t j = 1; j < degree; j++) {
      const double u = rng.uniform();
      in[j] = static_cast<uint32_t>(static_cast<double>(n) * u * u * u) % n;
    }
    for (uint32_t j = 0; j < degree; j++) __atomic_fetch_add(&outdeg[in[j]], 1u, __ATOMIC_RELAXED);
    rank[v] = 1.0 / static_cast<double>(n);
  }
  if (hi == n) offsets[n] = static_cast<uint32_t>(n * degree);
  stages.measure();
  const double damping = 0.85, base = (1 - damping) / static_cast<double>(n);
  for (int it = 0; it < iterations; it++) {
    for (size_t v = lo; v < hi; v++) contrib[v] = rank[v] / outdeg[v];
    ctx.run->barrier();
    for (size_t v = lo; v < hi; v++) {
      double sum = 0;
      for (uint32_t e = offsets[v]; e < offsets[v + 1]; e++) sum += contrib[sources[e]];
      rank[v] = base + damping * sum;
      if ((v & 0x3FFF) == 0) ctx.run->checkpoint();
    }
    ctx.run->barrier();
  }
  stages.verify();
  r.ops = static_cast<uint64_t>(iterations) * (hi - lo) * degree;
  r.bytes_touched = static_cast<uint64_t>(iterations) * (hi - lo) * (4 + 4 * degree + 8 * degree + 24);
  r.distinct_pages = static_cast<uint64_t>(iterations) * ctx.bytes / kPage / ctx.threads();
  double mine = 0;
  for (size_t v = lo; v < hi; v++) mine += rank[v];
  const double total = ctx.run->all_sum(mine);
  if (std::fabs(total - 1.0) > 1e-6) r.fail("pagerank: ranks sum to " + std::to_string(total) + ", expected 1");
  r.checksum = static_cast<uint64_t>(mine * 1e12);
  stages.done();
}

}  // namespace dmem::workloads
