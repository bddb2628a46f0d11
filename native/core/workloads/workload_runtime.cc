// Barrier, stage timing, Zipf and the workload registry.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstring>

#include "workloads/workload.h"

namespace dmem::workloads {

void stream(const Context&, Result&);
void kv(const Context&, Result&);
void pagerank(const Context&, Result&);
void sort_keys(const Context&, Result&);
void stencil(const Context&, Result&);
void phases(const Context&, Result&);
void gups(const Context&, Result&);
void kvcache(const Context&, Result&);
void heap(const Context&, Result&);
void db(const Context&, Result&);

namespace {
const std::pair<const char*, WorkloadFn> kWorkloads[] = {
    {"stream", stream}, {"kv", kv},     {"pagerank", pagerank}, {"sort", sort_keys}, {"stencil", stencil},
    {"phases", phases}, {"gups", gups}, {"kvcache", kvcache},   {"heap", heap},      {"db", db},
};

long futex(int32_t* word, int op, int32_t value, const timespec* timeout) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}
}  // namespace

WorkloadFn find_workload(const std::string& name) {
  for (const auto& [n, fn] : kWorkloads)
    if (name == n) return fn;
  return nullptr;
}

std::vector<std::string> workload_names() {
  std::vector<std::string> names;
  for (const auto& w : kWorkloads) names.emplace_back(w.first);
  return names;
}

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Generation barrier: the last arrival resets the count, then bumps the
// generation (release) and wakes the sleepers; the others sleep on the
// generation word until it changes. The count is reset before the bump, so a
// thread woken early cannot arrive at the next barrier into a stale count.
// Sleepers wake every 50 ms to see a cancellation.
void Run::barrier() {
  int32_t* count = &sync_.words[0];
  int32_t* generation = &sync_.words[1];
  int32_t gen = __atomic_load_n(generation, __ATOMIC_ACQUIRE);
  checkpoint();
  if (__atomic_add_fetch(count, 1, __ATOMIC_ACQ_REL) == static_cast<int32_t>(threads_)) {
    __atomic_store_n(count, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(generation, 1, __ATOMIC_RELEASE);
    futex(generation, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
    return;
  }
  const timespec tick{0, 50 * 1000 * 1000};
  while (__atomic_load_n(generation, __ATOMIC_ACQUIRE) == gen) {
    checkpoint();
    futex(generation, FUTEX_WAIT_PRIVATE, gen, &tick);
  }
}

double Run::all_sum(double mine) {
  barrier();  // nobody still reads the partials of a previous sum
  std::memcpy(&sync_.partials[thread_], &mine, sizeof mine);
  barrier();  // release/acquire through the generation word publishes every partial
  double sum = 0;
  for (uint32_t t = 0; t < threads_; t++) sum += sync_.partials[t];
  barrier();
  return sum;
}

void Run::enter_stage(int32_t stage) {
  set_stage(stage);
  if (thread_ == 0 && __atomic_load_n(&sync_.words[5], __ATOMIC_ACQUIRE) != 0) {
    // The coordinator polls every few ms; a late sample only blurs the
    // split, so give up after a second rather than stall a stuck run.
    const timespec nap{0, 100 * 1000};
    for (int i = 0; i < 10000 && __atomic_load_n(&sync_.words[4], __ATOMIC_ACQUIRE) < stage; i++) {
      checkpoint();
      nanosleep(&nap, nullptr);
    }
  }
  barrier();
}

Stages::Stages(const Context& ctx, Result& r) : ctx_(ctx), r_(r) {
  ctx_.run->barrier();
  ctx_.run->set_stage(1);
  t_ = now_ns();
}

// The measured phase's clock runs between the two stage changes' samples:
// the pager's counters split exactly at its ends.
void Stages::measure() {
  ctx_.run->barrier();
  r_.init_ns = now_ns() - t_;
  ctx_.run->enter_stage(2);
  t_ = now_ns();
}

void Stages::verify() {
  ctx_.run->barrier();
  const double t = now_ns();
  r_.measured_ns = t - t_;
  ctx_.run->enter_stage(3);
  t_ = now_ns();
}

void Stages::done() {
  ctx_.run->barrier();
  r_.verify_ns = now_ns() - t_;
  ctx_.run->set_stage(4);
}

Zipf::Zipf(uint64_t n, double theta) : n_(n), theta_(theta) {
  double zeta2 = 1.0 + std::pow(0.5, theta);
  zetan_ = 0;
  for (uint64_t i = 1; i <= n; i++) zetan_ += 1.0 / std::pow(static_cast<double>(i), theta);
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan_);
}

uint64_t Zipf::next(Rng& rng) const {
  double u = rng.uniform();
  double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
  uint64_t r = static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return r >= n_ ? n_ - 1 : r;
}

}  // namespace dmem::workloads
