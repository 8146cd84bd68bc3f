#include "qraft/expr/api.h"

#include <cctype>

#include "qraft/expr/evaluator.h"

namespace qraft::expr {

Result<SnapshotExprResult> EvaluateOnSnapshot(const data::SnapshotStore& store,
                                              const SnapshotExprRequest& request) {
  QRAFT_ASSIGN_OR_RETURN(data::Snapshot snap, store.Open(request.data.snapshot));
  CompileOptions compile = request.compile;
  compile.known_fields = snap.panel().field_names();
  SnapshotExprResult result;
  result.snapshot_id = snap.id();
  result.daily = snap.date_only();
  QRAFT_ASSIGN_OR_RETURN(result.program, Compile(request.exprs, compile));

  data::DataRequest load = request.data;
  load.snapshot = snap.id();
  load.fields = result.program.fields();
  const Calendar& calendar = snap.panel().calendar();
  if (request.data.start != kNoTimestamp && !calendar.empty()) {
    const int lookback = result.program.lookback();
    const std::size_t first = calendar.LowerBound(request.data.start);
    if (lookback == kUnbounded) {
      load.start = kNoTimestamp;
    } else if (first < calendar.size()) {
      load.start = calendar[first - std::min<std::size_t>(first, lookback)];
    }
  }
  QRAFT_ASSIGN_OR_RETURN(Panel data, data::GetData(store, load));
  QRAFT_ASSIGN_OR_RETURN(Panel values, Evaluate(result.program, data));
  if (load.start != request.data.start) {
    const std::vector<std::string>& names = data.symbols().names();
    QRAFT_ASSIGN_OR_RETURN(values, values.Select(names, request.data.start, request.data.end));
    QRAFT_ASSIGN_OR_RETURN(data, data.Select(names, request.data.start, request.data.end));
  }
  result.values = std::move(values);
  result.bars = std::move(data);
  return result;
}

ExprSpec ParseNamedExpr(const std::string& arg) {
  std::size_t i = 0;
  while (i < arg.size() && (std::isalnum(static_cast<unsigned char>(arg[i])) || arg[i] == '_')) {
    ++i;
  }
  if (i > 0 && i + 1 < arg.size() && arg[i] == '=' && arg[i + 1] != '=' &&
      !std::isdigit(static_cast<unsigned char>(arg[0]))) {
    return {arg.substr(0, i), arg.substr(i + 1)};
  }
  return {"", arg};
}

}  // namespace qraft::expr
