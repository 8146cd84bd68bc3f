#include "qraft/engines/results.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "qraft/core/file_io.h"
#include "qraft/core/hash.h"
#include "qraft/core/parallel.h"
#include "qraft/core/time.h"
#include "qraft/data/io/arrow_io.h"

namespace qraft::engines {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kFormat = "qraft-result-v1";
constexpr std::string_view kResultJson = "result.json";
constexpr std::string_view kEquityCsv = "equity.csv";
constexpr std::string_view kTradesCsv = "trades.csv";
constexpr std::string_view kEquityHeader = "time,equity,drawdown,exposure,turnover,fees,benchmark";
constexpr std::string_view kTradesHeader =
    "symbol,direction,entry_time,exit_time,entry_price,exit_price,size,pnl,ret,holding_bars,"
    "exit_reason";

// Files are written through core/file_io.h (temporary sibling, fsync, rename). Directories are
// fsync'ed once their files are in place, so the renames survive a crash too.

Status CreateDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot create: {}", dir.string(), ec.message()));
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Text forms.

// Shortest round-trip form; NaN as an empty cell.
std::string Cell(double v) {
  return std::isnan(v) ? std::string() : fmt::format("{}", v);
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// ISO-8601: a date for daily data, else "YYYY-MM-DDTHH:MM:SS[.f]Z"; empty for kNoTimestamp.
std::string TimeText(Timestamp t, bool daily) {
  if (t == kNoTimestamp) return "";
  if (daily && t == FloorToDay(t)) return FormatDate(t);
  std::string s = FormatDateTime(t);
  s[10] = 'T';
  return s + 'Z';
}

// A curve has a row per bar (2.6M for five years of minutes): rows are formatted straight into one
// buffer, and a day's date text is made once per day, not per row.
std::string EquityCsv(const CandidateDetail& d, bool daily, double initial_capital) {
  fmt::memory_buffer out;
  out.reserve(64 + d.curve.size() * 80);
  auto put = [&out](std::string_view text) { out.append(text.data(), text.data() + text.size()); };
  auto cell = [&](double v) {
    out.push_back(',');
    if (!std::isnan(v)) fmt::format_to(std::back_inserter(out), "{}", v);
  };
  put(kEquityHeader);
  out.push_back('\n');
  double peak = initial_capital;
  Timestamp day = kNoTimestamp;
  std::string date;
  for (const CurvePoint& p : d.curve) {
    const Timestamp rem = p.time - FloorToDay(p.time);
    if (p.time == kNoTimestamp || rem % kNanosPerSecond != 0) {
      put(TimeText(p.time, daily));  // sub-second stamps: rare, the general form
    } else {
      if (FloorToDay(p.time) != day) {
        day = FloorToDay(p.time);
        date = FormatDate(day);
      }
      put(date);
      if (!daily || rem != 0) {
        fmt::format_to(std::back_inserter(out), "T{:02d}:{:02d}:{:02d}Z", rem / kNanosPerHour,
                       rem % kNanosPerHour / kNanosPerMinute,
                       rem % kNanosPerMinute / kNanosPerSecond);
      }
    }
    peak = std::max(peak, p.equity);  // NaN equity leaves the peak alone
    cell(p.equity);
    cell(peak > 0 && std::isfinite(p.equity) ? p.equity / peak - 1 : kNaN);
    cell(p.exposure);
    cell(p.turnover);
    cell(p.fees);
    cell(p.benchmark);
    out.push_back('\n');
  }
  return fmt::to_string(out);
}

std::string TradesCsv(const CandidateDetail& d, bool daily) {
  std::string out(kTradesHeader);
  out += '\n';
  for (const TradeRow& t : d.trades) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", CsvField(t.symbol),
                       t.is_short ? "short" : "long", TimeText(t.entry_time, daily),
                       TimeText(t.exit_time, daily), Cell(t.entry_price), Cell(t.exit_price),
                       Cell(t.size), Cell(t.pnl), Cell(t.ret), t.holding_bars,
                       CsvField(t.exit_reason));
  }
  return out;
}

std::string MetricCell(const Metrics& m, const MetricField& f) {
  return f.count != nullptr ? fmt::format("{}", m.*(f.count)) : Cell(m.*(f.real));
}

