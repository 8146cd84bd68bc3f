// Latency model: how long an order takes to reach the exchange (insert), a cancel or replace to
// take effect (cancel), and market data to reach the strategy (market_data). Each is a constant,
// or drawn from a distribution with a seeded portable generator (SplitMix64), so a run is
// reproducible on every machine: uniform on [base, base + spread], or log-normal with median
// `base` and log-scale sigma `spread_sigma`. Orders only ever see data that has arrived: the
// strategy decides on bar t at its close + market_data, and what it sends arrives insert later.
//
// Thread-safety: LatencyModel is a value; a LatencyState belongs to one engine.
#pragma once

#include <cstdint>

#include "qraft/core/status.h"
#include "qraft/core/time.h"

namespace qraft::precise {

struct LatencyModel {
  enum class Kind : std::uint8_t { kConstant, kUniform, kLogNormal };
  Kind kind = Kind::kConstant;
  Timestamp insert = 0, cancel = 0, market_data = 0;  ///< ns (the base of each draw)
  Timestamp spread = 0;                               ///< kUniform: width of the uniform draw, ns
  double spread_sigma = 0.5;                          ///< kLogNormal: sigma of log(latency)
  std::uint64_t seed = 1;

  Status Validate() const;
};

/// The generator state of one run.
class LatencyState {
 public:
  explicit LatencyState(std::uint64_t seed) : state_(seed) {}
  /// A draw of a latency with base `base` under `model` (>= 0).
  Timestamp Draw(const LatencyModel& model, Timestamp base);

 private:
  double Uniform01();  // (0, 1)
  std::uint64_t state_;
};

}  // namespace qraft::precise
