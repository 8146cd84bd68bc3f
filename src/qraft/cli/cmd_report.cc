// qraft report RESULT_DIR [--out FILE]
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

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
  const std::filesystem::path out =
      a.out.empty() ? std::filesystem::path(a.dir) / "report.html" : std::filesystem::path(a.out);
  const std::filesystem::path parent = out.has_parent_path() ? out.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    return Fail(Status::InvalidArgument(
        fmt::format("--out {}: the directory {} does not exist", out.string(), parent.string())));
  }
  if (Status st = report::WriteReport(*result, out, a.options); !st.ok()) return Fail(st);
  std::printf("%s: %zu combinations, %zu kept candidates\n%s\n",
              result->name.empty() ? "report" : result->name.c_str(), result->results.size(),
              result->details.size(), out.string().c_str());
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
  cmd->callback([a, exit_code] { *exit_code = Run(*a); });
}

}  // namespace qraft::cli
