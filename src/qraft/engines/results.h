// Result directories: what `qraft backtest --out` and `qraft sweep --out` leave behind, and what
// `qraft report` and the gates (issue 6) read back.
//
// Layout (every file written to a temporary name in DIR, fsync'ed and renamed, so a reader never
// sees a half-written file; the directory is created if missing, files of an earlier run with the
// same names are replaced):
//   DIR/result.json       {format: "qraft-result-v1", kind: "backtest"|"sweep", dsl_hash,
//                          snapshot_id, strategy (the DSL's canonical JSON), name, objective,
//                          param_names, combinations, code_version, periods_per_year,
//                          initial_capital, top: [combination indices, best first],
//                          pareto: [indices], pareto_objectives: [metric names],
//                          results: [{index, params, params_hash, orders, final_value,
//                          [stopped: true,] metrics}] (every combination, in combination
//                          order; `stopped` marks a combination the early stop cut at its
//                          warm-up)}
//   DIR/metrics.csv       one row per combination: index, params_hash, the parameters (in
//                          param_names order), then every metric of MetricFields() in order;
//                          NaN as an empty cell
//   DIR/metrics.parquet   the same columns (index int64, params_hash utf8, parameters float64,
//                          counts int64, other metrics float64 with null for NaN)
//   DIR/candidates/<params_hash>/equity.csv   time (ISO-8601 date for daily data, else
//                          ISO-8601 UTC), equity, drawdown (<= 0), exposure, turnover, fees,
//                          benchmark (empty when none); one row per bar
//   DIR/candidates/<params_hash>/trades.csv   symbol, direction (long|short), entry_time,
//                          exit_time (empty when open), entry_price, exit_price, size, pnl, ret,
//                          holding_bars, exit_reason (signal|stop_loss|take_profit|
//                          trailing_stop|rebalance|end)
// A candidate directory exists for each detail the run kept (the top N, see SweepOutput);
// candidate directories of an earlier run that this one did not keep are removed.
//
// params_hash: the first 16 hex digits of SHA-256 over the canonical JSON of the params object
// (keys sorted, numbers as nlohmann::json dumps them) — the key, together with snapshot_id and
// dsl_hash, under which results are cached and compared across runs.
//
// Thread-safety: plain values; WriteResultDir may run concurrently for distinct directories.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/engines/backtest.h"

namespace qraft::engines {

/// First 16 hex digits of SHA-256(canonical JSON of params).
std::string ParamsHash(const strategy::ParamValues& params);

struct SweepOutput {
  std::string kind = "sweep";  ///< "backtest" or "sweep"
  std::string name, dsl_hash, snapshot_id, code_version, objective = "sharpe";
  nlohmann::json strategy;  ///< StrategySpec::Canonical()
  std::vector<std::string> param_names;
  bool daily = true;  ///< dates vs timestamps in the CSVs
  double periods_per_year = kTradingDaysPerYear;
  double initial_capital = 1'000'000;
  std::vector<CombinationResult> results;  ///< in combination order
  std::vector<std::size_t> top;            ///< indices, best first
  std::vector<std::size_t> pareto;         ///< indices on the Pareto front
  std::vector<std::string> pareto_objectives;
  std::vector<CandidateDetail> details;  ///< kept curves and trades
};

/// RFC 4180 records of a whole CSV text, each with the line it starts on; blank lines are
/// skipped. InvalidArgument "FILE:LINE: a quoted field is not closed".
struct CsvRecord {
  std::size_t line = 0;
  std::vector<std::string> fields;
};
Result<std::vector<CsvRecord>> ParseCsvRecords(std::string_view text,
                                               const std::filesystem::path& file);

/// A CSV text with a header row, read back cell by cell: result files, order and fill logs,
/// returns matrices. Every error is an InvalidArgument naming file:line and the column.
/// Thread-safety: immutable once parsed.
class CsvTable {
 public:
  /// ParseCsvRecords, then "FILE: empty file" when there is not even a header.
  static Result<CsvTable> Parse(std::string_view text, const std::filesystem::path& file);

  const std::string& file() const { return file_; }
  const CsvRecord& header() const { return records_[0]; }
  std::size_t rows() const { return records_.size() - 1; }
  /// Data row k, 0-based (the header is not a row).
  const CsvRecord& row(std::size_t k) const { return records_[k + 1]; }

  /// The header is exactly `columns` (comma-separated).
  Status ExpectHeader(std::string_view columns) const;
  /// The index of the header column `name`.
  Result<std::size_t> Column(std::string_view name) const;
  /// The row has as many fields as the header.
  Status CheckWidth(const CsvRecord& r) const;
  /// "FILE:LINE: field 'COLUMN': expected EXPECTED, got 'CELL'".
  Status Bad(const CsvRecord& r, std::size_t col, std::string_view expected) const;
  /// The whole cell as a number (from_chars: "inf" and "nan" included); an empty cell is NaN
  /// unless `required`.
  Result<double> Number(const CsvRecord& r, std::size_t col, bool required = false) const;
  Result<std::int64_t> Integer(const CsvRecord& r, std::size_t col) const;
  /// An ISO-8601 date or date-time (ParseIsoDateTime).
  Result<ParsedTime> Time(const CsvRecord& r, std::size_t col) const;

 private:
  std::string file_;
  std::vector<CsvRecord> records_;  // the header first; never empty
};

/// Writes the layout above. IOError naming the file on failure (earlier files may then exist in
/// DIR, but none is half-written).
Status WriteResultDir(const std::filesystem::path& dir, const SweepOutput& output);

/// Reads result.json and every candidate directory (metrics.* are not needed: result.json holds
/// the same values). InvalidArgument naming the file and field for anything malformed.
Result<SweepOutput> ReadResultDir(const std::filesystem::path& dir);

}  // namespace qraft::engines