double ParamOrNaN(const strategy::ParamValues& params, const std::string& name) {
  auto it = params.find(name);
  return it == params.end() ? kNaN : it->second;
}

std::string MetricsCsv(const SweepOutput& o, const std::vector<std::string>& hashes) {
  std::string out = "index,params_hash";
  for (const std::string& n : o.param_names)
    out += "," + CsvField(n);
  for (const MetricField& f : MetricFields())
    out += fmt::format(",{}", f.name);
  out += '\n';
  for (std::size_t i = 0; i < o.results.size(); ++i) {
    const CombinationResult& r = o.results[i];
    out += fmt::format("{},{}", i, hashes[i]);
    for (const std::string& n : o.param_names)
      out += "," + Cell(ParamOrNaN(r.params, n));
    for (const MetricField& f : MetricFields())
      out += "," + MetricCell(r.metrics, f);
    out += '\n';
  }
  return out;
}

std::vector<data::io::TableColumn> MetricsTable(const SweepOutput& o,
                                                const std::vector<std::string>& hashes) {
  const std::size_t n = o.results.size();
  std::vector<data::io::TableColumn> cols;
  std::vector<std::int64_t> index(n);
  for (std::size_t i = 0; i < n; ++i)
    index[i] = static_cast<std::int64_t>(i);
  cols.push_back({"index", std::move(index)});
  cols.push_back({"params_hash", hashes});
  for (const std::string& name : o.param_names) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i)
      v[i] = ParamOrNaN(o.results[i].params, name);
    cols.push_back({name, std::move(v)});
  }
  for (const MetricField& f : MetricFields()) {
    if (f.count != nullptr) {
      std::vector<std::int64_t> v(n);
      for (std::size_t i = 0; i < n; ++i)
        v[i] = o.results[i].metrics.*(f.count);
      cols.push_back({std::string(f.name), std::move(v)});
    } else {
      std::vector<double> v(n);
      for (std::size_t i = 0; i < n; ++i)
        v[i] = o.results[i].metrics.*(f.real);
      cols.push_back({std::string(f.name), std::move(v)});
    }
  }
  return cols;
}

