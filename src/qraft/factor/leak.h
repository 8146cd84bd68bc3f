// Look-ahead (leak) check: a factor's value at time t must not change when data after t does.
//
// For each of a few cut points c, the program is evaluated (1) on the data truncated after c and
// (2) on the data with every bar after c perturbed (prices scaled by random factors, some bars
// removed); values at times <= c must equal the full-data values bit for bit (NaN equals NaN).
// Static checks already reject explicit future references (Ref(x, -k)); this catches look-ahead
// that hides in an operator's implementation or in data alignment.
//
// Thread-safety: pure function of its inputs; evaluations run in parallel internally.
#pragma once

#include <cstdint>
#include <string>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/expr/compiler.h"

namespace qraft::factor {

struct LeakCheckOptions {
  int cut_points = 6;       // spread over the second half of the calendar... and its start
  std::uint64_t seed = 42;  // perturbation
};

struct LeakReport {
  bool leak = false;
  int cut_points_checked = 0;
  std::size_t values_compared = 0;
  // The first difference found (when leak).
  std::string output;
  std::string symbol;
  Timestamp time = kNoTimestamp;
  Timestamp cut = kNoTimestamp;
  double full_value = 0;
  double changed_value = 0;
  std::string how;  // "truncated" or "perturbed"
  std::string ToText() const;
};

/// Errors: the program reads a field `data` lacks.
Result<LeakReport> CheckLookAhead(const expr::Program& program, const Panel& data,
                                  const LeakCheckOptions& options = {});

}  // namespace qraft::factor
