#include "qraft/data/io/csv_reader.h"

#include <fast_float/fast_float.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "qraft/data/io/file_reader.h"

namespace qraft::data::io {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Tokens that mean "no value" in the wild.
bool IsMissing(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > 4) return false;
  char lower[5] = {};
  for (std::size_t i = 0; i < s.size(); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
  const std::string_view l(lower, s.size());
  return l == "na" || l == "n/a" || l == "nan" || l == "null" || l == "none" || l == "-" ||
         l == "#n/a";
}

enum class NumberParse { kOk, kMissing, kBad, kInfinite };

NumberParse ParseNumber(std::string_view s, double& out) {
  // Fast path: a bare number, as nearly every cell is.
  if (!s.empty() &&
      ((s.front() >= '0' && s.front() <= '9') || s.front() == '-' || s.front() == '.')) {
    auto [ptr, ec] = fast_float::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && ptr == s.data() + s.size())
      return std::isfinite(out) ? NumberParse::kOk : NumberParse::kInfinite;
  }
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = Trim(s.substr(1, s.size() - 2));
  if (IsMissing(s)) {
    out = kNaN;
    return NumberParse::kMissing;
  }
  const char* first = s.data();
  if (*first == '+') ++first;  // fast_float rejects a leading '+'
  auto [ptr, ec] = fast_float::from_chars(first, s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) return NumberParse::kBad;
  if (!std::isfinite(out)) return NumberParse::kInfinite;
  return NumberParse::kOk;
}

bool AllDigits(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "09:30", "09:30:00", "0930", "093000", "09:30:00.5" -> nanoseconds after midnight.
bool ParseClock(std::string_view s, Timestamp& out) {
  s = Trim(s);
  int parts[3] = {0, 0, 0};
  int n = 0;
  std::size_t pos = 0;
  Timestamp frac = 0;
  if (s.find(':') != std::string_view::npos) {
    while (n < 3) {
      if (pos + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[pos])) ||
          !std::isdigit(static_cast<unsigned char>(s[pos + 1]))) {
        return false;
      }
      parts[n++] = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
      pos += 2;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        continue;
      }
      break;
    }
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      Timestamp scale = kNanosPerSecond / 10;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        frac += (s[pos++] - '0') * scale;
        scale /= 10;
      }
    }
    if (pos != s.size() || n < 2) return false;
  } else {
    if ((s.size() != 4 && s.size() != 6) || !AllDigits(s)) return false;
    for (std::size_t i = 0; i < s.size() / 2; ++i)
      parts[n++] = (s[2 * i] - '0') * 10 + (s[2 * i + 1] - '0');
  }
  if (parts[0] > 23 || parts[1] > 59 || parts[2] > 60) return false;
  out = parts[0] * kNanosPerHour + parts[1] * kNanosPerMinute + parts[2] * kNanosPerSecond + frac;
  return true;
}

// Splits one record into fields. Handles RFC 4180 quoting ("a ""b""", quoted delimiters and
// newlines). `pos` is advanced past the record's line end; `lines` counts physical lines consumed.
// Returns false at end of text. Quoted fields are returned with their quotes; Unquote() strips.
bool NextRecord(std::string_view text, std::size_t& pos, char delim,
                std::vector<std::string_view>& fields, std::uint32_t& lines, bool& bad_quote) {
  fields.clear();
  bad_quote = false;
  if (pos >= text.size()) return false;
  const char* base = text.data();
  const std::size_t end = text.size();
  lines = 1;
  std::size_t start = pos;
  // Fast path: one pass over the line, splitting at delimiters; a quote sends the line to the
  // slow path below. (Short lines make per-field memchr calls cost more than this loop.)
  {
    std::size_t i = pos;
    while (i < end) {
      const char c = base[i];
      if (c == delim) {
        fields.emplace_back(base + start, i - start);
        start = i + 1;
      } else if (c == '\n') {
        break;
      } else if (c == '"') {
        break;
      }
      ++i;
    }
    if (i == end || base[i] == '\n') {
      std::size_t stop = i;
      if (stop > start && base[stop - 1] == '\r') --stop;
      fields.emplace_back(base + start, stop - start);
      pos = i + 1;
      return true;
    }
    fields.clear();
    start = pos;
  }
  // Slow path with quotes.
  std::size_t i = pos;
  bool in_quotes = false;
  while (i < end) {
    const char c = base[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < end && base[i + 1] == '"') {
          i += 2;
          continue;
        }
        in_quotes = false;
      } else if (c == '\n') {
        ++lines;
      }
      ++i;
      continue;
    }
    if (c == '"') {
      if (i != start && Trim(std::string_view(base + start, i - start)).size() > 0)
        bad_quote = true;
      in_quotes = true;
      ++i;
    } else if (c == delim) {
      fields.emplace_back(base + start, i - start);
      start = ++i;
    } else if (c == '\n') {
      break;
    } else {
      ++i;
    }
  }
  if (in_quotes) bad_quote = true;
  std::size_t stop = i;
  if (stop > start && base[stop - 1] == '\r') --stop;
  fields.emplace_back(base + start, stop - start);
  pos = i + 1;
  return true;
}

