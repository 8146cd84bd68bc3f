#include "qraft/data/ingest.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "qraft/core/hash.h"
#include "qraft/core/parallel.h"
#include "qraft/data/io/arrow_io.h"
#include "qraft/data/io/csv_reader.h"
#include "qraft/data/io/exchange_io.h"
#include "qraft/data/io/file_reader.h"
#include "qraft/data/io/qlib_io.h"
#include "qraft/data/market.h"

namespace qraft::data {
namespace fs = std::filesystem;
namespace {

const std::set<std::string>& DataExtensions() {
  static const std::set<std::string> kExt = {".csv",     ".tsv",   ".parquet", ".pq",
                                             ".feather", ".arrow", ".ipc",     ".json"};
  return kExt;
}

std::string_view FormatName(InputFormat f) {
  switch (f) {
    case InputFormat::kAuto:
      return "auto";
    case InputFormat::kCsv:
      return "csv";
    case InputFormat::kParquet:
      return "parquet";
    case InputFormat::kArrow:
      return "arrow";
    case InputFormat::kQlib:
      return "qlib";
    case InputFormat::kBinance:
      return "binance";
    case InputFormat::kJson:
      return "json";
  }
  return "?";
}

InputFormat FormatOf(const fs::path& p, InputFormat requested) {
  if (requested != InputFormat::kAuto && requested != InputFormat::kBinance) return requested;
  const std::string ext = io::DataExtension(p);
  if (ext == ".parquet" || ext == ".pq") return InputFormat::kParquet;
  if (ext == ".feather" || ext == ".arrow" || ext == ".ipc") return InputFormat::kArrow;
  if (ext == ".json") return InputFormat::kJson;
  return requested == InputFormat::kBinance ? InputFormat::kBinance : InputFormat::kCsv;
}

struct Input {
  fs::path path;
  InputFormat format;
};

Result<std::vector<Input>> ExpandPaths(const IngestOptions& opt) {
  std::vector<Input> out;
  for (const fs::path& p : opt.paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      if (opt.format == InputFormat::kQlib ||
          (opt.format == InputFormat::kAuto && io::IsQlibDir(p))) {
        out.push_back({p, InputFormat::kQlib});
        continue;
      }
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(p, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file() && DataExtensions().count(io::DataExtension(it->path())))
          files.push_back(it->path());
      }
      if (ec)
        return Status::IOError(
            fmt::format("{}: cannot list directory: {}", p.string(), ec.message()));
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        return Status::NotFound(fmt::format(
            "{}: no data files (csv, parquet, feather, json) in this directory", p.string()));
      }
      for (const fs::path& f : files)
        out.push_back({f, FormatOf(f, opt.format)});
    } else if (fs::exists(p, ec)) {
      if (opt.format == InputFormat::kQlib) {
        return Status::InvalidArgument(
            fmt::format("{}: --format qlib expects a Qlib data directory", p.string()));
      }
      out.push_back({p, FormatOf(p, opt.format)});
    } else {
      return Status::NotFound(fmt::format("{}: no such file or directory", p.string()));
    }
  }
  if (out.empty())
    return Status::InvalidArgument("nothing to ingest: give at least one file or directory");
  return out;
}

// SHA-256 of a file, or of a directory's files (sorted relative paths and their hashes).
Result<std::string> HashSource(const fs::path& p) {
  if (!fs::is_directory(p)) return Sha256FileHex(p);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(p)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  Sha256 h;
  for (const fs::path& f : files) {
    QRAFT_ASSIGN_OR_RETURN(std::string fh, Sha256FileHex(f));
    h.UpdateString(fs::relative(f, p).string());
    h.UpdateString(fh);
  }
  return ToHex(h.Finish());
}

std::uintmax_t SourceBytes(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p)) return fs::file_size(p, ec);
  std::uintmax_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(p, ec)) {
    if (e.is_regular_file()) n += e.file_size(ec);
  }
  return n;
}

}  // namespace

Result<InputFormat> ParseInputFormat(std::string_view name) {
  if (name == "auto") return InputFormat::kAuto;
  if (name == "csv") return InputFormat::kCsv;
  if (name == "parquet") return InputFormat::kParquet;
  if (name == "arrow" || name == "feather" || name == "ipc") return InputFormat::kArrow;
  if (name == "qlib") return InputFormat::kQlib;
  if (name == "binance") return InputFormat::kBinance;
  if (name == "json" || name == "freqtrade") return InputFormat::kJson;
  return Status::InvalidArgument(
      fmt::format("format '{}': expected auto, csv, parquet, arrow, qlib, binance or json", name));
}

