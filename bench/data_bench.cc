// Micro-benchmarks of the data layer's hot paths (Google Benchmark), with fixed inputs and a
// check that each computes what it should.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "qraft/core/hash.h"
#include "qraft/data/io/csv_reader.h"
#include "qraft/data/snapshot.h"

namespace {

// A sp500-like CSV of n rows.
std::string MakeCsv(std::size_t n) {
  std::string s = "date,open,high,low,close,volume,Name\n";
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(10, 500);
  for (std::size_t i = 0; i < n; ++i) {
    const qraft::CivilDate d = qraft::CivilFromDays(15744 + static_cast<std::int64_t>(i));
    const double c = u(rng);
    char line[160];
    std::snprintf(line, sizeof line, "%04d-%02d-%02d,%.4f,%.4f,%.4f,%.4f,%llu,AAPL\n", d.year,
                  d.month, d.day, c * 0.99, c * 1.01, c * 0.98, c,
                  static_cast<unsigned long long>(rng() % 100000000));
    s += line;
  }
  return s;
}

void BM_ParseCsv(benchmark::State& state) {
  const std::string text = MakeCsv(static_cast<std::size_t>(state.range(0)));
  qraft::data::io::CsvOptions o;
  for (auto _ : state) {
    auto t = qraft::data::io::ParseCsv(text, "bench.csv", "", o);
    if (!t.ok() || t->rows() != static_cast<std::size_t>(state.range(0)))
      state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(t);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseCsv)->Arg(1259)->Arg(100000);

void BM_SnapshotHash(benchmark::State& state) {
  const std::size_t S = static_cast<std::size_t>(state.range(0)), T = 1000;
  std::vector<std::string> syms;
  for (std::size_t i = 0; i < S; ++i)
    syms.push_back("S" + std::to_string(i));
  qraft::PanelBuilder b(qraft::Calendar::FromUnsorted([&] {
                          std::vector<qraft::Timestamp> t;
                          for (std::size_t i = 0; i < T; ++i)
                            t.push_back(static_cast<qraft::Timestamp>(i));
                          return t;
                        }()),
                        syms);
  for (const char* f : {"open", "high", "low", "close", "volume", "amount"}) {
    auto d = b.AddField(f);
    for (std::size_t i = 0; i < d.size(); ++i)
      d[i] = std::sqrt(static_cast<double>(i));
  }
  qraft::data::SnapshotContent c;
  c.market = "bench";
  c.panel = std::move(b).Build();
  for (auto _ : state)
    benchmark::DoNotOptimize(qraft::data::ComputeHashes(c));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * S * T * 6 * 8));
}
BENCHMARK(BM_SnapshotHash)->Arg(500)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
