#include "qraft/data/io/qlib_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "qraft/core/file_io.h"
#include "qraft/core/parallel.h"

namespace qraft::data::io {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kReservedPrefix = "_qlib_";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Windows device names Qlib refuses as directory names (qlib.utils.code_to_fname).
bool IsWindowsReserved(std::string_view code) {
  const std::string u = Upper(code);
  if (u == "CON" || u == "PRN" || u == "AUX" || u == "NUL") return true;
  return u.size() == 4 && (u.starts_with("COM") || u.starts_with("LPT")) && u[3] >= '0' &&
         u[3] <= '9';
}

// qlib.utils.code_to_fname followed by the storage's lower(): the features/ directory of a code.
std::string FeatureDirName(std::string_view symbol) {
  return Lower(IsWindowsReserved(symbol) ? std::string(kReservedPrefix) + std::string(symbol)
                                         : std::string(symbol));
}

// The inverse for a directory with no instruments line. Qlib's own fname_to_code uses
// str.lstrip("_qlib_"), which strips a character set ("_qlib_lpt1" -> "pt1"); we strip the exact
// prefix, and only in front of a reserved name, so this inverts FeatureDirName.
std::string SymbolFromDirName(std::string_view dir) {
  if (dir.starts_with(kReservedPrefix) && IsWindowsReserved(dir.substr(kReservedPrefix.size()))) {
    dir.remove_prefix(kReservedPrefix.size());
  }
  return Upper(dir);
}

bool IsPriceField(std::string_view f) {
  return f == "open" || f == "high" || f == "low" || f == "close" || f == "vwap";
}

// A factor prices can be divided by. NaN, zero and infinite factors leave the values unadjusted in
// both directions, so reading and writing stay exact inverses (dividing by them gives inf or NaN).
bool UsableFactor(double f) {
  return std::isfinite(f) && f != 0.0;
}

Status CheckFrequency(Frequency freq) {
  if (freq.unit() == Frequency::Unit::kTick || freq.unit() == Frequency::Unit::kSecond) {
    return Status::InvalidArgument(fmt::format(
        "frequency {}: Qlib directories hold minute (Nmin), day, week or month bars only",
        freq.ToString()));
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Files: one open and one read (or write) each.

// Reads a whole file with one open, fstat and read. `place(size)` returns where to put `size`
// bytes, or an error that refuses the size; the reader thus decodes in place, without a copy.
template <class Place>
Status ReadWholeFileInto(const fs::path& path, Place&& place) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path.string()));
    return Status::IOError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(err)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status::IOError(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode))
    return Status::IOError(fmt::format("{}: cannot read: not a regular file", path.string()));
  const auto size = static_cast<std::size_t>(st.st_size);
  Result<char*> dst = place(size);
  if (!dst.ok()) return dst.status();
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, *dst + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IOError(fmt::format("{}: read failed after {} of {} bytes{}", path.string(),
                                         done, size,
                                         n < 0 ? fmt::format(": {}", std::strerror(errno)) : ""));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::OK();
}

Result<std::string> ReadWholeFile(const fs::path& path) {
  std::string out;
  QRAFT_RETURN_NOT_OK(ReadWholeFileInto(path, [&](std::size_t n) -> Result<char*> {
    out.resize(n);
    return out.data();
  }));
  return out;
}

Status WriteWholeFile(const fs::path& path, const void* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr)
    return Status::IOError(
        fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
  const bool wrote = size == 0 || std::fwrite(data, 1, size, f) == size;
  if (std::fclose(f) != 0 || !wrote)
    return Status::IOError(fmt::format("{}: write failed", path.string()));
  return Status::OK();
}

float FloatFromLe(const char* p) {
  std::uint32_t u;
  std::memcpy(&u, p, 4);
  if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
  return std::bit_cast<float>(u);
}

// double -> float32, with ±inf beyond float32's range (a plain cast would be undefined there).
float ToFloat32(double v) {
  if (std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
    return v > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  }
  return static_cast<float>(v);
}

