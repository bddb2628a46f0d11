// db: a database-shaped VM. A sorted index of (key, row, value) entries that
// the queries use all the time, over 256-byte rows that are mostly cold. The
// query mix: covering-index range aggregates (no row access), point reads and
// updates of recent rows (the last `hotFraction` of each shard), and rarely
// (`coldRate`) a point read of an old row. Sharded by thread. Each query does
// `work` rounds of CPU work standing in for parsing and planning. Rows carry
// a checksum and must agree with their index entry.
#include "workloads/workload.h"

namespace dmem::workloads {

namespace {
struct Entry {
  uint64_t key;
  uint32_t row;
  uint32_t value;
};
constexpr size_t kRowWords = 32;
struct Row {
  uint64_t key;
  uint64_t value;
  uint64_t version;
  uint64_t checksum;
  uint64_t columns[kRowWords - 4];
};
void write_row(Row* row, uint64_t key, uint64_t value, uint64_t version) {
  row->key = key;
  row->value = value;
  row->version = version;
  for (size_t c = 0; c < kRowWords - 4; c++) row->columns[c] = mix64(key * 131 + version * 7 + c);
  row->checksum = hash_words(row->columns, kRowWords - 4) ^ key ^ value;
}
bool row_ok(const Row* row) { return row->checksum == (hash_words(row->columns, kRowWords - 4) ^ row->key ^ row->value); }
size_t lower_bound(const Entry* index, size_t lo, size_t hi, uint64_t key) {
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (index[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
}  // namespace

void db(const Context& ctx, Result& r) {
  const size_t rows = (ctx.bytes - kPage) / (sizeof(Entry) + sizeof(Row));  // a page for rounding the index up
  Entry* index = reinterpret_cast<Entry*>(ctx.base);
  Row* table = reinterpret_cast<Row*>(ctx.base + ((rows * sizeof(Entry) + kPage - 1) / kPage) * kPage);
  const size_t lo = ctx.slice_begin(rows), hi = ctx.slice_end(rows);
  const size_t hot_lo = hi - static_cast<size_t>(static_cast<double>(hi - lo) * ctx.param("hotFraction", 0.1));
  const double cold_rate = ctx.param("coldRate", 0.001);
  const uint32_t work = static_cast<uint32_t>(ctx.param("work", 200));
  const uint32_t scan = static_cast<uint32_t>(ctx.param("scan", 32));
  const uint64_t queries = static_cast<uint64_t>(ctx.param("queries", 200000)) / ctx.threads();
  Stages stages(ctx, r);
  // Rows in key order (keys 2i+1), written in insertion order: recent = high keys.
  for (size_t i = lo; i < hi; i++) {
    const uint64_t key = 2 * i + 1;
    write_row(&table[i], key, i % 1000, 0);
    index[i] = Entry{key, static_cast<uint32_t>(i), static_cast<uint32_t>(i % 1000)};
  }
  stages.measure();
  Rng rng(ctx.seed * 61 + ctx.thread());
  uint64_t sink = 0, cold = 0;
  for (uint64_t q = 0; q < queries && r.ok; q++) {
    sink += busy_work(q * 0x9E37 + ctx.thread(), work);
    const uint32_t kind = static_cast<uint32_t>(rng.below(1000));
    const bool is_cold = rng.uniform() < cold_rate;
    if (!is_cold && kind < 850) {
      // Range aggregate over the covering index: SELECT SUM(value) WHERE key >= ?
      const size_t at = lower_bound(index, lo, hi, 2 * (lo + rng.below(hi - lo)) + 1);
      for (size_t e = at; e < at + scan && e < hi; e++) sink += index[e].value;
      continue;
    }
    cold += is_cold;
    const size_t i = is_cold ? lo + rng.below(hi - lo) : hot_lo + rng.below(hi - hot_lo);
    const size_t at = lower_bound(index, lo, hi, 2 * i + 1);
    Row* row = &table[index[at].row];
    if (!row_ok(row) || row->value != index[at].value) {
      r.fail("db: row " + std::to_string(i) + " fails its checksum or disagrees with the index");
      break;
    }
    if (!is_cold && kind >= 950) {
      const uint64_t value = (row->value + 1) % 1000;
      write_row(row, row->key, value, row->version + 1);
      index[at].value = static_cast<uint32_t>(value);
    }
    if ((q & 0x3FF) == 0) ctx.run->checkpoint();
  }
  stages.verify();
  r.ops = queries;
  r.bytes_touched = queries * (scan * sizeof(Entry) / 2 + 20 * 64);
  r.distinct_pages = (hi - lo) * sizeof(Entry) / kPage + (hi - hot_lo) * sizeof(Row) / kPage + cold;
  r.checksum = sink;
  for (size_t i = lo; i < hi && r.ok; i++) {
    const Row* row = &table[i];
    if (index[i].key != 2 * i + 1 || index[i].row != i || row->key != index[i].key || row->value != index[i].value || !row_ok(row))
      r.fail("db: row " + std::to_string(i) + " or its index entry is wrong");
  }
  stages.done();
}

}  // namespace dmem::workloads
