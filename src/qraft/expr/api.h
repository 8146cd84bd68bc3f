// Expressions on a stored snapshot: the call behind `qraft expr eval`, the factor library and
// (later) the Python package.
//
// Warm-up: when the request starts after the snapshot does, data before `start` is loaded for
// the program's look-back (the whole history for recursions and expanding windows), so values at
// `start` are the same as in a full-history evaluation. Then the result is cut to [start, end].
#pragma once

#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/api.h"
#include "qraft/data/store.h"
#include "qraft/expr/compiler.h"

namespace qraft::expr {

struct SnapshotExprRequest {
  /// Snapshot, symbols, [start, end] and adjustment; `fields` is ignored (the program's).
  data::DataRequest data;
  std::vector<ExprSpec> exprs;
  /// known_fields is filled from the snapshot.
  CompileOptions compile;
};

struct SnapshotExprResult {
  std::string snapshot_id;
  bool daily = true;
  Program program;
  Panel values;  // one field per output, on the requested symbols and [start, end]
  Panel bars;    // the fields read, same shape (row selection for writers: each symbol's bars)
};

/// Errors: unknown snapshot, symbol or field; compile errors ("NAME: line:col: message").
Result<SnapshotExprResult> EvaluateOnSnapshot(const data::SnapshotStore& store,
                                              const SnapshotExprRequest& request);

/// Splits a command-line argument "NAME=EXPR" into its name and text; a plain expression (or a
/// comparison such as "a==b") has an empty name.
ExprSpec ParseNamedExpr(const std::string& arg);

}  // namespace qraft::expr