void FloatToLe(float v, char* p) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(v);
  if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
  std::memcpy(p, &u, 4);
}

// Calls fn(line_no, line) for every line (\n or \r\n), stripped of surrounding blanks; blank lines
// are skipped as Qlib's readers skip them. Stops at the first error.
template <class Fn>
Status ForEachLine(std::string_view text, Fn&& fn) {
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    if (line.empty()) continue;
    QRAFT_RETURN_NOT_OK(fn(line_no, line));
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Reading.

// Qlib calendar line -> Qraft timestamp. Non-intraday calendars are dates (a "00:00:00" time is
// allowed, as dump_bin writes it for week and month); intraday lines are naive times in `tz`.
Result<Calendar> ParseCalendar(const fs::path& path, std::string_view text, Frequency freq,
                               const TimeZone& tz) {
  std::vector<Timestamp> times;
  const bool intraday = freq.intraday();
  QRAFT_RETURN_NOT_OK(ForEachLine(text, [&](int no, std::string_view line) -> Status {
    const auto t = ParseIsoDateTime(line);
    if (!t) {
      return Status::DataError(fmt::format("{}:{}: expected a {} such as {}, got '{}'",
                                           path.string(), no, intraday ? "date-time" : "date",
                                           intraday ? "2020-01-02 09:30:00" : "2020-01-02", line));
    }
    Timestamp v = t->value;
    if (!intraday) {
      if (t->has_time && v != FloorToDay(v)) {
        return Status::DataError(
            fmt::format("{}:{}: expected a date in a {} calendar, got the time of day '{}'",
                        path.string(), no, QlibFreqName(freq), line));
      }
    } else if (!t->utc) {
      auto utc = tz.LocalToUtc(v);
      if (!utc.ok()) return utc.status().WithContext(fmt::format("{}:{}", path.string(), no));
      v = *utc;
    }
    if (!times.empty() && v <= times.back()) {
      return Status::DataError(
          fmt::format("{}:{}: '{}' is not after the previous line (a Qlib calendar is sorted and "
                      "its line number is the index .bin files refer to)",
                      path.string(), no, line));
    }
    times.push_back(v);
    return Status::OK();
  }));
  return Calendar(std::move(times));
}

// One start or end of an instruments line. Intraday: naive times are local to `tz`, and a bare date
// covers that whole local day (start = its first instant, end = its last).
Result<Timestamp> SpanTime(const ParsedTime& t, bool intraday, bool is_end, const TimeZone& tz) {
  if (!intraday) return FloorToDay(t.value);
  if (t.utc) return t.value;
  if (t.has_time) return tz.LocalToUtc(t.value);
  if (!is_end) return tz.LocalToUtc(t.value);
  QRAFT_ASSIGN_OR_RETURN(const Timestamp next_day, tz.LocalToUtc(t.value + kNanosPerDay));
  return next_day - 1;
}

Result<std::vector<InstrumentSpan>> ParseInstruments(const fs::path& path, std::string_view text,
                                                     bool intraday, const TimeZone& tz) {
  std::vector<InstrumentSpan> spans;
  QRAFT_RETURN_NOT_OK(ForEachLine(text, [&](int no, std::string_view line) -> Status {
    std::array<std::string_view, 3> parts;
    std::size_t n = 0;
    std::string_view rest = line;
    // Qlib reads columns 0..2 and ignores any further ones.
    while (n < 3) {
      const std::size_t tab = rest.find('\t');
      parts[n++] = rest.substr(0, tab);
      if (tab == std::string_view::npos) break;
      rest.remove_prefix(tab + 1);
    }
    if (n < 3 || parts[0].empty()) {
      return Status::DataError(fmt::format("{}:{}: expected SYMBOL<TAB>start<TAB>end, got '{}'",
                                           path.string(), no, line));
    }
    const auto a = ParseIsoDateTime(parts[1]);
    const auto b = ParseIsoDateTime(parts[2]);
    if (!a || !b) {
      return Status::DataError(fmt::format(
          "{}:{}: expected dates such as 2020-01-02 for start and end, got '{}' and '{}'",
          path.string(), no, parts[1], parts[2]));
    }
    auto start = SpanTime(*a, intraday, false, tz);
    auto end = SpanTime(*b, intraday, true, tz);
    if (!start.ok()) return start.status().WithContext(fmt::format("{}:{}", path.string(), no));
    if (!end.ok()) return end.status().WithContext(fmt::format("{}:{}", path.string(), no));
    if (*end < *start) {
      return Status::DataError(
          fmt::format("{}:{}: end {} is before start {}", path.string(), no, parts[2], parts[1]));
    }
    spans.push_back({std::string(parts[0]), *start, *end});
    return Status::OK();
  }));
  std::sort(spans.begin(), spans.end(), [](const InstrumentSpan& x, const InstrumentSpan& y) {
    return x.symbol != y.symbol ? x.symbol < y.symbol : x.start < y.start;
  });
  return spans;
}

// One features/<dir>/<field>.<freq>.bin: data[0] is the start index, data[1..] the values.
struct FeatureFile {
  std::string field;
  std::size_t start = 0;
  std::vector<float> data;
  std::size_t count() const { return data.size() - 1; }
};

Result<FeatureFile> ReadFeatureFile(const fs::path& path, std::string field,
                                    const Calendar& calendar, const fs::path& calendar_path) {
  FeatureFile out;
  out.field = std::move(field);
  QRAFT_RETURN_NOT_OK(ReadWholeFileInto(path, [&](std::size_t n) -> Result<char*> {
    if (n < 4 || n % 4 != 0) {
      return Status::DataError(
          fmt::format("{}: {} bytes; expected a multiple of 4 and at least 4 (float32 start index, "
                      "then float32 values)",
                      path.string(), n));
    }
    out.data.resize(n / 4);
    return reinterpret_cast<char*>(out.data.data());
  }));
  if constexpr (std::endian::native == std::endian::big) {
    for (float& v : out.data)
      v = FloatFromLe(reinterpret_cast<const char*>(&v));
  }
  const float start = out.data[0];
  if (!(start >= 0.0f) || !std::isfinite(start) || start != std::floor(start)) {
    return Status::DataError(
        fmt::format("{}: start index {} is not a non-negative integer (the first float32 is the "
                    "calendar index of the first value)",
                    path.string(), start));
  }
  // In double, so a huge start index is reported rather than overflowing the cast.
  if (static_cast<double>(start) + static_cast<double>(out.count()) >
      static_cast<double>(calendar.size())) {
    return Status::DataError(fmt::format(
        "{}: values for calendar indices {}..{} run past the end of {} ({} entries, last index {})",
        path.string(), start,
        static_cast<double>(start) + static_cast<double>(out.count()) - (out.count() > 0 ? 1 : 0),
        calendar_path.string(), calendar.size(), static_cast<std::int64_t>(calendar.size()) - 1));
  }
  out.start = static_cast<std::size_t>(start);
  return out;
}

// Reads one features/<dir>: every <field>.<freq>.bin. Empty table (no rows, no fields) when the
// directory has no file for this frequency.
Result<SourceTable> ReadSymbolDir(const fs::path& sym_dir, const std::string& suffix,
                                  const Calendar& calendar, const fs::path& calendar_path) {
  std::vector<std::pair<std::string, fs::path>> files;  // (field, path)
  std::error_code ec;
  for (auto it = fs::directory_iterator(sym_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    // Anything but a directory is read, so a dangling link or a device fails loudly.
    std::error_code type_ec;  // a dangling link sets it; that must not end the listing
    if (it->is_directory(type_ec)) continue;
    files.emplace_back(Lower(std::string_view(name).substr(0, name.size() - suffix.size())),
                       it->path());
  }
  if (ec)
    return Status::IOError(
        fmt::format("{}: cannot list directory: {}", sym_dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  for (std::size_t i = 1; i < files.size(); ++i) {
    if (files[i].first == files[i - 1].first) {
      return Status::DataError(fmt::format("{} and {}: two files for field '{}'",
                                           files[i - 1].second.string(), files[i].second.string(),
                                           files[i].first));
    }
  }

  std::vector<FeatureFile> features;
  features.reserve(files.size());
  std::size_t first = calendar.size(), end = 0;  // union of the files' index ranges
  for (auto& [field, path] : files) {
    QRAFT_ASSIGN_OR_RETURN(FeatureFile f,
                           ReadFeatureFile(path, std::move(field), calendar, calendar_path));
    if (f.count() > 0) {
      first = std::min(first, f.start);
      end = std::max(end, f.start + f.count());
    }
    features.push_back(std::move(f));
  }

  SourceTable table;
  table.source = sym_dir.string();
  if (features.empty()) return table;
  const std::size_t rows = first < end ? end - first : 0;
  table.time.assign(calendar.times().begin() + static_cast<std::ptrdiff_t>(first),
                    calendar.times().begin() + static_cast<std::ptrdiff_t>(first + rows));
  table.symbol.assign(rows, 0);
  for (FeatureFile& f : features) {
    std::vector<double> column(rows, kNaN);
    for (std::size_t i = 0; i < f.count(); ++i)
      column[f.start - first + i] = f.data[i + 1];
    table.field_names.push_back(std::move(f.field));
    table.fields.push_back(std::move(column));
  }

  // Adjusted -> raw: price / factor, volume * factor, row by row.
  const int factor = table.FieldIndex("factor");
  if (factor >= 0) {
    const std::vector<double>& fac = table.fields[static_cast<std::size_t>(factor)];
    for (std::size_t k = 0; k < table.field_names.size(); ++k) {
      const bool price = IsPriceField(table.field_names[k]);
      if (!price && table.field_names[k] != "volume") continue;
      std::vector<double>& col = table.fields[k];
      for (std::size_t r = 0; r < rows; ++r) {
        if (!UsableFactor(fac[r])) continue;
        col[r] = price ? col[r] / fac[r] : col[r] * fac[r];
      }
    }
  }
  return table;
}

// ---------------------------------------------------------------------------------------------
// Writing.

// "day" calendars hold dates; every other frequency is written "%Y-%m-%d %H:%M:%S" (as dump_bin
// does), intraday ones in the market's wall-clock time.
std::string FormatQlibTime(Timestamp utc, Frequency freq, const TimeZone& tz) {
  if (freq == Frequency::Daily()) return FormatDate(utc);
  return FormatDateTime(freq.intraday() ? tz.UtcToLocal(utc) : utc);
}

Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\\\t\r\n\0", 6)) != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("{} '{}': cannot be a Qlib file name (empty, '.', '..', or contains '/', '\\', "
                    "a tab or a newline)",
                    what, name));
  }
  return Status::OK();
}

}  // namespace

