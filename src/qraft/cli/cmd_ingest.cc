// qraft ingest PATH... --market NAME [options]
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/data/ingest.h"

namespace qraft::cli {
namespace {

struct IngestArgs {
  std::vector<std::string> paths;
  std::string market, market_file, freq, format = "auto";
  std::string mapping_file, time_col, date_col, clock_col, symbol_col, symbol, symbol_pattern;
  std::vector<std::string> fields, ignore;
  std::string date_format, epoch_unit = "auto", tz;
  std::string calendar, instruments, on_duplicate = "error", dividend_method = "prev_close";
  std::string continuous, roll_adjust = "back", contract_pattern;
  bool resample = false, strict = false, dry_run = false, json = false, quiet = false;
  StoreOptions store;
};

Result<data::IngestOptions> ToOptions(const IngestArgs& a) {
  data::IngestOptions o;
  for (const std::string& p : a.paths)
    o.paths.emplace_back(p);
  o.market = a.market;
  o.market_file = a.market_file;
  if (!a.freq.empty()) {
    QRAFT_ASSIGN_OR_RETURN(o.freq, Frequency::Parse(a.freq));
  }
  QRAFT_ASSIGN_OR_RETURN(o.format, data::ParseInputFormat(a.format));
  if (!a.mapping_file.empty()) {
    QRAFT_ASSIGN_OR_RETURN(o.mapping, data::LoadMappingFile(a.mapping_file));
  }
  data::ColumnMapping flags;
  flags.time = a.time_col;
  flags.date = a.date_col;
  flags.clock = a.clock_col;
  flags.symbol = a.symbol_col;
  flags.symbol_value = a.symbol;
  flags.symbol_pattern = a.symbol_pattern;
  flags.time_format = a.date_format;
  flags.epoch_unit = a.epoch_unit;
  flags.timezone = a.tz;
  flags.ignore = a.ignore;
  for (const std::string& f : a.fields) {
    const auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
      return Status::InvalidArgument(
          fmt::format("--field '{}': expected FIELD=COLUMN, e.g. close=PRICE", f));
    }
    flags.fields.emplace_back(f.substr(0, eq), f.substr(eq + 1));
  }
  QRAFT_RETURN_NOT_OK(ParseEpochUnit(a.epoch_unit).status());
  o.mapping.Overlay(flags);
  o.calendar_file = a.calendar;
  o.instruments_file = a.instruments;
  o.resample = a.resample;
  QRAFT_ASSIGN_OR_RETURN(o.on_duplicate, data::ParseDuplicatePolicy(a.on_duplicate));
  QRAFT_ASSIGN_OR_RETURN(o.dividend_method, data::ParseDividendMethod(a.dividend_method));
  if (!a.continuous.empty()) {
    data::ContinuousOptions base;
    if (!a.contract_pattern.empty()) base.contract_pattern = a.contract_pattern;
    QRAFT_ASSIGN_OR_RETURN(base.adjust, data::ParseRollAdjust(a.roll_adjust));
    QRAFT_ASSIGN_OR_RETURN(o.continuous, data::ParseRollRule(a.continuous, base));
  }
  o.strict = a.strict;
  return o;
}

int Run(const IngestArgs& a) {
  auto options = ToOptions(a);
  if (!options.ok()) return Fail(options.status());
  ThreadLimit limit(a.store.threads);
  std::unique_ptr<data::SnapshotStore> store;
  if (!a.dry_run) {
    auto s = a.store.Open();
    if (!s.ok()) return Fail(s.status());
    store = std::move(*s);
  }
  TerminalProgress progress;
  auto result = data::Ingest(*options, store.get(), progress);
  if (!result.ok()) return Fail(result.status());
  const data::SnapshotContent& c = result->content;
  const bool date_only = !c.freq.intraday();
  if (!a.quiet && !a.json) std::fputs(c.quality.ToText(date_only).c_str(), stderr);
  if (a.json) {
    const Panel& p = c.panel;
    nlohmann::json j = {
        {"snapshot_id", a.dry_run ? nlohmann::json(nullptr) : nlohmann::json(result->snapshot_id)},
        {"market", c.market},
        {"freq", c.freq.ToString()},
        {"symbols", p.num_symbols()},
        {"times", p.num_times()},
        {"rows", c.source_rows},
        {"start", p.num_times() ? FormatTimestamp(p.calendar().front(), date_only) : ""},
        {"end", p.num_times() ? FormatTimestamp(p.calendar().back(), date_only) : ""},
        {"fields", p.field_names()},
        {"quality", c.quality.ToJson(date_only)}};
    std::printf("%s\n", j.dump().c_str());
  } else if (a.dry_run) {
    std::printf("dry run: %zu symbols, %zu rows checked; no snapshot written\n",
                c.panel.num_symbols(), c.source_rows);
  } else {
    std::printf("%s\n", result->snapshot_id.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterIngest(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<IngestArgs>();
  CLI::App* cmd =
      app.add_subcommand("ingest", "Ingest market data files into a versioned snapshot");
  cmd->add_option("paths", a->paths, "Files or directories to ingest")->required();
  cmd->add_option("--market", a->market,
                  "Market name (us_stock, cn_stock, crypto_spot, crypto_perp, futures, or any)")
      ->required();
  cmd->add_option("--market-file", a->market_file,
                  "Market pack YAML to use instead of the built-in one");
  cmd->add_option("--freq", a->freq,
                  "Bar frequency: 1d, 1h, 5m, 1m, ... (default 1d or from file names)");
  cmd->add_option("--format", a->format, "auto, csv, parquet, arrow, qlib, binance, json");
  cmd->add_option("--mapping", a->mapping_file, "YAML column mapping file (see docs/data.md)");
  cmd->add_option("--time-col", a->time_col, "Column with the date/time");
  cmd->add_option("--date-col", a->date_col,
                  "Column with the date, when the time of day is separate");
  cmd->add_option("--clock-col", a->clock_col, "Column with the time of day (with --date-col)");
  cmd->add_option("--symbol-col", a->symbol_col, "Column with the symbol");
  cmd->add_option("--symbol", a->symbol, "Symbol for files without a symbol column");
  cmd->add_option("--symbol-pattern", a->symbol_pattern,
                  "Regex with one group taking the symbol from the file name");
  cmd->add_option("--field", a->fields, "FIELD=COLUMN mapping (repeatable), e.g. close=PRICE");
  cmd->add_option("--ignore", a->ignore, "Column to skip (repeatable)");
  cmd->add_option("--date-format", a->date_format,
                  "strptime-like format of the time column, e.g. %m/%d/%Y");
  cmd->add_option("--epoch-unit", a->epoch_unit, "Unit of integer times: auto, s, ms, us, ns");
  cmd->add_option("--tz", a->tz,
                  "Time zone of naive date-times in the files (default: the market's)");
  cmd->add_option("--calendar", a->calendar,
                  "Exchange calendar file (one date per line); default: union of dates");
  cmd->add_option("--instruments", a->instruments,
                  "Instruments file with listing spans (Qlib all.txt format)");
  cmd->add_flag("--resample", a->resample, "Aggregate finer rows into bars of --freq");
  cmd->add_option("--on-duplicate", a->on_duplicate,
                  "Rows with the same symbol and time but different values: error, first, last");
  cmd->add_option("--dividend-method", a->dividend_method,
                  "prev_close (CRSP/Yahoo) or ex_close (Quandl)");
  cmd->add_option("--continuous", a->continuous,
                  "Build continuous futures: held, volume, open_interest, calendar[:N]");
  cmd->add_option("--roll-adjust", a->roll_adjust,
                  "Continuous series adjustment: back, ratio, none");
  cmd->add_option("--contract-pattern", a->contract_pattern,
                  "Regex (root)(month code)(year) for per-contract symbols");
  cmd->add_flag("--strict", a->strict, "Treat quality warnings as errors");
  cmd->add_flag("--dry-run", a->dry_run, "Read and check only; write nothing");
  cmd->add_flag("--json", a->json, "Print a JSON object instead of the id");
  cmd->add_flag("--quiet", a->quiet, "Do not print the quality summary");
  a->store.Add(*cmd);
  cmd->callback([a, exit_code] { *exit_code = Run(*a); });
}

}  // namespace qraft::cli
