#include "qraft/data/source_table.h"

#include <fmt/format.h>

#include <limits>

namespace qraft::data {

std::string SourceTable::Where(std::size_t r) const {
  if (r < line.size() && line[r] != 0) {
    return row_numbers ? fmt::format("{} row {}", source, line[r])
                       : fmt::format("{}:{}", source, line[r]);
  }
  return source;
}

int SourceTable::FieldIndex(std::string_view name) const {
  for (std::size_t i = 0; i < field_names.size(); ++i) {
    if (field_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::uint32_t SymbolInterner::Intern(std::string_view name) {
  if (last_ != UINT32_MAX && table_.symbols[last_] == name) return last_;
  auto [it, inserted] =
      index_.try_emplace(std::string(name), static_cast<std::uint32_t>(table_.symbols.size()));
  if (inserted) table_.symbols.emplace_back(name);
  last_ = it->second;
  return last_;
}

}  // namespace qraft::data
