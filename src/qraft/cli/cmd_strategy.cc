// qraft strategy check
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/strategy/dsl.h"

namespace qraft::cli {
namespace {

int Check(const std::string& file, bool json) {
  auto spec = strategy::LoadStrategy(file);
  if (!spec.ok()) return Fail(spec.status());
  auto combos = spec->Combinations();
  if (!combos.ok()) return Fail(combos.status());
  nlohmann::json params = nlohmann::json::object();
  for (const strategy::ParamSpec& p : spec->params) {
    params[p.name] = {{"values", p.domain.values}, {"default", p.domain.default_value}};
  }
  nlohmann::json exprs = nlohmann::json::object();
  for (const auto& [role, text] : spec->Expressions())
    exprs[role] = text;
  const nlohmann::json out = {{"file", file},
                              {"name", spec->name},
                              {"dsl_hash", spec->DslHash()},
                              {"combinations", combos->size()},
                              {"params", params},
                              {"expressions", exprs},
                              {"assumptions", spec->assumptions},
                              {"canonical", spec->Canonical()}};
  if (json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("%s: ok\n", file.c_str());
  std::printf("dsl_hash      %s\n", spec->DslHash().c_str());
  std::printf("combinations  %zu\n", combos->size());
  for (const auto& [role, text] : spec->Expressions()) {
    std::printf("%-13s %s\n", role.c_str(), text.c_str());
  }
  for (const std::string& a : spec->assumptions)
    std::printf("ASSUMPTION    %s\n", a.c_str());
  return kExitOk;
}

}  // namespace

void RegisterStrategy(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("strategy", "Strategy files (DSL v1)");
  cmd->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* check =
      cmd->add_subcommand("check", "Statically check a strategy file; print its dsl_hash and grid");
  check->add_option("file", *file, "Strategy YAML (docs/dsl.md)")->required();
  check->add_flag("--json", *json, "Print JSON (includes the canonical form)");
  check->callback([file, json, exit_code] { *exit_code = Check(*file, *json); });
}

}  // namespace qraft::cli
