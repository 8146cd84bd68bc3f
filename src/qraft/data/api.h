// The unified data API: one call from a snapshot to an aligned Panel.
//
// This is the function the engines, the Python package and the service call; the CLI's
// `qraft data show` is a thin shell over it.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/adjust.h"
#include "qraft/data/quality.h"
#include "qraft/data/store.h"

namespace qraft::data {

struct DataRequest {
  /// Snapshot id, unique id prefix, "market@freq", or a market name (its latest snapshot).
  std::string snapshot;
  /// Symbols in the order wanted; empty: all.
  std::vector<std::string> symbols;
  /// Inclusive time range; kNoTimestamp leaves a side open.
  Timestamp start = kNoTimestamp;
  Timestamp end = kNoTimestamp;
  /// Fields in the order wanted; empty: all.
  std::vector<std::string> fields;
  Adjust adjust = Adjust::kNone;
};

/// The requested slice. With no symbol, time or adjustment selection the fields are zero-copy
/// views of the memory-mapped snapshot; otherwise the selection is copied. Adjusted views are
/// normalised over each symbol's whole history (adjust.h), so a slice agrees with the whole.
/// Errors name the unknown symbol or field, or the snapshot reference that did not resolve.
Result<Panel> GetData(const SnapshotStore& store, const DataRequest& request);

/// get_data(market, symbols, start, end, fields, adjust) on the market's latest snapshot.
Result<Panel> GetData(const SnapshotStore& store, std::string_view market,
                      std::span<const std::string> symbols, Timestamp start, Timestamp end,
                      std::span<const std::string> fields, Adjust adjust);

/// Verifies a snapshot's integrity (store.h Verify) and re-runs the quality checks on its data.
/// Errors: the snapshot is damaged or missing. The report is the caller's to judge (Failed()).
Result<QualityReport> CheckSnapshot(const SnapshotStore& store, std::string_view ref,
                                    const QualityOptions& options);

/// Parses "2013-02-08" or a date-time (UTC) for request ranges; "" gives kNoTimestamp.
Result<Timestamp> ParseRequestTime(std::string_view text);

}  // namespace qraft::data