// result.json with the documented key order, one result per line (a large sweep stays
// greppable and diffable, and is not tripled in size by indentation).
std::string ResultJson(const SweepOutput& o, const std::vector<std::string>& hashes) {
  auto indices = [](const std::vector<std::size_t>& v) { return nlohmann::json(v).dump(); };
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  std::string out = "{\n";
  auto key = [&](std::string_view k, const std::string& value) {
    out += fmt::format("  \"{}\": {},\n", k, value);
  };
  key("format", nlohmann::json(kFormat).dump());
  key("kind", nlohmann::json(o.kind).dump());
  key("dsl_hash", nlohmann::json(o.dsl_hash).dump());
  key("snapshot_id", nlohmann::json(o.snapshot_id).dump());
  key("strategy", o.strategy.dump());
  key("name", nlohmann::json(o.name).dump());
  key("objective", nlohmann::json(o.objective).dump());
  key("param_names", nlohmann::json(o.param_names).dump());
  key("combinations", std::to_string(o.results.size()));
  key("code_version", nlohmann::json(o.code_version).dump());
  key("periods_per_year", number(o.periods_per_year).dump());
  key("initial_capital", number(o.initial_capital).dump());
  key("top", indices(o.top));
  key("pareto", indices(o.pareto));
  key("pareto_objectives", nlohmann::json(o.pareto_objectives).dump());
  out += "  \"results\": [";
  for (std::size_t i = 0; i < o.results.size(); ++i) {
    const CombinationResult& r = o.results[i];
    out += i == 0 ? "\n    " : ",\n    ";
    out += fmt::format(
        "{{\"index\":{},\"params\":{},\"params_hash\":\"{}\",\"orders\":{},\"final_value\":{},"
        "{}\"metrics\":{}}}",
        i, nlohmann::json(r.params).dump(), hashes[i], r.orders, number(r.final_value).dump(),
        r.stopped ? "\"stopped\":true," : "", ToJson(r.metrics).dump());
  }
  out += o.results.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Status CheckIndices(const std::vector<std::size_t>& v, std::size_t n, std::string_view what) {
  for (std::size_t i : v) {
    if (i >= n) {
      return Status::InvalidArgument(
          fmt::format("result {}: index {} is out of range ({} combinations)", what, i, n));
    }
  }
  return Status::OK();
}

bool IsCandidateName(const std::string& name) {
  return name.size() == 16 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// ---------------------------------------------------------------------------------------------
// Reading.

Result<std::string> ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open", p.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("{}: read failed", p.string()));
  return ss.str();
}

// Checked access to result.json: every error names the file and the field's path.
class JsonFields {
 public:
  explicit JsonFields(const fs::path& file) : file_(file.string()) {}

  Status Bad(std::string_view field, std::string_view problem) const {
    return Status::InvalidArgument(fmt::format("{}: field '{}': {}", file_, field, problem));
  }
  /// `status` ("field '…': …") prefixed with the file.
  Status Wrap(const Status& status) const {
    return Status::InvalidArgument(fmt::format("{}: {}", file_, status.message()));
  }

  Result<const nlohmann::json*> Get(const nlohmann::json& obj, std::string_view key,
                                    std::string_view field) const {
    auto it = obj.find(key);
    if (it == obj.end()) return Bad(field, "missing");
    return &*it;
  }
  Result<std::string> String(const nlohmann::json& obj, std::string_view key,
                             std::string_view field) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, field));
    if (!v->is_string()) return Bad(field, fmt::format("expected a string, got {}", v->dump()));
    return v->get<std::string>();
  }
  // A number, or null for NaN.
  Result<double> Number(const nlohmann::json& v, std::string_view field) const {
    if (v.is_null()) return kNaN;
    if (!v.is_number())
      return Bad(field, fmt::format("expected a number or null, got {}", Short(v)));
    return v.get<double>();
  }
  Result<double> Number(const nlohmann::json& obj, std::string_view key,
                        std::string_view field) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, field));
    return Number(*v, field);
  }
  Result<std::int64_t> Integer(const nlohmann::json& v, std::string_view field) const {
    if (!v.is_number_integer())
      return Bad(field, fmt::format("expected an integer, got {}", Short(v)));
    return v.get<std::int64_t>();
  }
  Result<std::int64_t> Integer(const nlohmann::json& obj, std::string_view key,
                               std::string_view field) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, field));
    return Integer(*v, field);
  }
  Result<std::vector<std::string>> Strings(const nlohmann::json& obj, std::string_view key) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, key));
    if (!v->is_array()) return Bad(key, "expected an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) return Bad(fmt::format("{}[{}]", key, i), "expected a string");
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }
  Result<std::vector<std::size_t>> Indices(const nlohmann::json& obj, std::string_view key,
                                           std::size_t n) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, key));
    if (!v->is_array()) return Bad(key, "expected an array of combination indices");
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const nlohmann::json& x = (*v)[i];
      if (!x.is_number_unsigned() || x.get<std::uint64_t>() >= n) {
        return Bad(fmt::format("{}[{}]", key, i),
                   fmt::format("expected a combination index below {}, got {}", n, Short(x)));
      }
      out.push_back(x.get<std::size_t>());
    }
    return out;
  }

 private:
  static std::string Short(const nlohmann::json& v) {
    std::string s = v.dump();
    return s.size() > 40 ? s.substr(0, 37) + "..." : s;
  }
  std::string file_;
};

