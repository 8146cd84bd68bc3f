#include "qraft/data/export.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "qraft/core/file_io.h"
#include "qraft/data/io/arrow_io.h"
#include "qraft/data/io/qlib_io.h"

namespace qraft::data {
namespace fs = std::filesystem;
namespace {

Status WriteCsv(const Panel& p, bool daily, const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IOError(fmt::format("{}: cannot create", path.string()));
  std::string line = fmt::format("symbol,{}", daily ? "date" : "time");
  for (const std::string& name : p.field_names())
    line += "," + name;
  line += "\n";
  std::fputs(line.c_str(), f);
  const std::size_t T = p.num_times(), F = p.num_fields();
  for (std::size_t s = 0; s < p.num_symbols(); ++s) {
    for (std::size_t t = 0; t < T; ++t) {
      if (!p.HasBar(s, t)) continue;
      line = p.symbols()[s];
      line += ',';
      line += FormatTimestamp(p.calendar()[t], daily);
      for (std::size_t k = 0; k < F; ++k) {
        line += ',';
        const double v = p.at(k, s, t);
        if (!std::isnan(v)) line += fmt::format("{}", v);
      }
      line += '\n';
      std::fputs(line.c_str(), f);
    }
  }
  const bool failed = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || failed)
    return Status::IOError(fmt::format("{}: write failed", path.string()));
  return Status::OK();
}

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "parquet") return ExportFormat::kParquet;
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "qlib") return ExportFormat::kQlib;
  return Status::InvalidArgument(
      fmt::format("export format '{}': expected parquet, csv or qlib", name));
}

Status ExportSnapshot(const Snapshot& snap, ExportFormat format, Adjust adjust,
                      const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec))
    return Status::AlreadyExists(
        fmt::format("{}: already exists; choose a new name", out.string()));
  const bool daily = snap.date_only();
  const fs::path tmp = TempSibling(out);
  Status st;
  if (format == ExportFormat::kQlib) {
    // Qlib keeps adjusted prices plus the factor itself; it always gets the raw data.
    if (adjust != Adjust::kNone) {
      return Status::InvalidArgument(
          "Qlib directories store prices with their factor; export them with adjust=none");
    }
    QRAFT_ASSIGN_OR_RETURN(const TimeZone tz, TimeZone::Find(snap.meta().value("timezone", "UTC")));
    st = io::WriteQlibDir(snap.panel(), snap.freq(), tz, tmp);
  } else {
    QRAFT_ASSIGN_OR_RETURN(Panel p, ApplyAdjustment(snap.panel(), adjust));
    st = format == ExportFormat::kCsv
             ? WriteCsv(p, daily, tmp)
             : io::WriteBarsParquet(p, daily, tmp,
                                    {{"qraft.snapshot_id", snap.id()},
                                     {"qraft.adjust", std::string(AdjustName(adjust))}});
  }
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  if (format == ExportFormat::kQlib) {  // a directory, already written whole by WriteQlibDir
    if (::rename(tmp.c_str(), out.c_str()) != 0) {
      st = ErrnoError("cannot rename into place", out);
      fs::remove_all(tmp, ec);
    }
    return st;
  }
  return PublishFile(tmp, out);
}

namespace {

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. Expression
// texts used as column names often contain commas.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status WriteValuesCsv(const Panel& values, const Panel& bars, bool daily, std::FILE* f) {
  std::string line = "datetime,symbol";
  for (const std::string& name : values.field_names())
    line += "," + CsvField(name);
  line += "\n";
  std::fputs(line.c_str(), f);
  const std::size_t F = values.num_fields();
  for (std::size_t s = 0; s < values.num_symbols(); ++s) {
    const auto span = bars.BarSpan(s);
    if (!span) continue;
    for (std::size_t t = span->first; t <= span->second; ++t) {
      line = FormatTimestamp(values.calendar()[t], daily);
      line += ',';
      line += CsvField(values.symbols()[s]);
      for (std::size_t k = 0; k < F; ++k) {
        line += ',';
        const double v = values.at(k, s, t);
        if (!std::isnan(v)) line += fmt::format("{}", v);
      }
      line += '\n';
      std::fputs(line.c_str(), f);
    }
  }
  if (std::ferror(f) != 0) return Status::IOError("write failed");
  return Status::OK();
}

Status ExportValues(const Panel& values, const Panel& bars, bool daily, ExportFormat format,
                    const fs::path& out, const io::KeyValues& meta) {
  if (format == ExportFormat::kQlib) {
    return Status::InvalidArgument("computed values are written as csv or parquet, not qlib");
  }
  std::error_code ec;
  if (fs::exists(out, ec)) {
    return Status::AlreadyExists(
        fmt::format("{}: already exists; choose a new name", out.string()));
  }
  const fs::path tmp = TempSibling(out);
  Status st;
  if (format == ExportFormat::kCsv) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return Status::IOError(fmt::format("{}: cannot create", out.string()));
    st = WriteValuesCsv(values, bars, daily, f);
    if (std::fclose(f) != 0 && st.ok()) st = Status::IOError("close failed");
    if (!st.ok()) st = Status(st.code(), fmt::format("{}: {}", out.string(), st.message()));
  } else {
    std::vector<std::pair<std::size_t, std::size_t>> rows(bars.num_symbols(), {1, 0});
    for (std::size_t s = 0; s < bars.num_symbols(); ++s) {
      if (auto span = bars.BarSpan(s)) rows[s] = *span;
    }
    st = io::WriteValuesParquet(values, daily, rows, tmp, meta);
  }
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  return PublishFile(tmp, out);
}

}  // namespace qraft::data
