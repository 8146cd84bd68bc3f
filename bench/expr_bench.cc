// Times factor expressions over a stored snapshot in one process, the way a research loop runs
// them: load the fields (data::GetData, memory-mapped), compile the expressions together
// (expr::Compile), evaluate them (expr::Evaluate). Prints one JSON line.
//
//   expr_bench STORE SNAPSHOT --exprs FILE.tsv [--names A,B,...] [--semantics native|qlib]
//              [--repeat N] [--stream] [--dump FILE --dump-symbols A,B,...]
//
// FILE.tsv holds "#<TAB>name<TAB>expression" lines (src/qraft/expr/testdata/qlib/alpha158.tsv);
// --names keeps only those factors, in that order. Each of the N runs does load + compile +
// evaluate; the first is reported apart (first_s) and best_s / median_s are over the others.
//
// Results: by default every output is materialised as a Panel (expr::Evaluate(program, panel)),
// which is what a caller gets and what a peer's DataFrame is. With --stream the outputs go to a
// ResultSink that only folds a checksum, so they are never all resident (the memory benchmark).
// peak_rss_bytes is the process's ru_maxrss at the end, i.e. over every run; best_cpu_s is the
// CPU time (all threads) of the best run, to tell how many cores it actually got.
//
// --dump writes, after the timed runs, the outputs of the named symbols on the rows where the
// symbol has a bar: "symbol,date,<name>..." (NaN as empty), for checking values against a peer.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/core/time.h"
#include "qraft/data/api.h"
#include "qraft/expr/compiler.h"
#include "qraft/expr/evaluator.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time (user + system, all threads) of this process so far.
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "expr_bench: %s\n", msg.c_str());
  std::exit(1);
}

// Folds every finite value into a sum and counts the NaN; called concurrently for disjoint
// symbol ranges.
class ChecksumSink : public qraft::expr::ResultSink {
 public:
  qraft::Status Consume(std::size_t, std::size_t, std::size_t,
                        std::span<const double> values) override {
    double s = 0;
    std::size_t nan = 0;
    for (double v : values) {
      if (std::isfinite(v)) s += v;
      nan += std::isnan(v);
    }
    std::lock_guard<std::mutex> lock(mu_);
    sum_ += s;
    nan_ += nan;
    return qraft::Status::OK();
  }
  double sum() const { return sum_; }
  std::size_t nan() const { return nan_; }