Result<CombinationResult> ReadCombination(const JsonFields& j, const nlohmann::json& row,
                                          std::size_t i, std::string* hash) {
  const std::string at = fmt::format("results[{}]", i);
  if (!row.is_object()) return j.Bad(at, "expected an object");
  CombinationResult r;
  QRAFT_ASSIGN_OR_RETURN(const std::int64_t index, j.Integer(row, "index", at + ".index"));
  if (index != static_cast<std::int64_t>(i)) {
    return j.Bad(at + ".index",
                 fmt::format("expected {} (results are in combination order), got {}", i, index));
  }
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* params, j.Get(row, "params", at + ".params"));
  if (!params->is_object()) return j.Bad(at + ".params", "expected an object of numbers");
  for (const auto& [name, value] : params->items()) {
    if (!value.is_number()) {
      return j.Bad(fmt::format("{}.params.{}", at, name),
                   fmt::format("expected a number, got {}", value.dump()));
    }
    r.params[name] = value.get<double>();
  }
  QRAFT_ASSIGN_OR_RETURN(*hash, j.String(row, "params_hash", at + ".params_hash"));
  if (*hash != ParamsHash(r.params)) {
    return j.Bad(at + ".params_hash",
                 fmt::format("'{}' does not match the params (their hash is '{}')", *hash,
                             ParamsHash(r.params)));
  }
  QRAFT_ASSIGN_OR_RETURN(r.orders, j.Integer(row, "orders", at + ".orders"));
  QRAFT_ASSIGN_OR_RETURN(r.final_value, j.Number(row, "final_value", at + ".final_value"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* metrics, j.Get(row, "metrics", at + ".metrics"));
  Result<Metrics> m = MetricsFromJson(*metrics, at + ".metrics");
  if (!m.ok()) return j.Wrap(m.status());
  r.metrics = *m;
  if (const auto it = row.find("stopped"); it != row.end()) {
    if (!it->is_boolean()) return j.Bad(at + ".stopped", "expected true or false");
    r.stopped = it->get<bool>();
  }
  return r;
}

// A candidate directory holds both files; a missing one is a malformed result, not a lookup.
Result<std::string> ReadCandidateFile(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return Status::InvalidArgument(fmt::format(
        "{}: missing (a candidate directory holds equity.csv and trades.csv)", file.string()));
  }
  return ReadText(file);
}

// A time cell of equity.csv or trades.csv; empty = kNoTimestamp when `optional`. *date_only is
// cleared by a time of day.
Result<Timestamp> TimeCell(const CsvTable& cells, const CsvRecord& r, std::size_t col,
                           bool optional, bool* date_only) {
  if (optional && r.fields[col].empty()) return kNoTimestamp;
  QRAFT_ASSIGN_OR_RETURN(const ParsedTime t, cells.Time(r, col));
  if (t.has_time) *date_only = false;
  return t.value;
}

Status ReadEquity(const fs::path& file, CandidateDetail& d, bool* date_only) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadCandidateFile(file));
  QRAFT_ASSIGN_OR_RETURN(const CsvTable cells, CsvTable::Parse(text, file));
  QRAFT_RETURN_NOT_OK(cells.ExpectHeader(kEquityHeader));
  d.curve.reserve(cells.rows());
  for (std::size_t k = 0; k < cells.rows(); ++k) {
    const CsvRecord& r = cells.row(k);
    QRAFT_RETURN_NOT_OK(cells.CheckWidth(r));
    CurvePoint p;
    QRAFT_ASSIGN_OR_RETURN(p.time, TimeCell(cells, r, 0, false, date_only));
    QRAFT_ASSIGN_OR_RETURN(p.equity, cells.Number(r, 1));
    QRAFT_RETURN_NOT_OK(cells.Number(r, 2));  // drawdown: derived from equity
    QRAFT_ASSIGN_OR_RETURN(p.exposure, cells.Number(r, 3));
    QRAFT_ASSIGN_OR_RETURN(p.turnover, cells.Number(r, 4));
    QRAFT_ASSIGN_OR_RETURN(p.fees, cells.Number(r, 5));
    QRAFT_ASSIGN_OR_RETURN(p.benchmark, cells.Number(r, 6));
    d.curve.push_back(p);
  }
  return Status::OK();
}

