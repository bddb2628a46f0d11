// The bench suite's workloads: plain C++ run by "vCPU" threads on a range of
// memory they are given (a dmem region, or plain anonymous memory for the
// local-only baseline): the same code, the same threads, on both.
//
// Every thread of a run calls the workload with the same range and its own
// index. The threads meet at phase boundaries on a futex barrier kept in
// caller-shared memory (a SharedArrayBuffer), so a waiting thread leaves its
// CPU to the pager lanes instead of spinning. Each workload initialises its
// data (untimed), times only its measured phase between two barriers, then
// verifies its own result and reports ok = false when it does not hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dmem::workloads {

// Thrown at a checkpoint once the run was cancelled (Ctrl-C): the thread
// unwinds and reports cancelled; the others leave their barriers too.
struct Cancelled {};

// Words shared by the threads of one run (an Int32Array / Float64Array pair
// over one SharedArrayBuffer; layout in lib/bench/suite/sync-layout.ts).
//   int32[0]  barrier arrivals      int32[1]  barrier generation
//   int32[2]  stop (set by the coordinator to cancel)
//   int32[3]  stage: 1 init, 2 measured, 3 verify, 4 done (thread 0 writes,
//             the coordinator polls it to split the pager's stats by stage)
//   int32[4]  the last stage the coordinator sampled (it writes)
//   int32[5]  nonzero: the coordinator samples, and the measured phase
//             waits, its clock stopped, for its samples at its two ends
//   float64[8 + t]  per-thread partial (reductions), t < kMaxThreads
struct SyncWords {
  int32_t* words;
  double* partials;
};
constexpr uint32_t kMaxThreads = 64;
constexpr size_t kSyncBytes = 64 + kMaxThreads * 8;

class Run {
 public:
  Run(SyncWords sync, uint32_t thread, uint32_t threads) : sync_(sync), thread_(thread), threads_(threads) {}
  // Waits for every thread of the run; throws Cancelled when the run stops.
  void barrier();
  // Cheap: call every few thousand operations.
  void checkpoint() const {
    if (__atomic_load_n(&sync_.words[2], __ATOMIC_RELAXED) != 0) throw Cancelled{};
  }
  // Sum of one value from every thread (contains two barriers).
  double all_sum(double mine);
  uint32_t thread() const { return thread_; }
  uint32_t threads() const { return threads_; }
  void set_stage(int32_t stage) {
    if (thread_ == 0) __atomic_store_n(&sync_.words[3], stage, __ATOMIC_RELEASE);
  }
  // Announces `stage` and, when the coordinator samples, waits (every
  // thread: the call ends with a barrier) until it has sampled it.
  void enter_stage(int32_t stage);

 private:
  SyncWords sync_;
  uint32_t thread_;
  uint32_t threads_;
};

struct Context {
  uint8_t* base;
  size_t bytes;
  uint64_t seed;
  Run* run;
  const std::map<std::string, double>* params;
  double param(const char* name, double fallback) const {
    auto it = params->find(name);
    return it == params->end() ? fallback : it->second;
  }
  uint32_t thread() const { return run->thread(); }
  uint32_t threads() const { return run->threads(); }
  // [begin, end) of `count` items that this thread owns.
  size_t slice_begin(size_t count) const { return count * thread() / threads(); }
  size_t slice_end(size_t count) const { return count * (thread() + 1) / threads(); }
};

struct Result {
  uint64_t checksum = 0;
  bool ok = true;
  std::string message;  // why ok is false
  // Counters of the measured phase, for memory intensity.
  uint64_t ops = 0;
  uint64_t bytes_touched = 0;
  uint64_t distinct_pages = 0;  // this thread's share, estimated from the access pattern
  double init_ns = 0;
  double measured_ns = 0;
  double verify_ns = 0;
  void fail(const std::string& why) {
    if (ok) message = why;
    ok = false;
  }
};

using WorkloadFn = void (*)(const Context&, Result&);

// nullptr for an unknown name.
WorkloadFn find_workload(const std::string& name);
std::vector<std::string> workload_names();

// ---- shared helpers -------------------------------------------------------

double now_ns();

// Marks the three stages; each starts with a barrier so that the measured
// phase is the same span on every thread.
class Stages {
 public:
  Stages(const Context& ctx, Result& r);
  void measure();  // end of init, start of the measured phase
  void verify();   // end of the measured phase
  void done();

 private:
  const Context& ctx_;
  Result& r_;
  double t_;
};

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
};

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
  z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53ull;
  return z ^ (z >> 33);
}

// Zipf over ranks [0, n) with exponent theta (YCSB's generator, Gray et al.).
class Zipf {
 public:
  Zipf(uint64_t n, double theta);
  uint64_t next(Rng& rng) const;

 private:
  uint64_t n_;
  double theta_, alpha_, zetan_, eta_;
};

// Per-request CPU work standing in for a service's own computation (parsing,
// hashing, serialising): `rounds` dependent multiply-xorshift steps.
inline uint64_t busy_work(uint64_t x, uint32_t rounds) {
  for (uint32_t i = 0; i < rounds; i++) x = mix64(x + i);
  return x;
}

// Checksum of a byte range (FNV-1a over 8-byte words).
inline uint64_t hash_words(const uint64_t* p, size_t words) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < words; i++) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

constexpr size_t kPage = 4096;

}  // namespace dmem::workloads
