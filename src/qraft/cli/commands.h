// The `qraft` subcommands. Each Register* adds a subcommand whose callback runs the library call
// and stores the exit code in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace qraft::cli {

void RegisterIngest(CLI::App& app, int* exit_code);
void RegisterData(CLI::App& app, int* exit_code);
void RegisterExpr(CLI::App& app, int* exit_code);
void RegisterFactor(CLI::App& app, int* exit_code);
void RegisterStrategy(CLI::App& app, int* exit_code);
void RegisterBacktest(CLI::App& app, int* exit_code);
void RegisterReport(CLI::App& app, int* exit_code);
void RegisterPrecise(CLI::App& app, int* exit_code);
void RegisterReplay(CLI::App& app, int* exit_code);
void RegisterGate(CLI::App& app, int* exit_code);
void RegisterRobust(CLI::App& app, int* exit_code);

}  // namespace qraft::cli
