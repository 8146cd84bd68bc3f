// Factor workflows on stored snapshots: the calls behind `qraft factor eval | check | approve`,
// shared with the service and the Python package.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/api.h"
#include "qraft/data/store.h"
#include "qraft/expr/compiler.h"
#include "qraft/factor/evaluate.h"
#include "qraft/factor/leak.h"
#include "qraft/factor/registry.h"

namespace qraft::factor {

/// Computed factor values are cached as <root>/<snapshot_id>/<feature_signature>.arrow: the
/// values of one factor (at bound parameters) on a whole snapshot. Entries are written to a
/// temporary name and renamed; a damaged or missing entry is recomputed.
class FeatureCache {
 public:
  explicit FeatureCache(std::filesystem::path root) : root_(std::move(root)) {}
  std::optional<Panel> Get(const std::string& snapshot_id, const std::string& signature) const;
  Status Put(const std::string& snapshot_id, const std::string& signature,
             const Panel& values) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

struct FactorValuesRequest {
  data::DataRequest data;  // snapshot, symbols, [start, end], adjust; fields ignored
  /// Factor URIs (factor://...) or expressions, optionally NAME=...; each is one output.
  std::vector<expr::ExprSpec> items;
  /// Semantics of plain expressions; URIs use their factor's own.
  expr::Semantics semantics = expr::Semantics::kNative;
  bool allow_future = false;
};

struct FactorValues {
  std::string snapshot_id;
  bool daily = true;
  Panel values;  // one field per item
  Panel close;   // the `close` field on the same rows (for evaluation), if the data has one
  std::size_t cache_hits = 0;
};

/// Computes the items on a snapshot; whole-snapshot values of URI items come from and go to
/// `cache` when given. Errors: unknown snapshot/factor/field, compile errors.
Result<FactorValues> ComputeFactorValues(const data::SnapshotStore& store,
                                         const FactorRegistry& registry,
                                         const FactorValuesRequest& request,
                                         const FeatureCache* cache = nullptr);

/// The look-ahead check of one item (URI or expression) on `data`.
Result<LeakReport> CheckItem(const FactorRegistry& registry, const expr::ExprSpec& item,
                             expr::Semantics semantics, bool allow_future, const Panel& data);

/// A seeded synthetic market (data/synth.h) large enough for the look-ahead check, used when no
/// snapshot is given.
Result<Panel> LeakCheckPanel();

/// Runs the look-ahead check on `data` and approves `uri` only if it passes. The report says why
/// not; a leak is not an error (the Status is OK, report->leak is true).
Result<LeakReport> ApproveFactor(FactorRegistry& registry, const FactorUri& uri, const Panel& data,
                                 std::string_view note);

}  // namespace qraft::factor
