// The configuration of the quality gates (gates.yaml): how a sweep's history is split, which
// candidates are gated, the bootstrap, and each gate's threshold. GatesConfig{} is the shipped
// default; gates.yaml at the repository root spells the same values out (a test keeps them
// equal), and a run's own file overrides any of them (docs/gates.md).
//
// Splits. The sweep's bars are cut, in time order, into train, validation and holdout. The
// candidates are the best `candidates` by `objective` on the validation window; the statistics
// of the search (DSR, SPA, StepM) are computed on that window, PBO on train + validation, and the
// holdout is only ever reported on (out-of-sample IR, MinTRL), never used for choosing.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "qraft/core/status.h"
#include "qraft/core/time.h"

namespace qraft::gates {

struct Splits {
  /// Fractions of the bars (each in (0, 1), summing to 1), used when the dates are not given.
  double train = 0.6, validation = 0.2, holdout = 0.2;
  /// Start dates of the validation and holdout windows (UTC); kNoTimestamp = by fractions.
  Timestamp validation_start = kNoTimestamp, holdout_start = kNoTimestamp;
};

/// One gate's switch and threshold (its meaning per gate: docs/gates.md).
struct Threshold {
  bool enabled = true;
  double value = 0;
};

struct GatesConfig {
  std::string objective = "sharpe";  ///< a return-based metric (docs/metrics.md), maximised
  std::size_t candidates = 10;       ///< the best K on validation are gated
  Splits splits;
  /// SPA, StepM and the out-of-sample IR measure against: "equal_weight" (the universe bought
  /// and held in equal weights, rebalanced every bar) or "cash" (zero returns).
  std::string benchmark = "equal_weight";
  std::size_t bootstrap_reps = 1000;
  double block = 0;  ///< mean bootstrap block length in bars; 0 = Politis-White (automatic)
  std::uint64_t seed = 42;
  bool effective_trials = false;  ///< deflate by the effective number of trials (correlations)
  std::size_t pbo_blocks = 16;    ///< CSCV's S (even)
  /// SPA and StepM's statistic: "hansen2005" (studentized, floored; Hansen's test) or
  /// "arch_compat" (raw mean differentials, as the arch package). docs/gates.md compares their
  /// size: hansen2005 rejects about 10% of true nulls at 5%, arch_compat about 8%.
  std::string spa_mode = "hansen2005";
  double overlap_scale = 0.5;   ///< costs scaled by 1 -/+ this for the Top-N overlap
  std::size_t overlap_top = 5;  ///< N of the Top-N overlap

  Threshold dsr{true, 0.95};          ///< deflated Sharpe ratio >=
  Threshold spa{true, 0.05};          ///< Hansen's SPA consistent p-value <=
  Threshold stepm{true, 0.05};        ///< among StepM's superior models at this level
  Threshold pbo{true, 0.5};           ///< probability of backtest overfitting <=
  Threshold oos_ir{true, 0.0};        ///< holdout information ratio (annualised) >
  Threshold overlap{true, 0.7};       ///< Top-N overlap at both cost scales >=
  Threshold consistency{true, 0.02};  ///< fast vs precise relative difference <
  Threshold rerun{true, 0.0};         ///< largest relative difference of a fresh rerun <=
  Threshold min_trades{true, 20};     ///< closed trades over the whole run >=
  Threshold min_trl{true, 0.95};      ///< MinTRL at this confidence <= the in-sample length
};

/// Applies the YAML document `text` (named `source` in errors) over `base`: every key optional,
/// unknown keys and bad values are InvalidArgument naming source:line:column and what was
/// expected.
Result<GatesConfig> ParseGatesConfig(std::string_view text, std::string_view source,
                                     GatesConfig base = {});
/// Reads and parses a gates.yaml file (NotFound / IOError naming it).
Result<GatesConfig> LoadGatesConfig(const std::filesystem::path& path, GatesConfig base = {});

}  // namespace qraft::gates
