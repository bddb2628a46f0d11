// heap: a managed-runtime-shaped VM. A large old generation (`oldFraction` of
// the footprint) written once and then rarely read; a young generation where
// the mutator allocates (a bump pointer cycling over it, as a copying nursery
// is reused after each minor collection) and reads recently allocated
// objects. Rarely an object is promoted (copied into the old generation) or
// an old one is read. Each thread owns a slice of both generations. Every
// object carries a checksum of its payload; every read checks it, and the end
// checks every object.
#include "workloads/workload.h"

namespace dmem::workloads {

namespace {
constexpr size_t kObjectWords = 32;  // 256 bytes: id, checksum, 30 payload words
struct Object {
  uint64_t id;
  uint64_t checksum;
  uint64_t payload[kObjectWords - 2];
};
void make(Object* o, uint64_t id) {
  o->id = id;
  for (size_t w = 0; w < kObjectWords - 2; w++) o->payload[w] = mix64(id * 64 + w);
  o->checksum = hash_words(o->payload, kObjectWords - 2) ^ id;
}
bool sound(const Object* o) { return o->checksum == (hash_words(o->payload, kObjectWords - 2) ^ o->id); }
}  // namespace

void heap(const Context& ctx, Result& r) {
  const size_t objects = ctx.bytes / sizeof(Object);
  Object* all = reinterpret_cast<Object*>(ctx.base);
  const size_t old_count = static_cast<size_t>(static_cast<double>(objects) * ctx.param("oldFraction", 0.75));
  Object* old_gen = all;
  Object* young = all + old_count;
  const size_t young_count = objects - old_count;
  const size_t olo = ctx.slice_begin(old_count), ohi = ctx.slice_end(old_count);
  const size_t ylo = ctx.slice_begin(young_count), yhi = ctx.slice_end(young_count);
  const double old_rate = ctx.param("oldRate", 0.0005), promote_rate = ctx.param("promoteRate", 0.0002);
  const uint32_t work = static_cast<uint32_t>(ctx.param("work", 200));
  const uint32_t reads = static_cast<uint32_t>(ctx.param("reads", 4));
  const uint64_t allocations = static_cast<uint64_t>(ctx.param("allocations", 200000)) / ctx.threads();
  Stages stages(ctx, r);
  uint64_t next_id = (static_cast<uint64_t>(ctx.thread()) << 40) + 1;
  for (size_t i = olo; i < ohi; i++) make(&old_gen[i], next_id++);
  for (size_t i = ylo; i < yhi; i++) make(&young[i], next_id++);  // the nursery's first cycle
  stages.measure();
  Rng rng(ctx.seed * 53 + ctx.thread());
  size_t cursor = ylo;
  uint64_t sink = 0, old_touches = 0;
  const size_t window = (yhi - ylo) / 2 > 0 ? (yhi - ylo) / 2 : 1;  // reads favour the newer half
  for (uint64_t a = 0; a < allocations && r.ok; a++) {
    make(&young[cursor], next_id++);
    sink += busy_work(next_id, work);
    for (uint32_t k = 0; k < reads; k++) {
      const size_t back = rng.below(window);
      const Object* o = &young[cursor >= ylo + back ? cursor - back : yhi - (ylo + back - cursor)];
      if (!sound(o)) r.fail("heap: a young object fails its checksum");
      sink += o->payload[k];
    }
    const double u = rng.uniform();
    if (u < old_rate) {
      old_touches++;
      if (!sound(&old_gen[olo + rng.below(ohi - olo)])) r.fail("heap: an old object fails its checksum");
    } else if (u < old_rate + promote_rate) {
      old_touches++;
      old_gen[olo + rng.below(ohi - olo)] = young[cursor];
    }
    cursor = cursor + 1 == yhi ? ylo : cursor + 1;
    if ((a & 0x3FF) == 0) ctx.run->checkpoint();
  }
  stages.verify();
  r.ops = allocations;
  r.bytes_touched = allocations * sizeof(Object) * (1 + reads);
  r.distinct_pages = (yhi - ylo) * sizeof(Object) / kPage + old_touches;
  r.checksum = sink;
  for (size_t i = olo; i < ohi && r.ok; i++)
    if (!sound(&old_gen[i])) r.fail("heap: old object " + std::to_string(i) + " fails its checksum");
  for (size_t i = ylo; i < yhi && r.ok; i++)
    if (!sound(&young[i])) r.fail("heap: young object " + std::to_string(i) + " fails its checksum");
  stages.done();
}

}  // namespace dmem::workloads