 private:
  std::mutex mu_;
  double sum_ = 0;
  std::size_t nan_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(
        stderr,
        "usage: expr_bench STORE SNAPSHOT --exprs FILE.tsv [--names A,B] "
        "[--semantics native|qlib] [--repeat N] [--stream] [--dump FILE --dump-symbols A,B]\n");
    return 2;
  }
  std::string exprs_path, semantics_name = "qlib", dump_path;
  std::vector<std::string> names, dump_symbols;
  int repeat = 5;
  bool stream = false;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--stream") {
      stream = true;
    } else if (arg == "--exprs" && has_value) {
      exprs_path = argv[++i];
    } else if (arg == "--names" && has_value) {
      names = Split(argv[++i], ',');
    } else if (arg == "--semantics" && has_value) {
      semantics_name = argv[++i];
    } else if (arg == "--repeat" && has_value) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dump" && has_value) {
      dump_path = argv[++i];
    } else if (arg == "--dump-symbols" && has_value) {
      dump_symbols = Split(argv[++i], ',');
    } else {
      Die("unknown argument " + arg);
    }
  }
  auto semantics = qraft::expr::ParseSemantics(semantics_name);
  if (!semantics.ok()) Die(semantics.status().ToString());

  // The expressions, in the file's order or --names' order.
  std::vector<qraft::expr::ExprSpec> all;
  {
    std::ifstream in(exprs_path);
    if (!in) Die("cannot read " + exprs_path);
    for (std::string line; std::getline(in, line);) {
      const auto cols = Split(line, '\t');
      if (cols.size() >= 3) all.push_back({cols[1], cols[2]});
    }
  }
  std::vector<qraft::expr::ExprSpec> specs;
  if (names.empty()) {
    specs = all;
  } else {
    for (const std::string& n : names) {
      auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.name == n; });
      if (it == all.end()) Die("no factor named " + n + " in " + exprs_path);
      specs.push_back(*it);
    }
  }

  auto store = qraft::data::OpenLocalStore(argv[1]);
  if (!store.ok()) Die(store.status().ToString());
  qraft::expr::CompileOptions options;
  options.semantics = *semantics;

  // The fields the program reads (an untimed compile without data).
  std::vector<std::string> fields;
  {
    auto program = qraft::expr::Compile(specs, options);
    if (!program.ok()) Die(program.status().ToString());
    fields = program->fields();
  }

  struct Run {
    double load_s, compile_s, eval_s, total_s, cpu_s;
  };
  std::vector<Run> runs;
  double checksum = 0;
  std::size_t nan_cells = 0, nodes = 0, symbols = 0, times = 0;
  qraft::Panel values, bars;
  for (int r = 0; r < repeat; ++r) {
    values = qraft::Panel();
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    qraft::data::DataRequest req;
    req.snapshot = argv[2];
    req.fields = fields;
    auto panel = qraft::data::GetData(**store, req);
    if (!panel.ok()) Die(panel.status().ToString());
    const auto t1 = Clock::now();
    qraft::expr::CompileOptions opts = options;
    opts.known_fields = panel->field_names();
    auto program = qraft::expr::Compile(specs, opts);
    if (!program.ok()) Die(program.status().ToString());
    const auto t2 = Clock::now();
    if (stream) {
      ChecksumSink sink;
      qraft::Status st = qraft::expr::Evaluate(*program, *panel, sink);
      if (!st.ok()) Die(st.ToString());
      checksum = sink.sum();
      nan_cells = sink.nan();
    } else {
      auto out = qraft::expr::Evaluate(*program, *panel);
      if (!out.ok()) Die(out.status().ToString());
      values = std::move(*out);
    }
    const auto t3 = Clock::now();
    runs.push_back(
        {Seconds(t0, t1), Seconds(t1, t2), Seconds(t2, t3), Seconds(t0, t3), CpuSeconds() - cpu0});
    nodes = program->nodes().size();
    symbols = panel->num_symbols();
    times = panel->num_times();
    bars = std::move(*panel);
  }
  if (!stream) {
    // Outside the timed runs: a checksum of the last run's materialised values.
    checksum = 0;
    nan_cells = 0;
    for (std::size_t f = 0; f < values.num_fields(); ++f) {
      const auto x = values.field(f);
      for (double v : x) {
        if (std::isfinite(v)) checksum += v;
        nan_cells += std::isnan(v);
      }
    }
  }
  if (!dump_path.empty()) {
    if (stream) Die("--dump needs the materialised mode (no --stream)");
    std::FILE* f = std::fopen(dump_path.c_str(), "w");
    if (f == nullptr) Die("cannot write " + dump_path);
    std::fprintf(f, "symbol,date");
    for (const auto& n : values.field_names())
      std::fprintf(f, ",%s", n.c_str());
    std::fprintf(f, "\n");
    for (const std::string& sym : dump_symbols) {
      const auto s = values.symbols().Find(sym);
      if (!s) Die("no symbol " + sym);
      for (std::size_t t = 0; t < values.num_times(); ++t) {
        if (!bars.HasBar(*s, t)) continue;
        std::fprintf(f, "%s,%s", sym.c_str(), qraft::FormatDate(values.calendar()[t]).c_str());
        for (std::size_t k = 0; k < values.num_fields(); ++k) {
          const double v = values.at(k, *s, t);
          if (std::isnan(v)) {
            std::fprintf(f, ",");
          } else {
            std::fprintf(f, ",%.17g", v);
          }
        }
        std::fprintf(f, "\n");
      }
    }
    std::fclose(f);
  }

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::vector<Run> warm(runs.begin() + (runs.size() > 1 ? 1 : 0), runs.end());
  std::sort(warm.begin(), warm.end(),
            [](const Run& a, const Run& b) { return a.total_s < b.total_s; });
  const Run& best = warm.front();
  std::printf(
      "%s\n",
      fmt::format(
          R"({{"outputs": {}, "nodes": {}, "fields": {}, "symbols": {}, "times": {}, )"
          R"("semantics": "{}", "mode": "{}", "runs": {}, "first_s": {:.4f}, )"
          R"("best_s": {:.4f}, "median_s": {:.4f}, "best_load_s": {:.4f}, )"
          R"("best_compile_s": {:.4f}, "best_eval_s": {:.4f}, "best_cpu_s": {:.4f}, "peak_rss_bytes": {}, )"
          R"("checksum": {:.9e}, "nan_cells": {}}})",
          specs.size(), nodes, fields.size(), symbols, times, semantics_name,
          stream ? "stream" : "materialise", runs.size(), runs.front().total_s, best.total_s,
          warm[warm.size() / 2].total_s, best.load_s, best.compile_s, best.eval_s, best.cpu_s,
          static_cast<long long>(ru.ru_maxrss) * 1024, checksum, nan_cells)
          .c_str());
  return 0;
}
