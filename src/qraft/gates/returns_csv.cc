#include "qraft/gates/returns_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "qraft/data/io/file_reader.h"
#include "qraft/engines/results.h"

namespace qraft::gates {

const std::string* ReturnsTable::Find(std::string_view name) const {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? nullptr : &*it;
}

Result<ReturnsTable> ReadReturnsCsv(const std::filesystem::path& path) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, data::io::ReadDecompressed(path));
  QRAFT_ASSIGN_OR_RETURN(const std::vector<engines::CsvRecord> records,
                         engines::ParseCsvRecords(text, path));
  const std::string file = path.string();
  if (records.empty()) return Status::DataError(fmt::format("{}: empty file", file));
  const std::vector<std::string>& header = records[0].fields;
  std::string first = header.empty() ? std::string() : header[0];
  std::transform(first.begin(), first.end(), first.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool labelled =
      first == "date" || first == "time" || first == "datetime" || first == "timestamp";
  ReturnsTable out;
  out.names.assign(header.begin() + (labelled ? 1 : 0), header.end());
  if (out.names.empty()) {
    return Status::DataError(fmt::format("{}:{}: no series in the header", file, records[0].line));
  }
  const std::size_t k = out.names.size();
  out.rows = records.size() - 1;
  if (out.rows < 2) {
    return Status::DataError(
        fmt::format("{}: {} rows of returns, at least 2 are needed", file, out.rows));
  }
  out.values.resize(out.rows * k);
  for (std::size_t r = 0; r < out.rows; ++r) {
    const engines::CsvRecord& rec = records[r + 1];
    if (rec.fields.size() != header.size()) {
      return Status::DataError(fmt::format("{}:{}: {} fields, the header has {}", file, rec.line,
                                           rec.fields.size(), header.size()));
    }
    if (labelled) out.labels.push_back(rec.fields[0]);
    for (std::size_t j = 0; j < k; ++j) {
      const std::string& cell = rec.fields[j + (labelled ? 1 : 0)];
      double v = 0;
      const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
      if (ec != std::errc() || end != cell.data() + cell.size() || !std::isfinite(v)) {
        return Status::DataError(
            fmt::format("{}:{}: field '{}': expected a finite number, got '{}'", file, rec.line,
                        out.names[j], cell));
      }
      out.values[j * out.rows + r] = v;
    }
  }
  return out;
}

}  // namespace qraft::gates
