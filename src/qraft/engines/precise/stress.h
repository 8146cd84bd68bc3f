// Stress scenarios: the same strategy replayed on data with injected events, to see that the
// engine never crashes or loses an order and how the metrics move.
//
// Scenarios (on bars [from, from + bars) of the calendar; `from` defaults to the middle bar,
// `bars` and `size` to the values in brackets):
//  * gap_crash [1 bar, 0.2]: every price from `from` on is scaled by 1 - size: the market
//    opens size below the last close and stays there.
//  * limit_lock [5 bars, 0.1]: each locked bar opens, trades and closes at the previous close
//    x (1 - size) (a limit-down lock: no sell can fill), later prices follow the fall.
//  * suspension [10 bars]: every other symbol (the 1st, 3rd, ...) has no bars.
//  * liquidity_drought [20 bars, 0.1]: volume x size (with a participation cap of 0.1 when the
//    run has none, so that volume binds).
//  * reject_burst [5 bars]: the exchange rejects every order arriving in the window.
//  * data_outage [3 bars]: no symbol has bars.
// The report holds the baseline and the stressed run, and the order accounting of the stressed
// one: every order submitted is filled, cancelled, rejected or still working at the end.
#pragma once

#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/engines/precise/run.h"

namespace qraft::precise {

struct StressOptions {
  std::string scenario;
  std::size_t from = static_cast<std::size_t>(-1);  ///< bar index; -1 = the middle bar
  std::size_t bars = 0;                             ///< 0 = the scenario's default
  double size = 0;                                  ///< 0 = the scenario's default
  PreciseOptions precise = {};
};

struct StressReport {
  std::string scenario;
  Timestamp from = 0, to = 0;  ///< first and last bar affected
  std::size_t bars = 0;
  double size = 0;
  PreciseResult baseline = {}, stressed = {};
  /// Orders of the stressed run by final state; they add up to its orders.
  std::int64_t filled = 0, cancelled = 0, rejected = 0, working = 0;
};

/// Names of the scenarios, in the order above.
std::vector<std::string> StressScenarios();

/// The data with the scenario injected (reject_burst leaves the data as it is).
Result<Panel> InjectStress(const Panel& data, const StressOptions& options);

/// Runs `spec` at `params` on `data` and on the stressed data. Errors: an unknown scenario, a
/// window outside the calendar, and RunPrecise's.
Result<StressReport> RunStress(const strategy::StrategySpec& spec, const Panel& data,
                               const strategy::ParamValues& params, const StressOptions& options);

/// {scenario, from, to, bars, size, baseline: {metrics, orders, fills, rejected}, stressed:
/// {...}, accounting: {filled, cancelled, rejected, working}, change: {metric: delta}}.
nlohmann::json ToJson(const StressReport& report, bool daily);

}  // namespace qraft::precise
