#include "qraft/gates/returns_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
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
  QRAFT_ASSIGN_OR_RETURN(const engines::CsvTable table, engines::CsvTable::Parse(text, path));
  const std::vector<std::string>& header = table.header().fields;
  std::string first = header[0];
  std::transform(first.begin(), first.end(), first.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::size_t skip =
      first == "date" || first == "time" || first == "datetime" || first == "timestamp" ? 1 : 0;
  ReturnsTable out;
  out.names.assign(header.begin() + static_cast<std::ptrdiff_t>(skip), header.end());
  if (out.names.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}:{}: no series in the header", table.file(), table.header().line));
  }
  out.rows = table.rows();
  if (out.rows < 2) {
    return Status::InvalidArgument(
        fmt::format("{}: {} rows of returns, at least 2 are needed", table.file(), out.rows));
  }
  const std::size_t k = out.names.size();
  out.values.resize(out.rows * k);
  for (std::size_t r = 0; r < out.rows; ++r) {
    const engines::CsvRecord& rec = table.row(r);
    QRAFT_RETURN_NOT_OK(table.CheckWidth(rec));
    if (skip) out.labels.push_back(rec.fields[0]);
    for (std::size_t j = 0; j < k; ++j) {
      QRAFT_ASSIGN_OR_RETURN(const double v, table.Number(rec, j + skip, true));
      if (!std::isfinite(v)) return table.Bad(rec, j + skip, "a finite number");
      out.values[j * out.rows + r] = v;
    }
  }
  return out;
}

}  // namespace qraft::gates