Status ReadTrades(const fs::path& file, CandidateDetail& d, bool* date_only) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadCandidateFile(file));
  QRAFT_ASSIGN_OR_RETURN(const CsvTable cells, CsvTable::Parse(text, file));
  QRAFT_RETURN_NOT_OK(cells.ExpectHeader(kTradesHeader));
  d.trades.reserve(cells.rows());
  for (std::size_t k = 0; k < cells.rows(); ++k) {
    const CsvRecord& r = cells.row(k);
    QRAFT_RETURN_NOT_OK(cells.CheckWidth(r));
    TradeRow t;
    t.symbol = r.fields[0];
    if (r.fields[1] != "long" && r.fields[1] != "short") return cells.Bad(r, 1, "long or short");
    t.is_short = r.fields[1] == "short";
    QRAFT_ASSIGN_OR_RETURN(t.entry_time, TimeCell(cells, r, 2, false, date_only));
    QRAFT_ASSIGN_OR_RETURN(t.exit_time, TimeCell(cells, r, 3, true, date_only));
    QRAFT_ASSIGN_OR_RETURN(t.entry_price, cells.Number(r, 4));
    QRAFT_ASSIGN_OR_RETURN(t.exit_price, cells.Number(r, 5));
    QRAFT_ASSIGN_OR_RETURN(t.size, cells.Number(r, 6));
    QRAFT_ASSIGN_OR_RETURN(t.pnl, cells.Number(r, 7));
    QRAFT_ASSIGN_OR_RETURN(t.ret, cells.Number(r, 8));
    QRAFT_ASSIGN_OR_RETURN(t.holding_bars, cells.Integer(r, 9));
    t.exit_reason = r.fields[10];
    d.trades.push_back(std::move(t));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<CsvRecord>> ParseCsvRecords(std::string_view text, const fs::path& file) {
  std::vector<CsvRecord> out;
  std::size_t line = 1, i = 0;
  while (i < text.size()) {
    CsvRecord rec{line, {}};
    std::string field;
    bool quoted = false, end = false;
    while (!end && i < text.size()) {
      const char c = text[i++];
      if (quoted) {
        if (c == '"') {
          if (i < text.size() && text[i] == '"') {
            field += '"';
            ++i;
          } else {
            quoted = false;
          }
        } else {
          line += c == '\n';
          field += c;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        rec.fields.push_back(std::move(field));
        field.clear();
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && i < text.size() && text[i] == '\n') ++i;
        ++line;
        end = true;
      } else {
        field += c;
      }
    }
    if (quoted) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: a quoted field is not closed", file.string(), rec.line));
    }
    rec.fields.push_back(std::move(field));
    if (!(rec.fields.size() == 1 && rec.fields[0].empty())) out.push_back(std::move(rec));
  }
  return out;
}

Result<CsvTable> CsvTable::Parse(std::string_view text, const fs::path& file) {
  CsvTable t;
  t.file_ = file.string();
  QRAFT_ASSIGN_OR_RETURN(t.records_, ParseCsvRecords(text, file));
  if (t.records_.empty()) return Status::InvalidArgument(fmt::format("{}: empty file", t.file_));
  return t;
}

Status CsvTable::ExpectHeader(std::string_view columns) const {
  if (fmt::format("{}", fmt::join(header().fields, ",")) == columns) return Status::OK();
  return Status::InvalidArgument(
      fmt::format("{}:{}: expected the header '{}'", file_, header().line, columns));
}

Result<std::size_t> CsvTable::Column(std::string_view name) const {
  const std::vector<std::string>& h = header().fields;
  const auto it = std::find(h.begin(), h.end(), name);
  if (it == h.end()) {
    return Status::InvalidArgument(
        fmt::format("{}:{}: missing the column '{}'", file_, header().line, name));
  }
  return static_cast<std::size_t>(it - h.begin());
}

Status CsvTable::CheckWidth(const CsvRecord& r) const {
  if (r.fields.size() == header().fields.size()) return Status::OK();
  return Status::InvalidArgument(fmt::format("{}:{}: expected {} fields, got {}", file_, r.line,
                                             header().fields.size(), r.fields.size()));
}

Status CsvTable::Bad(const CsvRecord& r, std::size_t col, std::string_view expected) const {
  return Status::InvalidArgument(fmt::format("{}:{}: field '{}': expected {}, got '{}'", file_,
                                             r.line, header().fields[col], expected,
                                             r.fields[col]));
}

Result<double> CsvTable::Number(const CsvRecord& r, std::size_t col, bool required) const {
  const std::string& s = r.fields[col];
  if (s.empty() && !required) return kNaN;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return Bad(r, col, required ? "a number" : "a number or nothing");
  }
  return v;
}

Result<std::int64_t> CsvTable::Integer(const CsvRecord& r, std::size_t col) const {
  const std::string& s = r.fields[col];
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return Bad(r, col, "an integer");
  }
  return v;
}

Result<ParsedTime> CsvTable::Time(const CsvRecord& r, std::size_t col) const {
  const std::optional<ParsedTime> t = ParseIsoDateTime(r.fields[col]);
  if (!t) return Bad(r, col, "an ISO-8601 date or UTC time");
  return *t;
}

