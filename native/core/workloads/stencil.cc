// stencil: 5-point Jacobi sweeps over a square grid of doubles, in row
// bands per thread, two grids swapped each sweep. The grid starts as a
// discretely harmonic function with small integer values, which the 5-point
// average leaves exactly unchanged: any lost or stale page shows.
#include <cmath>

#include "workloads/workload.h"

namespace dmem::workloads {

namespace {
double harmonic(size_t x, size_t y) {
  const double fx = static_cast<double>(x), fy = static_cast<double>(y);
  return fx * fx - fy * fy + fx + 2 * fy + 7;
}
}  // namespace

void stencil(const Context& ctx, Result& r) {
  const size_t side = static_cast<size_t>(std::sqrt(static_cast<double>(ctx.bytes / (2 * sizeof(double)))));
  double* grid[2] = {reinterpret_cast<double*>(ctx.base), reinterpret_cast<double*>(ctx.base) + side * side};
  const int sweeps = static_cast<int>(ctx.param("sweeps", 4));
  const size_t lo = ctx.slice_begin(side), hi = ctx.slice_end(side);
  Stages stages(ctx, r);
  for (size_t y = lo; y < hi; y++)
    for (size_t x = 0; x < side; x++) grid[0][y * side + x] = grid[1][y * side + x] = harmonic(x, y);
  stages.measure();
  // Blocked by 256 columns so that the three rows a sweep reads stay in cache.
  constexpr size_t kBlock = 256;
  for (int s = 0; s < sweeps; s++) {
    const double* in = grid[s & 1];
    double* out = grid[(s + 1) & 1];
    for (size_t x0 = 1; x0 < side - 1; x0 += kBlock) {
      const size_t x1 = x0 + kBlock < side - 1 ? x0 + kBlock : side - 1;
      for (size_t y = lo < 1 ? 1 : lo; y < hi && y < side - 1; y++) {
        for (size_t x = x0; x < x1; x++) {
          const size_t i = y * side + x;
          out[i] = (in[i - 1] + in[i + 1] + in[i - side] + in[i + side]) * 0.25;
        }
      }
      ctx.run->checkpoint();
    }
    ctx.run->barrier();
  }
  stages.verify();
  r.ops = static_cast<uint64_t>(sweeps) * (hi - lo) * side;
  r.bytes_touched = r.ops * 2 * sizeof(double);
  r.distinct_pages = static_cast<uint64_t>(sweeps) * 2 * (hi - lo) * side * sizeof(double) / kPage;
  const double* last = grid[sweeps & 1];
  for (size_t y = lo; y < hi && r.ok; y++) {
    for (size_t x = 0; x < side; x++) {
      const double v = last[y * side + x];
      if (v != harmonic(x, y)) {
        r.fail("stencil: cell (" + std::to_string(x) + "," + std::to_string(y) + ") = " + std::to_string(v) +
               ", expected " + std::to_string(harmonic(x, y)));
        break;
      }
      r.checksum += static_cast<uint64_t>(static_cast<int64_t>(v));
    }
  }
  stages.done();
}

}  // namespace dmem::workloads