bool IsQlibDir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "calendars", ec) && fs::is_directory(dir / "features", ec);
}

std::string QlibFreqName(Frequency freq) {
  const int n = freq.count();
  switch (freq.unit()) {
    case Frequency::Unit::kMinute:
      return fmt::format("{}min", n);
    case Frequency::Unit::kHour:
      return fmt::format("{}min", 60 * n);
    case Frequency::Unit::kDay:
      return n == 1 ? "day" : fmt::format("{}day", n);
    case Frequency::Unit::kWeek:
      return n == 1 ? "week" : fmt::format("{}week", n);
    case Frequency::Unit::kMonth:
      return n == 1 ? "month" : fmt::format("{}month", n);
    case Frequency::Unit::kTick:
    case Frequency::Unit::kSecond:
      break;
  }
  return freq.ToString();
}

Result<QlibData> ReadQlibDir(const fs::path& dir, Frequency freq, const TimeZone& tz) {
  QRAFT_RETURN_NOT_OK(CheckFrequency(freq));
  const std::string name = QlibFreqName(freq);
  QlibData out;

  // Calendar.
  const fs::path cal_path = dir / "calendars" / (name + ".txt");
  auto cal_text = ReadWholeFile(cal_path);
  if (!cal_text.ok()) {
    if (cal_text.status().code() != StatusCode::kNotFound) return cal_text.status();
    std::vector<std::string> have;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir / "calendars", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->path().extension() == ".txt") have.push_back(it->path().stem().string());
    }
    std::sort(have.begin(), have.end());
    return Status::NotFound(
        fmt::format("{}: no calendar for frequency {} (Qlib name '{}'); calendars present: {}",
                    cal_path.string(), freq.ToString(), name,
                    have.empty() ? "none" : fmt::format("{}", fmt::join(have, ", "))));
  }
  QRAFT_ASSIGN_OR_RETURN(out.calendar, ParseCalendar(cal_path, *cal_text, freq, tz));

  // Instruments (optional: without all.txt, symbols come from the directory names).
  const fs::path inst_path = dir / "instruments" / "all.txt";
  auto inst_text = ReadWholeFile(inst_path);
  if (inst_text.ok()) {
    QRAFT_ASSIGN_OR_RETURN(out.instruments,
                           ParseInstruments(inst_path, *inst_text, freq.intraday(), tz));
  } else if (inst_text.status().code() != StatusCode::kNotFound) {
    return inst_text.status();
  }
  // features/ directory name -> symbol as written in all.txt. Qlib finds a code's directory as
  // lower(code_to_fname(code)); we look the other way. On a clash the first symbol (sorted) wins.
  std::map<std::string, std::string, std::less<>> dir_to_symbol;
  for (const InstrumentSpan& s : out.instruments)
    dir_to_symbol.try_emplace(FeatureDirName(s.symbol), s.symbol);

  // Symbol directories, sorted.
  const fs::path features = dir / "features";
  std::vector<fs::path> sym_dirs;
  std::error_code ec;
  if (!fs::is_directory(features, ec)) {
    return Status::NotFound(
        fmt::format("{}: no such directory (a Qlib directory has features/<symbol>/<field>.{}.bin)",
                    features.string(), name));
  }
  for (auto it = fs::directory_iterator(features, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) sym_dirs.push_back(it->path());
  }
  if (ec)
    return Status::IOError(
        fmt::format("{}: cannot list directory: {}", features.string(), ec.message()));
  std::sort(sym_dirs.begin(), sym_dirs.end());

  const std::string suffix = "." + name + ".bin";
  std::vector<SourceTable> tables(sym_dirs.size());
  QRAFT_RETURN_NOT_OK(
      ParallelForStatus(sym_dirs.size(), 4, [&](std::size_t b, std::size_t e) -> Status {
        for (std::size_t i = b; i < e; ++i) {
          QRAFT_ASSIGN_OR_RETURN(tables[i],
                                 ReadSymbolDir(sym_dirs[i], suffix, out.calendar, cal_path));
        }
        return Status::OK();
      }));

  std::vector<std::pair<std::string, std::size_t>> order;  // (symbol, index into tables)
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (tables[i].field_names.empty()) continue;  // no data for this frequency
    const std::string dname = sym_dirs[i].filename().string();
    auto it = dir_to_symbol.find(Lower(dname));
    // No instruments line: Qlib could not list this symbol either; use dump_bin's spelling.
    std::string symbol = it != dir_to_symbol.end() ? it->second : SymbolFromDirName(dname);
    tables[i].symbols = {symbol};
    order.emplace_back(std::move(symbol), i);
  }
  std::sort(order.begin(), order.end());
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (order[k].first == order[k - 1].first) {
      return Status::DataError(fmt::format("{} and {}: both directories hold symbol {}",
                                           tables[order[k - 1].second].source,
                                           tables[order[k].second].source, order[k].first));
    }
  }
  out.tables.reserve(order.size());
  for (const auto& [symbol, i] : order)
    out.tables.push_back(std::move(tables[i]));
  return out;
}

