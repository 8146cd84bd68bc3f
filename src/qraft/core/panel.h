// Panel: the aligned block of market data every engine reads.
//
// fields × symbols × time, float64, one calendar. Each field is one contiguous array of
// num_symbols() * num_times() doubles, symbol-major: the series of symbol s is the slice
// [s * T, (s + 1) * T), so time-series operators walk contiguous memory. Missing bars are NaN;
// nothing is forward-filled.
//
// Ownership: a Panel is an immutable value. Field storage is shared (std::shared_ptr) and may be a
// heap array or a read-only memory map of a snapshot file, so copies and sub-selections of whole
// fields are cheap and loading a snapshot is zero-copy.
// Thread-safety: all const methods may be called concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "qraft/core/calendar.h"
#include "qraft/core/status.h"

namespace qraft {

/// Symbol names in a fixed order with O(1) lookup by name.
class SymbolIndex {
 public:
  SymbolIndex() = default;
  /// REQUIRES: names unique (checked).
  explicit SymbolIndex(std::vector<std::string> names);

  std::size_t size() const { return names_.size(); }
  const std::string& operator[](std::size_t i) const { return names_[i]; }
  const std::vector<std::string>& names() const { return names_; }
  std::optional<std::size_t> Find(std::string_view name) const;

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string_view, std::size_t> index_;  // views into names_
};

class Panel {
 public:
  Panel() = default;

  const Calendar& calendar() const { return *calendar_; }
  const SymbolIndex& symbols() const { return *symbols_; }
  const std::vector<std::string>& field_names() const { return field_names_; }

  std::size_t num_symbols() const { return symbols_->size(); }
  std::size_t num_times() const { return calendar_->size(); }
  std::size_t num_fields() const { return field_names_.size(); }
  /// num_symbols() * num_times(): doubles per field.
  std::size_t cells() const { return num_symbols() * num_times(); }

  std::optional<std::size_t> FindField(std::string_view name) const;
  bool HasField(std::string_view name) const { return FindField(name).has_value(); }

  /// The whole field, symbol-major.
  std::span<const double> field(std::size_t f) const { return {data_[f], cells()}; }
  /// The series of one symbol in one field.
  std::span<const double> series(std::size_t f, std::size_t s) const {
    return {data_[f] + s * num_times(), num_times()};
  }
  double at(std::size_t f, std::size_t s, std::size_t t) const {
    return data_[f][s * num_times() + t];
  }

  /// Whether symbol s has a bar at time t: any field has a value there.
  bool HasBar(std::size_t s, std::size_t t) const;
  /// Time indices [first, last] of symbol s's first and last bar; nullopt when it has none.
  std::optional<std::pair<std::size_t, std::size_t>> BarSpan(std::size_t s) const;

  /// A Panel with only `fields` (in that order), sharing their storage. Errors name a missing
  /// field.
  Result<Panel> SelectFields(std::span<const std::string> fields) const;
  /// A Panel restricted to `symbols` (in that order) and the calendar range [start, end]
  /// (kNoTimestamp = open). Copies the data. Errors name a missing symbol.
  Result<Panel> Select(std::span<const std::string> symbols, Timestamp start, Timestamp end) const;

 private:
  friend class PanelBuilder;
  std::shared_ptr<const Calendar> calendar_ = std::make_shared<Calendar>();
  std::shared_ptr<const SymbolIndex> symbols_ = std::make_shared<SymbolIndex>();
  std::vector<std::string> field_names_;
  std::vector<const double*> data_;
  std::vector<std::shared_ptr<const void>> owners_;  // keep each field's storage alive
};

/// Builds a Panel field by field. Not thread-safe; the spans it hands out may be filled from
/// many threads (disjoint ranges) before Build().
class PanelBuilder {
 public:
  PanelBuilder(Calendar calendar, std::vector<std::string> symbols);
  PanelBuilder(std::shared_ptr<const Calendar> calendar,
               std::shared_ptr<const SymbolIndex> symbols);

  std::size_t num_symbols() const { return symbols_->size(); }
  std::size_t num_times() const { return calendar_->size(); }

  /// Adds a field of NaN and returns its storage to fill. REQUIRES: name not yet added (checked).
  std::span<double> AddField(std::string name);
  /// Adds a field stored elsewhere (num_symbols() * num_times() doubles at `data`), kept alive by
  /// `owner`; e.g. a memory-mapped snapshot column.
  void AddExternalField(std::string name, const double* data, std::shared_ptr<const void> owner);

  Panel Build() &&;

 private:
  std::shared_ptr<const Calendar> calendar_;
  std::shared_ptr<const SymbolIndex> symbols_;
  Panel panel_;
};

}  // namespace qraft
