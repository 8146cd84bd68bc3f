// Snapshots: immutable, content-addressed, versioned market data.
//
// A snapshot is what an ingest produces and what every later stage reads: a Panel of raw fields
// (prices unadjusted; a `factor` field carries corporate actions), the listing spans of its
// instruments, and metadata (sources, quality report, rolls...).
//
// snapshot_id = SHA-256 of the canonical content: market, frequency, time zone, calendar,
// symbols, each field's values (float64 little-endian, every NaN as one bit pattern) and the
// instrument spans. It does not depend on file paths, mtimes, input format or field order, so
// ingesting the same data twice, or round-tripping it through Parquet, gives the same id.
// Metadata (sources, quality, notes) is recorded beside the content but is not part of the id.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/time.h"
#include "qraft/data/quality.h"

namespace qraft::data {

/// When an instrument was listed: [start, end] inclusive. A symbol may have several spans
/// (Qlib instruments files allow it). Delisted names keep their spans; nothing is dropped.
struct InstrumentSpan {
  std::string symbol;
  Timestamp start = kNoTimestamp;
  Timestamp end = kNoTimestamp;
  bool operator==(const InstrumentSpan&) const = default;
};

/// Spans from the data: each symbol's first and last bar with any value.
std::vector<InstrumentSpan> DeriveInstruments(const Panel& panel);

/// Symbols listed at time t.
std::vector<std::string> ActiveSymbols(const std::vector<InstrumentSpan>& spans, Timestamp t);

/// Reads a Qlib-style instruments file: "SYMBOL<TAB>start<TAB>end" per line (dates or
/// date-times), no header. Errors name the file and line.
Result<std::vector<InstrumentSpan>> LoadInstrumentsFile(const std::filesystem::path& path);

/// Everything a snapshot holds, before it is published.
struct SnapshotContent {
  std::string market;
  Frequency freq = Frequency::Daily();
  std::string timezone = "UTC";
  Panel panel;
  std::vector<InstrumentSpan> instruments;  // sorted by symbol, then start
  std::size_t source_rows = 0;              // rows read from the sources (0 when generated)

  // Recorded in snapshot_meta.json, not part of the id.
  nlohmann::json provenance = nlohmann::json::object();  // sources, options, adjustments, rolls
  QualityReport quality;
};

struct SnapshotHashes {
  std::string id;                                           // the snapshot id
  std::string calendar;                                     // SHA-256 of the calendar
  std::string symbols;                                      // SHA-256 of the symbol list
  std::vector<std::pair<std::string, std::string>> fields;  // per field, panel order
};

/// Hashes the canonical content. Fields are hashed in parallel; the result is independent of the
/// thread count and of the panel's field order.
SnapshotHashes ComputeHashes(const SnapshotContent& content);

/// The snapshot_meta.json document (without the "files" section, which the store adds).
/// Deterministic: same content and provenance give the same bytes.
nlohmann::json BuildMeta(const SnapshotContent& content, const SnapshotHashes& hashes);

/// Per-symbol coverage and per-field missing rates, computed from a panel and its spans.
nlohmann::json Coverage(const Panel& panel, bool date_only);

/// A published snapshot, opened read-only. Its panel may be memory-mapped; copies share it.
class Snapshot {
 public:
  Snapshot() = default;
  Snapshot(std::string id, std::filesystem::path dir, nlohmann::json meta, Panel panel,
           std::vector<InstrumentSpan> instruments);

  const std::string& id() const { return id_; }
  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& meta() const { return *meta_; }
  const Panel& panel() const { return panel_; }
  const std::vector<InstrumentSpan>& instruments() const { return *instruments_; }
  std::string market() const { return meta_->value("market", ""); }
  Frequency freq() const;
  bool date_only() const { return !freq().intraday(); }

 private:
  std::string id_;
  std::filesystem::path dir_;
  std::shared_ptr<const nlohmann::json> meta_ = std::make_shared<nlohmann::json>();
  Panel panel_;
  std::shared_ptr<const std::vector<InstrumentSpan>> instruments_ =
      std::make_shared<std::vector<InstrumentSpan>>();
};

/// The version string recorded in metadata ("qraft 0.1.0").
std::string QraftVersion();

}  // namespace qraft::data
