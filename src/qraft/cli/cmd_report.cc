// qraft report RESULT_DIR [--out FILE] [--candidates N] [--trades N] [--fills N]
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/engines/results.h"
#include "qraft/report/report.h"

namespace qraft::cli {
namespace {

struct Args {
  std::string dir, out;
  report::ReportOptions options;
};

int Run(const Args& a) {
  auto result = engines::ReadResultDir(a.dir);
  if (!result.ok()) return Fail(result.status());
  // The optional files: order and fill logs, sensitivity.json, consistency.json.
  auto extras = report::ReadReportExtras(a.dir, *result);
  if (!extras.ok()) return Fail(extras.status());
  const std::filesystem::path out =
      a.out.empty() ? std::filesystem::path(a.dir) / "report.html" : std::filesystem::path(a.out);
  const std::filesystem::path parent = out.has_parent_path() ? out.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    return Fail(Status::InvalidArgument(
        fmt::format("--out {}: the directory {} does not exist", out.string(), parent.string())));
  }
  if (Status st = report::WriteReport(*result, *extras, out, a.options); !st.ok()) return Fail(st);
  std::string also;
  if (!extras->logs.empty()) also += fmt::format(", order logs of {}", extras->logs.size());
  if (extras->sensitivity) also += ", cost sensitivity";
  if (extras->consistency) also += ", two-stage consistency";
  std::printf("%s: %zu combinations, %zu kept candidates%s\n%s\n",
              result->name.empty() ? "report" : result->name.c_str(), result->results.size(),
              result->details.size(), also.c_str(), out.string().c_str());
  return kExitOk;
}

}  // namespace

void RegisterReport(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write a self-contained HTML report of a result directory (docs/report.md)");
  cmd->add_option("result_dir", a->dir, "Result directory (qraft backtest/sweep --out)")
      ->required();
  cmd->add_option("--out", a->out, "HTML file to write (default: RESULT_DIR/report.html)");
  cmd->add_option("--candidates", a->options.candidates,
                  "Kept candidates given a section, best first (default 10)");
  cmd->add_option("--trades", a->options.trades, "Trades listed per candidate (default 20)");
  cmd->add_option("--fills", a->options.fills,
                  "Fills listed per candidate with an order log (default 20)");
  cmd->callback([a, exit_code] { *exit_code = Run(*a); });
}

}  // namespace qraft::cli