Status WriteQlibDir(const Panel& panel, Frequency freq, const TimeZone& tz,
                    const fs::path& dir_in) {
  QRAFT_RETURN_NOT_OK(CheckFrequency(freq));
  const fs::path dir = dir_in.has_filename() ? dir_in : dir_in.parent_path();  // "out/" -> "out"
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return Status::AlreadyExists(fmt::format(
        "{}: already exists; Qlib directories are written to a new path", dir.string()));
  }
  const std::string name = QlibFreqName(freq);
  const Calendar& cal = panel.calendar();
  const std::size_t S = panel.num_symbols(), T = panel.num_times(), F = panel.num_fields();

  // Calendar text; the local times of an intraday calendar must stay distinct and increasing.
  std::vector<std::string> cal_lines(T);
  for (std::size_t t = 0; t < T; ++t) {
    if (!freq.intraday() && cal[t] != FloorToDay(cal[t])) {
      return Status::InvalidArgument(
          fmt::format("calendar entry {} is not a date, but the frequency is {}",
                      FormatDateTime(cal[t]), freq.ToString()));
    }
    cal_lines[t] = FormatQlibTime(cal[t], freq, tz);
    if (t > 0 && freq.intraday() && tz.UtcToLocal(cal[t]) <= tz.UtcToLocal(cal[t - 1])) {
      return Status::InvalidArgument(
          fmt::format("calendar times {} and {} UTC are both {} or out of order in {} (a DST "
                      "change); a Qlib calendar holds naive local times and cannot tell them apart",
                      FormatDateTime(cal[t - 1]), FormatDateTime(cal[t]), cal_lines[t], tz.name()));
    }
  }

  // Field and symbol names as files.
  std::vector<std::string> field_files(F);
  int factor = -1;
  std::vector<int> kind(F, 0);  // 1 price, 2 volume
  {
    std::map<std::string, std::string> seen;
    for (std::size_t f = 0; f < F; ++f) {
      const std::string& fname = panel.field_names()[f];
      QRAFT_RETURN_NOT_OK(CheckName("field", fname));
      field_files[f] = Lower(fname);
      if (auto [it, inserted] = seen.emplace(field_files[f], fname); !inserted) {
        return Status::InvalidArgument(
            fmt::format("fields '{}' and '{}' would both be written as {}.{}.bin", it->second,
                        fname, field_files[f], name));
      }
      if (field_files[f] == "factor") factor = static_cast<int>(f);
      kind[f] = IsPriceField(field_files[f]) ? 1 : field_files[f] == "volume" ? 2 : 0;
    }
  }
  std::vector<std::string> sym_dirs(S);
  {
    std::map<std::string, std::string> seen;
    for (std::size_t s = 0; s < S; ++s) {
      QRAFT_RETURN_NOT_OK(CheckName("symbol", panel.symbols()[s]));
      sym_dirs[s] = FeatureDirName(panel.symbols()[s]);
      if (auto [it, inserted] = seen.emplace(sym_dirs[s], panel.symbols()[s]); !inserted) {
        return Status::InvalidArgument(
            fmt::format("symbols '{}' and '{}' would share the directory features/{}", it->second,
                        panel.symbols()[s], sym_dirs[s]));
      }
    }
  }

  // Each symbol's span: first..last bar with any value.
  std::vector<std::pair<std::size_t, std::size_t>> spans(S, {T, T});  // [first, last], T = none
  ParallelFor(S, 16, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      std::size_t first = T, last = 0;
      for (std::size_t f = 0; f < F; ++f) {
        const std::span<const double> x = panel.series(f, s);
        for (std::size_t i = 0; i < first; ++i) {
          if (!std::isnan(x[i])) {
            first = i;
            break;
          }
        }
        if (first == T) continue;  // no value in any field so far
        for (std::size_t j = T; j-- > last;) {
          if (!std::isnan(x[j])) {
            last = j;
            break;
          }
        }
      }
      if (first < T) spans[s] = {first, last};
    }
  });

  std::vector<std::size_t> by_name;
  for (std::size_t s = 0; s < S; ++s) {
    if (spans[s].first < T) by_name.push_back(s);
  }
  std::sort(by_name.begin(), by_name.end(),
            [&](std::size_t a, std::size_t b) { return panel.symbols()[a] < panel.symbols()[b]; });
  for (std::size_t s : by_name) {
    const std::size_t first = spans[s].first;
    if (static_cast<std::size_t>(static_cast<float>(first)) != first) {
      return Status::InvalidArgument(
          fmt::format("symbol {} starts at calendar index {}, which float32 cannot hold exactly "
                      "(Qlib stores the start index as float32; indices up to 2^24 = 16777216 are "
                      "safe): use a shorter calendar",
                      panel.symbols()[s], first));
    }
  }

  // Temporary sibling, renamed into place at the end.
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  fs::create_directories(parent, ec);
  const fs::path tmp = TempSibling(parent / dir.filename());
  auto write_all = [&]() -> Status {
    for (const char* sub : {"calendars", "instruments", "features"}) {
      if (!fs::create_directories(tmp / sub, ec) || ec) {
        return Status::IOError(
            fmt::format("{}: cannot create directory: {}", (tmp / sub).string(), ec.message()));
      }
    }
    std::string text;
    for (const std::string& line : cal_lines)
      (text += line) += '\n';
    QRAFT_RETURN_NOT_OK(
        WriteWholeFile(tmp / "calendars" / (name + ".txt"), text.data(), text.size()));
    text.clear();
    for (std::size_t s : by_name) {
      text += fmt::format("{}\t{}\t{}\n", panel.symbols()[s], cal_lines[spans[s].first],
                          cal_lines[spans[s].second]);
    }
    QRAFT_RETURN_NOT_OK(WriteWholeFile(tmp / "instruments" / "all.txt", text.data(), text.size()));

    return ParallelForStatus(by_name.size(), 4, [&](std::size_t b, std::size_t e) -> Status {
      std::vector<char> buf;
      for (std::size_t k = b; k < e; ++k) {
        const std::size_t s = by_name[k];
        const auto [first, last] = spans[s];
        const fs::path sdir = tmp / "features" / sym_dirs[s];
        std::error_code dec;
        if (!fs::create_directory(sdir, dec) || dec) {
          return Status::IOError(
              fmt::format("{}: cannot create directory: {}", sdir.string(), dec.message()));
        }
        const std::size_t n = last - first + 1;
        buf.resize(4 * (n + 1));
        for (std::size_t f = 0; f < F; ++f) {
          const std::span<const double> x = panel.series(f, s);
          FloatToLe(static_cast<float>(first), buf.data());
          for (std::size_t i = 0; i < n; ++i) {
            double v = x[first + i];
            // Raw -> adjusted, the exact inverse of the reader: price * factor, volume / factor.
            if (kind[f] != 0 && factor >= 0) {
              const double fac = panel.at(static_cast<std::size_t>(factor), s, first + i);
              if (UsableFactor(fac)) v = kind[f] == 1 ? v * fac : v / fac;
            }
            FloatToLe(ToFloat32(v), buf.data() + 4 * (i + 1));
          }
          QRAFT_RETURN_NOT_OK(WriteWholeFile(sdir / (field_files[f] + "." + name + ".bin"),
                                             buf.data(), buf.size()));
        }
      }
      return Status::OK();
    });
  };
  Status st = write_all();
  if (st.ok() && ::rename(tmp.c_str(), dir.c_str()) != 0) {
    st = ErrnoError("cannot rename " + tmp.string() + " into place", dir);
  }
  if (!st.ok()) fs::remove_all(tmp, ec);
  return st;
}

}  // namespace qraft::data::io