std::string Unquote(std::string_view s) {
  s = Trim(s);
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
  std::string out;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    out += s[i];
    if (s[i] == '"' && s[i + 1] == '"') ++i;
  }
  return out;
}

char DetectDelimiter(std::string_view first_line) {
  const char candidates[] = {',', '\t', ';', '|'};
  char best = ',';
  std::size_t best_count = 0;
  for (char c : candidates) {
    const auto n = static_cast<std::size_t>(std::count(first_line.begin(), first_line.end(), c));
    if (n > best_count) {
      best = c;
      best_count = n;
    }
  }
  return best;
}

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t extra = c < 0x80           ? 0
                              : (c >> 5) == 0x6  ? 1
                              : (c >> 4) == 0xE  ? 2
                              : (c >> 3) == 0x1E ? 3
                                                 : 4;
    if (extra == 4 || i + extra >= s.size() + (extra == 0)) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7F) ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  if (s.size() > 40) out += "...";
  return out;
}

enum class TimeMode { kUnknown, kIso, kEpoch, kFormat };

}  // namespace

Result<SourceTable> ParseCsv(std::string_view text, std::string source, std::string file_symbol,
                             const CsvOptions& options) {
  SourceTable table;
  table.source = std::move(source);
  const std::string& src = table.source;

  if (text.find('\0') != std::string_view::npos) {
    return Status::DataError(fmt::format(
        "{}: file contains NUL bytes; expected UTF-8 or ASCII text (is it binary, or UTF-16 "
        "without a byte-order mark?)",
        src));
  }
  std::size_t pos = 0;
  std::uint32_t line_no = 0;
  // Skip leading blank lines.
  while (pos < text.size() && (text[pos] == '\n' || text[pos] == '\r')) {
    if (text[pos] == '\n') ++line_no;
    ++pos;
  }
  if (pos >= text.size()) {
    return Status::DataError(
        fmt::format("{}: file is empty; expected a header line and data rows", src));
  }
  const std::size_t first_nl = text.find('\n', pos);
  const std::string_view first_line = text.substr(
      pos, first_nl == std::string_view::npos ? std::string_view::npos : first_nl - pos);
  const char delim = options.delimiter ? options.delimiter : DetectDelimiter(first_line);

  std::vector<std::string_view> cells;
  std::vector<std::string> header;
  std::uint32_t consumed = 0;
  bool bad_quote = false;
  bool headerless = false;
  if (!options.headerless_names.empty()) {
    std::size_t p = pos;
    std::uint32_t l = 0;
    NextRecord(text, p, delim, cells, l, bad_quote);
    double v;
    headerless = !cells.empty() && ParseNumber(cells[0], v) == NumberParse::kOk;
  }
  if (headerless) {
    header = options.headerless_names;
  } else {
    NextRecord(text, pos, delim, cells, consumed, bad_quote);
    line_no += consumed;
    if (bad_quote)
      return Status::DataError(fmt::format("{}:{}: malformed quotes in header", src, line_no));
    for (std::string_view c : cells) {
      if (!IsValidUtf8(c)) {
        return Status::DataError(
            fmt::format("{}:{}: header is not valid UTF-8 ('{}'); expected UTF-8 or ASCII text",
                        src, line_no, Shown(c)));
      }
      header.push_back(Unquote(c));
    }
  }

  const ColumnMapping& mapping = options.mapping;
  QRAFT_ASSIGN_OR_RETURN(ColumnPlan plan, PlanColumns(header, mapping, src));
  if (plan.symbol_col < 0 && file_symbol.empty()) {
    return Status::DataError(
        fmt::format("{}: no symbol column found and no symbol given for the file", src));
  }
  const std::size_t ncols = header.size();

  // Field columns in order.
  std::vector<int> field_col_index(ncols, -1);
  for (std::size_t c = 0; c < ncols; ++c) {
    if (plan.roles[c] == ColumnRole::kField) {
      field_col_index[c] = static_cast<int>(table.field_names.size());
      table.field_names.push_back(plan.field_names[c]);
      table.fields.emplace_back();
    }
  }
  std::vector<bool> dropped(table.field_names.size(), false);

  // Rows estimated from the header's length; vectors grow if the guess is short.
  const std::size_t est_rows =
      (text.size() - pos) / std::max<std::size_t>(first_line.size(), 16) + 1;
  table.time.reserve(est_rows);
  table.symbol.reserve(est_rows);
  table.line.reserve(est_rows);
  for (auto& f : table.fields)
    f.reserve(est_rows);

  SymbolInterner interner(table);
  const std::uint32_t fixed_symbol = plan.symbol_col < 0 ? interner.Intern(file_symbol) : 0;

  TimeMode mode = TimeMode::kUnknown;
  std::optional<TimeFormat> format;
  if (!mapping.time_format.empty()) {
    QRAFT_ASSIGN_OR_RETURN(format, TimeFormat::Compile(mapping.time_format));
    mode = TimeMode::kFormat;
  }
  QRAFT_ASSIGN_OR_RETURN(const EpochUnit epoch_unit, ParseEpochUnit(mapping.epoch_unit));
  const TimeLabeler& labeler = options.labeler;
  bool first_row = true;
  const int time_col = plan.time_col >= 0 ? plan.time_col : plan.date_col;

  while (true) {
    const std::size_t record_start = pos;
    if (!NextRecord(text, pos, delim, cells, consumed, bad_quote)) break;
    line_no += 1;
    const std::uint32_t this_line = line_no;
    line_no += consumed - 1;
    if (cells.size() == 1 && Trim(cells[0]).empty()) continue;  // blank line
    if (bad_quote) return Status::DataError(fmt::format("{}:{}: malformed quotes", src, this_line));
    if (cells.size() != ncols) {
      const bool last = pos >= text.size();
      return Status::DataError(fmt::format(
          "{}:{}: expected {} fields (as in the header), got {}{}: '{}'", src, this_line, ncols,
          cells.size(), last && cells.size() < ncols ? " (truncated last line?)" : "",
          Shown(text.substr(record_start, std::min<std::size_t>(pos - record_start, 60)))));
    }

    // Time.
    const std::string_view ttext = Trim(cells[static_cast<std::size_t>(time_col)]);
    auto bad_time = [&](std::string_view expected) {
      return Status::DataError(fmt::format("{}:{}: column '{}': expected {}, got '{}'", src,
                                           this_line, header[static_cast<std::size_t>(time_col)],
                                           expected, Shown(ttext)));
    };
    if (mode == TimeMode::kUnknown) {
      if (ParseIsoDateTime(Unquote(ttext))) {
        mode = TimeMode::kIso;
      } else if (AllDigits(ttext)) {
        mode = TimeMode::kEpoch;
      } else {
        return bad_time(
            "a date such as 2013-02-08, a date-time, or an epoch number (or give --date-format)");
      }
    }
    Timestamp label;
    if (mode == TimeMode::kEpoch) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(ttext.data(), ttext.data() + ttext.size(), v);
      if (ec != std::errc() || p != ttext.data() + ttext.size())
        return bad_time("an integer epoch time like the first row");
      const std::optional<Timestamp> instant = EpochToTimestamp(v, epoch_unit);
      if (!instant) return bad_time("an epoch time between the years 1677 and 2262");
      label = labeler.FromInstant(*instant);
    } else {
      std::optional<ParsedTime> t;
      if (mode == TimeMode::kFormat) {
        t = format->Parse(Unquote(ttext));
        if (!t) return bad_time(fmt::format("a time in the format '{}'", mapping.time_format));
      } else {
        t = ParseIsoDateTime(ttext.front() == '"' ? std::string_view(Unquote(ttext)) : ttext);
        if (!t) return bad_time("a date or date-time like the first row");
      }
      if (plan.clock_col >= 0 && !t->has_time) {
        Timestamp clock;
        const std::string_view ctext = cells[static_cast<std::size_t>(plan.clock_col)];
        if (!ParseClock(ctext, clock)) {
          return Status::DataError(fmt::format(
              "{}:{}: column '{}': expected a time of day such as 09:30:00, got '{}'", src,
              this_line, header[static_cast<std::size_t>(plan.clock_col)], Shown(ctext)));
        }
        t->value += clock;
        t->has_time = true;
      }
      auto l = labeler.FromText(*t);
      if (!l.ok()) return l.status().WithContext(fmt::format("{}:{}", src, this_line));
      label = *l;
    }

    // Symbol.
    std::uint32_t sym = fixed_symbol;
    if (plan.symbol_col >= 0) {
      std::string_view s = Trim(cells[static_cast<std::size_t>(plan.symbol_col)]);
      std::string unq;
      if (!s.empty() && s.front() == '"') {
        unq = Unquote(s);
        s = unq;
      }
      if (s.empty()) {
        return Status::DataError(fmt::format("{}:{}: column '{}': symbol is empty", src, this_line,
                                             header[static_cast<std::size_t>(plan.symbol_col)]));
      }
      if (!IsValidUtf8(s)) {
        return Status::DataError(
            fmt::format("{}:{}: column '{}': symbol is not valid UTF-8 ('{}')", src, this_line,
                        header[static_cast<std::size_t>(plan.symbol_col)], Shown(s)));
      }
      sym = interner.Intern(s);
    }

    // Fields.
    for (std::size_t c = 0; c < ncols; ++c) {
      const int fi = field_col_index[c];
      if (fi < 0) continue;
      const auto f = static_cast<std::size_t>(fi);
      if (dropped[f]) continue;
      double v;
      const NumberParse r = ParseNumber(cells[c], v);
      if (r == NumberParse::kBad || r == NumberParse::kInfinite) {
        if (first_row && plan.optional[c] && r == NumberParse::kBad) {
          dropped[f] = true;  // a text column we do not know: leave it out, say so
          table.notes.push_back(fmt::format("ignored non-numeric column '{}'", header[c]));
          continue;
        }
        return Status::DataError(fmt::format(
            "{}:{}: column '{}': expected {}, got '{}'", src, this_line, header[c],
            r == NumberParse::kInfinite ? "a finite number" : "a number", Shown(cells[c])));
      }
      table.fields[f].push_back(v);
    }
    table.time.push_back(label);
    table.symbol.push_back(sym);
    table.line.push_back(this_line);
    first_row = false;
  }

  // Remove dropped columns.
  for (std::size_t f = table.field_names.size(); f-- > 0;) {
    if (dropped[f]) {
      table.field_names.erase(table.field_names.begin() + static_cast<std::ptrdiff_t>(f));
      table.fields.erase(table.fields.begin() + static_cast<std::ptrdiff_t>(f));
    }
  }
  if (table.rows() == 0) {
    return Status::DataError(fmt::format("{}: no data rows after the header", src));
  }
  return table;
}

Result<SourceTable> ReadCsvFile(const std::filesystem::path& path, const CsvOptions& options,
                                std::string* file_sha256) {
  QRAFT_ASSIGN_OR_RETURN(std::string text, ReadDecompressed(path, file_sha256));
  std::string file_symbol;
  if (options.mapping.symbol.empty()) {
    QRAFT_ASSIGN_OR_RETURN(file_symbol, SymbolFromFileName(path, options.mapping));
  }
  return ParseCsv(text, path.string(), std::move(file_symbol), options);
}

}  // namespace qraft::data::io
