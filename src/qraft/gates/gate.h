// The quality gates: which of a sweep's candidates are real (`qraft gate SWEEP_DIR`).
//
// RunGates, on a sweep's result directory and the snapshot it names:
//  1. re-runs every combination of the sweep from its fingerprints (strategy, snapshot, code) in
//     this process, keeping each one's per-bar returns: the T x N matrix of the search. The rerun
//     is the reproducibility gate: its metrics must equal the stored ones (difference 0).
//  2. cuts the bars into train, validation and holdout (GatesConfig::splits) and ranks the N
//     trials by the objective on validation; the best K are the candidates. The holdout never
//     takes part in choosing.
//  3. computes the statistics of the search on validation: each trial's Sharpe ratio, their
//     variance, the deflated Sharpe ratio (DSR) of each candidate for N trials (or the effective
//     number), Hansen's SPA (consistent p-value; hansen2005 mode) and Romano-Wolf's StepM
//     against the benchmark, with a seeded stationary bootstrap; PBO by CSCV on train +
//     validation.
//  4. re-runs the candidates on the precise engine: configured like the fast engine (two-stage
//     consistency) and with every cost scaled by 1 -/+ overlap_scale (Top-N overlap).
//  5. gives every candidate pass/fail per gate, with the figure, the threshold and a fixed
//     reason and hint (no LLM), and the holdout's information ratio and MinTRL.
// Everything is a pure function of the directory, the snapshot, the configuration (seed
// included) and the code: the same inputs give the same bytes, whatever the thread count.
//
// Thread-safety: RunGates may run concurrently on distinct directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/data/store.h"
#include "qraft/engines/precise/sensitivity.h"
#include "qraft/gates/config.h"
#include "qraft/strategy/dsl.h"

namespace qraft::gates {

/// One gate of one candidate. A disabled gate is not listed; a gate that cannot be evaluated
/// (e.g. a window too short) fails with the reason.
struct GateResult {
  std::string name;
  double value = 0;      ///< the figure (NaN when it could not be computed)
  double threshold = 0;  ///< the configured bound
  bool pass = false;
  std::string reason;  ///< why it passed or failed, with the figures
  std::string hint;    ///< what to try when it failed (empty when it passed)
};

struct CandidateGates {
  std::size_t index = 0;  ///< combination index in the sweep
  std::string id;         ///< params_hash
  strategy::ParamValues params;
  double objective = 0;  ///< on validation
  bool pass = false;     ///< every gate passed
  std::vector<GateResult> gates;
  double holdout_return = 0, holdout_sharpe = 0;  ///< for the report (annualised Sharpe)
};

/// A window of bars [begin, end) with its first and last bar times.
struct Window {
  std::size_t begin = 0, end = 0;
  Timestamp first = 0, last = 0;
  std::size_t size() const { return end - begin; }
};

struct GateReport {
  GatesConfig config;
  std::string snapshot_id, dsl_hash, code_version;
  std::size_t trials = 0;       ///< N: combinations searched
  double effective_trials = 0;  ///< N used by the DSR (= trials unless configured)
  Window train, validation, holdout;
  double periods_per_year = 0;
  bool daily = true;  ///< dates (daily bars) or UTC times in the text and JSON
  // The search on validation.
  double trial_sharpe_variance = 0;  ///< of the trials' per-bar Sharpe ratios
  double expected_max_sharpe = 0;    ///< SR0, per bar
  double block = 0;                  ///< mean bootstrap block length used
  double spa_lower = 0, spa_consistent = 0, spa_upper = 0, spa_se = 0;
  double rc_p = 0;                 ///< White's Reality Check p-value
  double spa_statistic = 0;        ///< Hansen's T (0: no trial beats the benchmark)
  std::string search_note;         ///< why SPA/StepM could not be computed, else empty
  std::vector<std::size_t> stepm;  ///< indices of StepM's superior trials
  // PBO on train + validation.
  double pbo = 0, pbo_prob_loss = 0, pbo_slope = 0, pbo_intercept = 0, pbo_r2 = 0;
  std::vector<double> pbo_logits;
  // The best candidate's DSR for 1..N trials (the curve of the report).
  std::vector<std::pair<std::size_t, double>> dsr_curve;
  // Costs scaled (precise engine) and the two-stage comparison.
  double overlap_low = 0, overlap_high = 0;
  /// The cost curve behind the overlap gate (all costs x 1 -/+ s, s/2), when it ran.
  std::optional<precise::SensitivityReport> sensitivity;
  std::vector<CandidateGates> candidates;  ///< best first by the validation objective
};

/// Runs the gates on the sweep in `sweep_dir` (its snapshot in `store`). Errors: a missing or
/// malformed directory (naming the file and field), a strategy whose dsl_hash does not match,
/// windows too short for the statistics (naming the window and the bars it has), the engines'.
Result<GateReport> RunGates(const data::SnapshotStore& store,
                            const std::filesystem::path& sweep_dir, const GatesConfig& config,
                            Progress& progress = NullProgress());

/// {config, snapshot_id, dsl_hash, code_version, trials, effective_trials, windows, search:
/// {...}, pbo: {...}, dsr_curve, candidates: [{id, params, pass, objective, gates: [{name,
/// value, threshold, pass, reason, hint}]}]} (docs/gates.md).
nlohmann::json ToJson(const GateReport& report);

/// Writes ToJson(report) to DIR/gates.json atomically, and the overlap gate's cost curve to
/// DIR/sensitivity.json when the directory has none yet (so `qraft report` draws the overlap
/// curve; a `qraft sensitivity` study already there is kept).
Status WriteGateReport(const std::filesystem::path& dir, const GateReport& report);

}  // namespace qraft::gates
