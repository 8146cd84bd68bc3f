// Deterministic parallel loops (oneTBB underneath).
//
// Work over [0, n) is cut into chunks of `grain` items. Chunk boundaries depend only on n and
// grain, never on the number of threads or on scheduling, so anything computed per chunk is the
// same on 1 thread or 64; reductions combine per-chunk results in chunk order. That is how Qraft
// keeps "same inputs, bit-identical outputs, whatever the thread count".
//
// Thread count: by default oneTBB uses every core. ThreadLimit caps it for a scope (the CLI's
// --threads); it is the only process-wide setting and lives at the edge.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "qraft/core/status.h"

namespace qraft {

/// Number of chunks of `grain` covering n items.
inline std::size_t NumChunks(std::size_t n, std::size_t grain) {
  grain = std::max<std::size_t>(grain, 1);
  return (n + grain - 1) / grain;
}

/// Calls fn(begin, end) for every chunk [c * grain, min(n, (c + 1) * grain)), in parallel.
/// fn must only write state owned by its chunk.
template <class Fn>
void ParallelFor(std::size_t n, std::size_t grain, Fn&& fn) {
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t chunks = NumChunks(n, grain);
  if (chunks <= 1) {
    if (n > 0) fn(std::size_t{0}, n);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, chunks, 1),
      [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t c = r.begin(); c != r.end(); ++c) {
          fn(c * grain, std::min(n, (c + 1) * grain));
        }
      },
      tbb::simple_partitioner());
}

/// As ParallelFor, with fn returning Status. Every chunk runs; the result is the error of the
/// lowest-numbered failing chunk (deterministic), or OK.
template <class Fn>
Status ParallelForStatus(std::size_t n, std::size_t grain, Fn&& fn) {
  std::vector<Status> statuses(NumChunks(n, grain));
  grain = std::max<std::size_t>(grain, 1);
  ParallelFor(n, grain, [&](std::size_t b, std::size_t e) { statuses[b / grain] = fn(b, e); });
  for (Status& s : statuses) {
    if (!s.ok()) return std::move(s);
  }
  return Status::OK();
}

/// Deterministic reduction: map(begin, end) -> T per chunk, then combine(acc, chunk_result)
/// left to right in chunk order starting from `init`.
template <class T, class Map, class Combine>
T ParallelReduce(std::size_t n, std::size_t grain, T init, Map&& map, Combine&& combine) {
  grain = std::max<std::size_t>(grain, 1);
  std::vector<std::optional<T>> parts(NumChunks(n, grain));
  ParallelFor(n, grain, [&](std::size_t b, std::size_t e) { parts[b / grain].emplace(map(b, e)); });
  for (auto& p : parts)
    init = combine(std::move(init), std::move(*p));
  return init;
}

/// The number of threads parallel work may use now: the ThreadLimit in force, else every core.
inline std::size_t MaxParallelism() {
  return tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
}

/// Caps the worker threads for its lifetime (threads <= 0: no cap).
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads) {
    if (threads > 0) {
      control_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                       static_cast<std::size_t>(threads));
    }
  }

 private:
  std::unique_ptr<tbb::global_control> control_;
};

}  // namespace qraft