std::string ParamsHash(const strategy::ParamValues& params) {
  // std::map iterates in key order and nlohmann::json objects are key-sorted, so the text is
  // canonical whatever order the parameters were given in.
  return Sha256Hex(nlohmann::json(params).dump()).substr(0, 16);
}

Status WriteResultDir(const fs::path& dir, const SweepOutput& output) {
  // Everything that can be wrong with the input is checked before the first file is written.
  if (output.kind != "backtest" && output.kind != "sweep") {
    return Status::InvalidArgument(
        fmt::format("result kind '{}': expected backtest or sweep", output.kind));
  }
  const std::size_t n = output.results.size();
  QRAFT_RETURN_NOT_OK(CheckIndices(output.top, n, "top"));
  QRAFT_RETURN_NOT_OK(CheckIndices(output.pareto, n, "pareto"));
  std::set<std::string> reserved = {"index", "params_hash"};
  for (const MetricField& f : MetricFields())
    reserved.emplace(f.name);
  for (const std::string& name : output.param_names) {
    if (!reserved.insert(name).second) {
      return Status::InvalidArgument(fmt::format(
          "parameter '{}': the metrics matrix already has a column of that name; rename the "
          "parameter",
          name));
    }
  }
  std::vector<std::string> hashes(n);
  for (std::size_t i = 0; i < n; ++i)
    hashes[i] = ParamsHash(output.results[i].params);
  std::set<std::string> kept;
  for (const CandidateDetail& d : output.details) {
    if (d.index >= n) {
      return Status::InvalidArgument(fmt::format(
          "result details: combination index {} is out of range ({} combinations)", d.index, n));
    }
    kept.insert(hashes[d.index]);
  }

  // Candidates first and result.json last: a reader that finds result.json finds its curves.
  QRAFT_RETURN_NOT_OK(CreateDirectory(dir));
  const fs::path candidates = dir / "candidates";
  if (!output.details.empty()) QRAFT_RETURN_NOT_OK(CreateDirectory(candidates));
  // Candidates are independent files: written side by side (minute curves are large).
  QRAFT_RETURN_NOT_OK(
      ParallelForStatus(output.details.size(), 1, [&](std::size_t i0, std::size_t i1) -> Status {
        for (std::size_t i = i0; i < i1; ++i) {
          const CandidateDetail& d = output.details[i];
          const fs::path cdir = candidates / hashes[d.index];
          QRAFT_RETURN_NOT_OK(CreateDirectory(cdir));
          QRAFT_RETURN_NOT_OK(WriteFileAtomically(
              cdir / kEquityCsv, EquityCsv(d, output.daily, output.initial_capital)));
          QRAFT_RETURN_NOT_OK(WriteFileAtomically(cdir / kTradesCsv, TradesCsv(d, output.daily)));
          QRAFT_RETURN_NOT_OK(FsyncPath(cdir, true));
        }
        return Status::OK();
      }));
  QRAFT_RETURN_NOT_OK(WriteFileAtomically(dir / "metrics.csv", MetricsCsv(output, hashes)));
  {
    const fs::path path = dir / "metrics.parquet";
    const fs::path tmp = TempSibling(path);
    Status st = data::io::WriteTableParquet(MetricsTable(output, hashes), tmp,
                                            {{"qraft.format", std::string(kFormat)},
                                             {"qraft.dsl_hash", output.dsl_hash},
                                             {"qraft.snapshot_id", output.snapshot_id}});
    if (!st.ok()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Status(st.code(), fmt::format("{}: {}", path.string(), st.message()));
    }
    QRAFT_RETURN_NOT_OK(PublishFile(tmp, path));
  }
  QRAFT_RETURN_NOT_OK(WriteFileAtomically(dir / kResultJson, ResultJson(output, hashes)));

  // Curves of an earlier run into the same directory that this run did not keep would read as
  // this run's: remove them (only our own <16 hex digits> directories).
  std::error_code ec;
  if (fs::is_directory(candidates, ec)) {
    for (const auto& e : fs::directory_iterator(candidates, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_directory() && IsCandidateName(name) && !kept.contains(name)) {
        std::error_code rm;
        fs::remove_all(e.path(), rm);
        if (rm) {
          return Status::IOError(fmt::format("{}: cannot remove a stale candidate: {}",
                                             e.path().string(), rm.message()));
        }
      }
    }
    QRAFT_RETURN_NOT_OK(FsyncPath(candidates, true));
  }
  return FsyncPath(dir, true);
}

