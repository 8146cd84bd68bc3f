// Loads a snapshot into a Panel the way an engine does (data::GetData) and touches every value,
// `--repeat` times, in one process; prints one JSON line with the timings and peak memory.
//
//   load_panel STORE SNAPSHOT [--repeat N] [--fields a,b,c]
//
// The first load is "cold" only if the OS page cache was dropped beforehand; `make bench` reports
// the best of the warm repeats, which is what a research loop sees.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/data/api.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: load_panel STORE SNAPSHOT [--repeat N]\n");
    return 2;
  }
  int repeat = 5;
  std::vector<std::string> fields;
  for (int i = 3; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--fields") == 0) {
      for (std::string rest = argv[i + 1]; !rest.empty();) {
        const auto comma = rest.find(',');
        fields.push_back(rest.substr(0, comma));
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
      }
    }
  }
  auto store = qraft::data::OpenLocalStore(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<double> seconds;
  double checksum = 0;
  std::size_t cells = 0, num_fields = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    qraft::data::DataRequest req;
    req.snapshot = argv[2];
    req.fields = fields;
    auto panel = qraft::data::GetData(**store, req);
    if (!panel.ok()) {
      std::fprintf(stderr, "%s\n", panel.status().ToString().c_str());
      return 1;
    }
    // Touch every value so the load is real (page faults included), deterministically.
    double sum = 0;
    for (std::size_t f = 0; f < panel->num_fields(); ++f) {
      sum += qraft::ParallelReduce(
          panel->cells(), 1 << 20, 0.0,
          [&](std::size_t b, std::size_t e) {
            double s = 0;
            const double* x = panel->field(f).data();
            for (std::size_t i = b; i < e; ++i)
              s += std::isnan(x[i]) ? 0.0 : x[i];
            return s;
          },
          [](double a, double b) { return a + b; });
    }
    const auto t1 = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
    checksum = sum;
    cells = panel->cells();
    num_fields = panel->num_fields();
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double raw_bytes = static_cast<double>(cells) * static_cast<double>(num_fields) * 8.0;
  std::vector<double> warm(seconds.begin() + (seconds.size() > 1 ? 1 : 0), seconds.end());
  std::sort(warm.begin(), warm.end());
  std::printf(
      "%s\n",
      fmt::format(
          R"({{"first_s": {:.4f}, "warm_best_s": {:.4f}, "warm_median_s": {:.4f}, )"
          R"("peak_rss_bytes": {}, "raw_bytes": {:.0f}, "cells": {}, "fields": {}, "checksum": {:.6e}}})",
          seconds.front(), warm.front(), warm[warm.size() / 2],
          static_cast<long long>(ru.ru_maxrss) * 1024, raw_bytes, cells, num_fields, checksum)
          .c_str());
  return 0;
}
