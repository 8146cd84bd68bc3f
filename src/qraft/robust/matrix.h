// MatrixView: a read-only view of T observations × k series (strategies, trials), the input shape
// of every robust statistic.
//
// Layout is column-major: series j occupies data[j*rows, (j+1)*rows), so one strategy's return or
// loss series is contiguous, as the sweep writes it and as the bootstrap reads it. The view does
// not own its data; the caller keeps it alive for the duration of the call.
#pragma once

#include <cstddef>
#include <span>

namespace qraft::robust {

struct MatrixView {
  std::span<const double> data;  // rows * cols values, column-major
  std::size_t rows = 0;          // T: observations (periods)
  std::size_t cols = 0;          // k: series (strategies, trials)

  std::span<const double> Column(std::size_t j) const { return data.subspan(j * rows, rows); }
  double operator()(std::size_t t, std::size_t j) const { return data[j * rows + t]; }
};

}  // namespace qraft::robust