Result<IngestResult> Ingest(const IngestOptions& opt, SnapshotStore* store, Progress& progress) {
  if (opt.market.empty())
    return Status::InvalidArgument("a market name is required (--market), e.g. us_stock");
  MarketSpec market;
  if (!opt.market_file.empty()) {
    QRAFT_ASSIGN_OR_RETURN(market, LoadMarketFile(opt.market_file));
    market.name = opt.market;
  } else {
    market = FindMarket(opt.market);
  }
  QRAFT_ASSIGN_OR_RETURN(const TimeZone market_tz, TimeZone::Find(market.timezone));
  TimeZone input_tz = market_tz;
  if (!opt.mapping.timezone.empty()) {
    QRAFT_ASSIGN_OR_RETURN(input_tz, TimeZone::Find(opt.mapping.timezone));
  }

  QRAFT_ASSIGN_OR_RETURN(std::vector<Input> inputs, ExpandPaths(opt));
  const bool has_qlib = std::any_of(inputs.begin(), inputs.end(), [](const Input& in) {
    return in.format == InputFormat::kQlib;
  });
  if (has_qlib && inputs.size() > 1) {
    return Status::InvalidArgument("a Qlib directory must be ingested on its own");
  }

  // Frequency: given, else from exchange file names, else daily.
  Frequency freq = Frequency::Daily();
  if (opt.freq) {
    freq = *opt.freq;
  } else {
    for (const Input& in : inputs) {
      auto name = io::ParseExchangeFileName(io::BareStem(in.path));
      if (name && name->freq) {
        freq = *name->freq;
        break;
      }
    }
  }
  if (freq.unit() == Frequency::Unit::kTick) {
    return Status::InvalidArgument(
        "--freq tick: tick and order-book data are not bars; ingest them as bars of a fixed "
        "frequency for now");
  }
  const bool read_daily = !freq.intraday() && !opt.resample;
  const TimeLabeler labeler(read_daily, input_tz);

  // Read every input in parallel; tables keep input order.
  std::vector<std::vector<SourceTable>> per_input(inputs.size());
  std::vector<std::string> hashes(inputs.size());
  std::optional<Calendar> qlib_calendar;
  std::vector<InstrumentSpan> qlib_instruments;
  progress.Start("read", inputs.size());
  Status read_status =
      ParallelForStatus(inputs.size(), 1, [&](std::size_t b, std::size_t e) -> Status {
        for (std::size_t i = b; i < e; ++i) {
          const Input& in = inputs[i];
          // Source hashes are provenance of a published snapshot; a dry run skips them. CSV files
          // are hashed from the same read that parses them; other formats read their own way.
          const bool csv = in.format == InputFormat::kCsv || in.format == InputFormat::kBinance;
          std::string* hash = store != nullptr ? &hashes[i] : nullptr;
          if (!csv && hash != nullptr) {
            QRAFT_ASSIGN_OR_RETURN(hashes[i], HashSource(in.path));
          }
          switch (in.format) {
            case InputFormat::kQlib: {
              QRAFT_ASSIGN_OR_RETURN(io::QlibData q, io::ReadQlibDir(in.path, freq, input_tz));
              per_input[i] = std::move(q.tables);
              // A Qlib directory is ingested on its own (checked above), so no race on these.
              qlib_calendar = std::move(q.calendar);
              qlib_instruments = std::move(q.instruments);
              break;
            }
            case InputFormat::kParquet:
            case InputFormat::kArrow: {
              QRAFT_ASSIGN_OR_RETURN(SourceTable t,
                                     io::ReadColumnarFile(in.path, opt.mapping, labeler));
              per_input[i].push_back(std::move(t));
              break;
            }
            case InputFormat::kJson: {
              QRAFT_ASSIGN_OR_RETURN(SourceTable t,
                                     io::ReadExchangeJson(in.path, opt.mapping, labeler));
              per_input[i].push_back(std::move(t));
              break;
            }
            default: {
              io::CsvOptions csv_options;
              csv_options.mapping = opt.mapping;
              csv_options.labeler = labeler;
              const std::string stem = io::BareStem(in.path);
              auto name = io::ParseExchangeFileName(stem);
              if (in.format == InputFormat::kBinance || (name && name->freq)) {
                csv_options.headerless_names = io::BinanceKlineColumns();
                if (name && csv_options.mapping.symbol.empty() &&
                    csv_options.mapping.symbol_value.empty() &&
                    csv_options.mapping.symbol_pattern.empty()) {
                  csv_options.mapping.symbol_value = name->symbol;
                }
              }
              QRAFT_ASSIGN_OR_RETURN(SourceTable t, io::ReadCsvFile(in.path, csv_options, hash));
              per_input[i].push_back(std::move(t));
            }
          }
          progress.Advance();
        }
        return Status::OK();
      });
  progress.Finish();
  QRAFT_RETURN_NOT_OK(read_status);

  SnapshotContent content;
  content.market = opt.market;
  content.freq = freq;
  content.timezone = market_tz.name();
  nlohmann::json sources = nlohmann::json::array();
  std::vector<SourceTable> tables;
  QualityReport notes;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::size_t rows = 0;
    for (SourceTable& t : per_input[i]) {
      rows += t.rows();
      for (const std::string& n : t.notes) {
        notes.Add({Severity::kInfo, "reader_note", "", "", kNoTimestamp, 1,
                   fmt::format("{}: {}", t.source, n)});
      }
      tables.push_back(opt.resample ? Resample(t, freq, TimeLabeler(!freq.intraday(), market_tz))
                                    : std::move(t));
    }
    content.source_rows += rows;
    sources.push_back({{"path", inputs[i].path.string()},
                       {"format", FormatName(inputs[i].format)},
                       {"sha256", hashes[i].empty() ? nlohmann::json() : nlohmann::json(hashes[i])},
                       {"bytes", SourceBytes(inputs[i].path)},
                       {"rows", rows}});
  }
  per_input.clear();

  AssembleOptions aopt;
  aopt.freq = freq;
  aopt.tz = market_tz;
  aopt.sessions = market.sessions;
  aopt.on_duplicate = opt.on_duplicate;
  if (!opt.calendar_file.empty()) {
    QRAFT_ASSIGN_OR_RETURN(Calendar cal, Calendar::Load(opt.calendar_file, market_tz));
    aopt.calendar = std::move(cal);
  } else if (qlib_calendar) {
    aopt.calendar = std::move(qlib_calendar);
  }
  progress.Start("align", 1);
  QRAFT_ASSIGN_OR_RETURN(Assembled assembled, Assemble(std::move(tables), aopt));
  progress.Advance();
  progress.Finish();

  nlohmann::json provenance = {
      {"sources", sources},
      {"options",
       {{"format", FormatName(opt.format)},
        {"resample", opt.resample},
        {"calendar", opt.calendar_file.empty() ? (aopt.calendar ? "qlib" : "union")
                                               : opt.calendar_file.string()},
        {"instruments", opt.instruments_file.empty() ? (qlib_instruments.empty() ? "data" : "qlib")
                                                     : opt.instruments_file.string()},
        {"market_pack", market.from_pack},
        {"sessions", market.sessions.size()}}}};

  Panel panel = std::move(assembled.panel);
  std::string factor_note;
  QRAFT_ASSIGN_OR_RETURN(panel, AddAdjustmentFactor(panel, opt.dividend_method, &factor_note));
  if (!factor_note.empty()) provenance["adjustment"] = factor_note;

  if (opt.continuous) {
    QRAFT_ASSIGN_OR_RETURN(ContinuousResult cont, BuildContinuous(panel, *opt.continuous));
    panel = std::move(cont.panel);
    nlohmann::json rolls = nlohmann::json::array();
    for (const RollEvent& r : cont.rolls) {
      rolls.push_back({{"symbol", r.symbol},
                       {"date", FormatTimestamp(r.time, !freq.intraday())},
                       {"from", r.from_contract},
                       {"to", r.to_contract},
                       {"old_price", r.old_price},
                       {"new_price", r.new_price},
                       {"gap", r.gap},
                       {"gap_source", r.same_day ? "same_day" : "close_to_close"}});
    }
    provenance["rolls"] = std::move(rolls);
    const ContinuousOptions& c = *opt.continuous;
    provenance["continuous"] = {
        {"rule", c.rule == RollRule::kHeld     ? "held"
                 : c.rule == RollRule::kVolume ? "volume"
                 : c.rule == RollRule::kOpenInterest
                     ? "open_interest"
                     : fmt::format("calendar:{}", c.days_before_expiry)},
        {"adjust", c.adjust == RollAdjust::kBack    ? "back"
                   : c.adjust == RollAdjust::kRatio ? "ratio"
                                                    : "none"},
        {"contract_pattern", c.rule == RollRule::kHeld ? "" : c.contract_pattern}};
  }
  content.panel = std::move(panel);

  if (!opt.instruments_file.empty()) {
    QRAFT_ASSIGN_OR_RETURN(content.instruments, LoadInstrumentsFile(opt.instruments_file));
  } else if (!qlib_instruments.empty()) {
    content.instruments = std::move(qlib_instruments);
  } else {
    content.instruments = DeriveInstruments(content.panel);
  }

  progress.Start("check", 1);
  content.quality = CheckPanel(content.panel, opt.quality, !freq.intraday());
  if (!opt.instruments_file.empty()) {
    content.quality.Append(CheckListings(content.panel, content.instruments, !freq.intraday()));
  }
  progress.Advance();
  progress.Finish();
  content.quality.Append(assembled.report);
  content.quality.Append(notes);
  content.quality.Sort();
  content.provenance = std::move(provenance);

  if (content.quality.Failed(opt.strict)) {
    return Status::DataError(fmt::format("ingest rejected{}; no snapshot was written\n{}",
                                         opt.strict ? " (--strict: warnings are failures)" : "",
                                         content.quality.ToText(!freq.intraday())));
  }
  IngestResult result;
  if (store != nullptr) {
    QRAFT_ASSIGN_OR_RETURN(result.snapshot_id, store->Publish(content, progress));
  }
  result.content = std::move(content);
  return result;
}

}  // namespace qraft::data
