// qraft expr eval | ops
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/data/export.h"
#include "qraft/expr/api.h"
#include "qraft/expr/ops.h"

namespace qraft::cli {
namespace {

struct EvalArgs {
  StoreOptions store;
  std::vector<std::string> exprs;
  std::vector<std::string> params;
  std::string data, semantics = "native", symbols, start, end, adjust = "none", format = "table",
                    out;
  std::size_t limit = 20;
  bool label = false;
  bool explain = false;
};

int Eval(const EvalArgs& a) {
  ThreadLimit limit(a.store.threads);
  expr::SnapshotExprRequest req;
  req.data.snapshot = a.data;
  req.data.symbols = SplitList(a.symbols);
  auto semantics = expr::ParseSemantics(a.semantics);
  auto start = data::ParseRequestTime(a.start);
  auto end = data::ParseRequestTime(a.end);
  auto adjust = data::ParseAdjust(a.adjust);
  for (const Status& st : {semantics.status(), start.status(), end.status(), adjust.status()}) {
    if (!st.ok()) return Fail(st);
  }
  if (a.format != "table" && a.format != "csv" && a.format != "parquet") {
    return Fail(Status::InvalidArgument(
        fmt::format("--format '{}': expected csv, parquet or table", a.format)));
  }
  if (a.format == "parquet" && a.out.empty()) {
    return Fail(Status::InvalidArgument("--format parquet needs --out FILE"));
  }
  req.data.start = *start;
  req.data.end = *end;
  req.data.adjust = *adjust;
  req.compile.semantics = *semantics;
  req.compile.allow_future = a.label;
  for (const std::string& e : a.exprs)
    req.exprs.push_back(expr::ParseNamedExpr(e));
  auto params = ParseNumberAssignments(a.params, "--param");
  if (!params.ok()) return Fail(params.status());
  req.compile.params = std::move(*params);

  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto result = expr::EvaluateOnSnapshot(**store, req);
  if (!result.ok()) return Fail(result.status());
  if (a.explain) std::fprintf(stderr, "%s", result->program.Explain().c_str());
  const Panel& v = result->values;
  if (!a.out.empty()) {
    auto format = data::ParseExportFormat(a.format == "table" ? "csv" : a.format);
    if (!format.ok()) return Fail(format.status());
    Status st =
        data::ExportValues(v, result->bars, result->daily, *format, a.out,
                           {{"qraft.snapshot_id", result->snapshot_id},
                            {"qraft.semantics", std::string(expr::SemanticsName(*semantics))}});
    return st.ok() ? kExitOk : Fail(st);
  }
  if (a.format == "csv") {
    Status st = data::WriteValuesCsv(v, result->bars, result->daily, stdout);
    return st.ok() ? kExitOk : Fail(st);
  }
  // Table: the first `limit` rows with a bar.
  std::string header = fmt::format("{:<19} {:<10}", result->daily ? "date" : "time", "symbol");
  for (const std::string& f : v.field_names())
    header += fmt::format(" {:>14.14}", f);
  std::printf("%s\n", header.c_str());
  std::size_t shown = 0, total = 0;
  for (std::size_t s = 0; s < v.num_symbols(); ++s) {
    for (std::size_t t = 0; t < v.num_times(); ++t) {
      if (!result->bars.HasBar(s, t)) continue;
      ++total;
      if (a.limit > 0 && shown >= a.limit) continue;
      ++shown;
      std::string line = fmt::format(
          "{:<19} {:<10}", FormatTimestamp(v.calendar()[t], result->daily), v.symbols()[s]);
      for (std::size_t f = 0; f < v.num_fields(); ++f) {
        const double x = v.at(f, s, t);
        line += std::isnan(x) ? fmt::format(" {:>14}", "NaN") : fmt::format(" {:>14.6g}", x);
      }
      std::printf("%s\n", line.c_str());
    }
  }
  if (shown < total) std::printf("(%zu of %zu rows; --limit 0 for all)\n", shown, total);
  return kExitOk;
}

int Ops(bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const expr::FunctionDef& f : expr::AllFunctions()) {
      nlohmann::json args = nlohmann::json::array();
      for (const expr::ArgSpec& arg : f.args)
        args.push_back(std::string(arg.name));
      j.push_back(
          {{"name", std::string(f.name)}, {"args", args}, {"summary", std::string(f.summary)}});
    }
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  for (const expr::FunctionDef& f : expr::AllFunctions()) {
    std::string sig;
    for (const expr::ArgSpec& arg : f.args)
      sig += (sig.empty() ? "" : ", ") + std::string(arg.name);
    std::printf("%-14s (%s)  %s\n", std::string(f.name).c_str(), sig.c_str(),
                std::string(f.summary).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterExpr(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("expr", "Evaluate factor expressions");
  cmd->require_subcommand(1);
  {
    auto a = std::make_shared<EvalArgs>();
    CLI::App* eval = cmd->add_subcommand("eval", "Evaluate expressions on a snapshot");
    a->store.Add(*eval);
    eval->add_option("expr", a->exprs, "Expressions, each EXPR or NAME=EXPR")->required();
    eval->add_option("--data", a->data, "Snapshot id, id prefix, market@freq or market")
        ->required();
    eval->add_option("--semantics", a->semantics, "native (default) or qlib");
    eval->add_option("--param", a->params, "A ${NAME} value, NAME=NUMBER (repeatable)");
    eval->add_option("--symbols", a->symbols, "Comma-separated symbols (default: all)");
    eval->add_option("--start", a->start, "First date/time (inclusive; warm-up is loaded)");
    eval->add_option("--end", a->end, "Last date/time (inclusive)");
    eval->add_option("--adjust", a->adjust, "none, forward or backward");
    eval->add_option("--format", a->format, "table (default), csv or parquet");
    eval->add_option("--out", a->out, "Write to FILE (csv or parquet) instead of stdout");
    eval->add_option("--limit", a->limit, "Table rows to print (0 = all)");
    eval->add_flag("--label", a->label, "Allow references to the future (labels)");
    eval->add_flag("--explain", a->explain, "Print the compiled plan to stderr");
    eval->callback([a, exit_code] { *exit_code = Eval(*a); });
  }
  {
    auto json = std::make_shared<bool>(false);
    CLI::App* ops = cmd->add_subcommand("ops", "List the operators");
    ops->add_flag("--json", *json, "Print JSON");
    ops->callback([json, exit_code] { *exit_code = Ops(*json); });
  }
}

}  // namespace qraft::cli
