#include "qraft/data/api.h"

#include <fmt/format.h>

#include <algorithm>

namespace qraft::data {

Result<Panel> GetData(const SnapshotStore& store, const DataRequest& req) {
  QRAFT_ASSIGN_OR_RETURN(Snapshot snap, store.Open(req.snapshot));
  const Panel& full = snap.panel();
  std::vector<std::string> fields = req.fields.empty() ? full.field_names() : req.fields;
  for (const std::string& f : fields) {
    if (!full.HasField(f)) {
      return Status::NotFound(fmt::format("field '{}' is not in snapshot {} (it has: {})", f,
                                          snap.id().substr(0, 12),
                                          fmt::join(full.field_names(), ", ")));
    }
  }
  const bool whole = req.symbols.empty() && req.start == kNoTimestamp && req.end == kNoTimestamp;
  if (whole && req.adjust == Adjust::kNone) return full.SelectFields(fields);

  // Adjusting needs the factor: carry it through the selection, drop it after if not asked for.
  std::vector<std::string> needed = fields;
  if (req.adjust != Adjust::kNone &&
      std::find(needed.begin(), needed.end(), "factor") == needed.end() &&
      full.HasField("factor")) {
    needed.push_back("factor");
  }
  QRAFT_ASSIGN_OR_RETURN(Panel p, full.SelectFields(needed));
  const std::vector<std::string>& symbols =
      req.symbols.empty() ? full.symbols().names() : req.symbols;
  // Adjust over the whole history first so the normalising bar is the snapshot's, then slice time.
  if (req.adjust != Adjust::kNone) {
    if (!req.symbols.empty()) {
      QRAFT_ASSIGN_OR_RETURN(p, p.Select(symbols, kNoTimestamp, kNoTimestamp));
    }
    QRAFT_ASSIGN_OR_RETURN(p, ApplyAdjustment(p, req.adjust));
    if (req.start != kNoTimestamp || req.end != kNoTimestamp) {
      QRAFT_ASSIGN_OR_RETURN(p, p.Select(p.symbols().names(), req.start, req.end));
    }
  } else {
    QRAFT_ASSIGN_OR_RETURN(p, p.Select(symbols, req.start, req.end));
  }
  return p.SelectFields(fields);
}

Result<Panel> GetData(const SnapshotStore& store, std::string_view market,
                      std::span<const std::string> symbols, Timestamp start, Timestamp end,
                      std::span<const std::string> fields, Adjust adjust) {
  DataRequest req;
  req.snapshot = std::string(market);
  req.symbols.assign(symbols.begin(), symbols.end());
  req.start = start;
  req.end = end;
  req.fields.assign(fields.begin(), fields.end());
  req.adjust = adjust;
  return GetData(store, req);
}

Result<QualityReport> CheckSnapshot(const SnapshotStore& store, std::string_view ref,
                                    const QualityOptions& options) {
  QRAFT_RETURN_NOT_OK(store.Verify(ref));
  QRAFT_ASSIGN_OR_RETURN(Snapshot snap, store.Open(ref));
  QualityReport report = CheckPanel(snap.panel(), options, snap.date_only());
  report.Sort();
  return report;
}

Result<Timestamp> ParseRequestTime(std::string_view text) {
  if (text.empty()) return kNoTimestamp;
  auto t = ParseIsoDateTime(text);
  if (!t)
    return Status::InvalidArgument(
        fmt::format("'{}': expected a date such as 2013-02-08 or a date-time", text));
  return t->value;
}

}  // namespace qraft::data
