// qraft: the command-line tool. Subcommands live in cmd_*.cc; all logic lives in the library.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Qraft: rule- and factor-driven quantitative strategy research"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("qraft ") + QRAFT_VERSION);
  int exit_code = qraft::cli::kExitOk;
  qraft::cli::RegisterIngest(app, &exit_code);
  qraft::cli::RegisterData(app, &exit_code);
  qraft::cli::RegisterExpr(app, &exit_code);
  qraft::cli::RegisterFactor(app, &exit_code);
  qraft::cli::RegisterStrategy(app, &exit_code);
  qraft::cli::RegisterBacktest(app, &exit_code);
  qraft::cli::RegisterReport(app, &exit_code);
  qraft::cli::RegisterPrecise(app, &exit_code);
  qraft::cli::RegisterReplay(app, &exit_code);
  qraft::cli::RegisterGate(app, &exit_code);
  qraft::cli::RegisterRobust(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "qraft: error: %s (see --help)\n", e.what());
    return qraft::cli::kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qraft: internal error: %s\n", e.what());
    return qraft::cli::kExitInternal;
  }
  return exit_code;
}