Result<SweepOutput> ReadResultDir(const fs::path& dir) {
  const fs::path file = dir / kResultJson;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound(
        fmt::format("{}: not a result directory (no such directory)", dir.string()));
  }
  if (!fs::exists(file, ec)) {
    return Status::NotFound(
        fmt::format("{}: missing; is {} a result directory?", file.string(), dir.string()));
  }
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadText(file));
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: invalid JSON: {}", file.string(), e.what()));
  }
  const JsonFields j(file);
  if (!doc.is_object()) return j.Bad("(top level)", "expected an object");

  SweepOutput o;
  QRAFT_ASSIGN_OR_RETURN(const std::string format, j.String(doc, "format", "format"));
  if (format != kFormat) {
    return j.Bad("format", fmt::format("expected '{}', got '{}'", kFormat, format));
  }
  QRAFT_ASSIGN_OR_RETURN(o.kind, j.String(doc, "kind", "kind"));
  if (o.kind != "backtest" && o.kind != "sweep") {
    return j.Bad("kind", fmt::format("expected backtest or sweep, got '{}'", o.kind));
  }
  QRAFT_ASSIGN_OR_RETURN(o.dsl_hash, j.String(doc, "dsl_hash", "dsl_hash"));
  QRAFT_ASSIGN_OR_RETURN(o.snapshot_id, j.String(doc, "snapshot_id", "snapshot_id"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* strategy, j.Get(doc, "strategy", "strategy"));
  o.strategy = *strategy;
  QRAFT_ASSIGN_OR_RETURN(o.name, j.String(doc, "name", "name"));
  QRAFT_ASSIGN_OR_RETURN(o.objective, j.String(doc, "objective", "objective"));
  QRAFT_ASSIGN_OR_RETURN(o.param_names, j.Strings(doc, "param_names"));
  QRAFT_ASSIGN_OR_RETURN(o.code_version, j.String(doc, "code_version", "code_version"));
  QRAFT_ASSIGN_OR_RETURN(o.periods_per_year, j.Number(doc, "periods_per_year", "periods_per_year"));
  QRAFT_ASSIGN_OR_RETURN(o.initial_capital, j.Number(doc, "initial_capital", "initial_capital"));
  QRAFT_ASSIGN_OR_RETURN(const std::int64_t combinations,
                         j.Integer(doc, "combinations", "combinations"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* results, j.Get(doc, "results", "results"));
  if (!results->is_array()) return j.Bad("results", "expected an array");
  if (combinations < 0 || static_cast<std::size_t>(combinations) != results->size()) {
    return j.Bad("combinations",
                 fmt::format("{} does not match the {} results", combinations, results->size()));
  }
  const std::size_t n = results->size();
  QRAFT_ASSIGN_OR_RETURN(o.top, j.Indices(doc, "top", n));
  QRAFT_ASSIGN_OR_RETURN(o.pareto, j.Indices(doc, "pareto", n));
  QRAFT_ASSIGN_OR_RETURN(o.pareto_objectives, j.Strings(doc, "pareto_objectives"));
  std::vector<std::string> hashes(n);
  o.results.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    QRAFT_ASSIGN_OR_RETURN(CombinationResult r, ReadCombination(j, (*results)[i], i, &hashes[i]));
    o.results.push_back(std::move(r));
  }

  // Kept curves, in combination order.
  bool date_only = true;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    const fs::path cdir = dir / "candidates" / hashes[i];
    if (!seen.insert(hashes[i]).second || !fs::is_directory(cdir, ec)) continue;
    CandidateDetail d;
    d.index = i;
    QRAFT_RETURN_NOT_OK(ReadEquity(cdir / kEquityCsv, d, &date_only));
    QRAFT_RETURN_NOT_OK(ReadTrades(cdir / kTradesCsv, d, &date_only));
    o.details.push_back(std::move(d));
  }
  o.daily = date_only;
  return o;
}

}  // namespace qraft::engines
