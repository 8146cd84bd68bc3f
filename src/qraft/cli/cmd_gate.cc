// qraft gate: the quality gates over a sweep's result directory (gates/gate.h, docs/gates.md).
#include <fmt/format.h>

#include <cstdio>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/file_io.h"
#include "qraft/core/parallel.h"
#include "qraft/gates/gate.h"

namespace qraft::cli {
namespace {

struct Args {
  StoreOptions store;
  std::string dir, gates, out;
  bool json = false, require_pass = false;
};

constexpr int kExitNonePassed = 3;

std::string Text(const gates::GateReport& r) {
  std::string s = fmt::format(
      "{} trials; train {} bars, validation {} ({} to {}), holdout {} ({} to {})\n", r.trials,
      r.train.size(), r.validation.size(), FormatTimestamp(r.validation.first, r.daily),
      FormatTimestamp(r.validation.last, r.daily), r.holdout.size(),
      FormatTimestamp(r.holdout.first, r.daily), FormatTimestamp(r.holdout.last, r.daily));
  s += fmt::format(
      "search: SPA p {:.4f} (lower {:.4f}, upper {:.4f}), Reality Check p {:.4f}, StepM {} "
      "superior, PBO {:.3f}, SR0 {:.4f} per bar\n",
      r.spa_consistent, r.spa_lower, r.spa_upper, r.rc_p, r.stepm.size(), r.pbo,
      r.expected_max_sharpe);
  std::size_t passed = 0;
  for (const gates::CandidateGates& g : r.candidates) {
    passed += g.pass;
    std::string params;
    for (const auto& [k, v] : g.params)
      params += fmt::format("{}{}={}", params.empty() ? "" : " ", k, v);
    s += fmt::format("{} {} [{}] {} {:.4f}\n", g.pass ? "PASS" : "FAIL", g.id, params,
                     r.config.objective, g.objective);
    for (const gates::GateResult& x : g.gates) {
      s += fmt::format("    {:<4} {:<12} {}{}\n", x.pass ? "ok" : "FAIL", x.name, x.reason,
                       x.hint.empty() ? "" : fmt::format(" -> {}", x.hint));
    }
  }
  s += fmt::format("{} of {} candidates pass", passed, r.candidates.size());
  return s;
}

int Gate(const Args& a) {
  ThreadLimit limit(a.store.threads);
  gates::GatesConfig config;
  if (!a.gates.empty()) {
    auto c = gates::LoadGatesConfig(a.gates);
    if (!c.ok()) return Fail(c.status());
    config = *c;
  }
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  TerminalProgress progress;
  auto r = gates::RunGates(**store, a.dir, config, progress);
  if (!r.ok()) return Fail(r.status());
  // By default the sweep's directory keeps the study (gates.json, and sensitivity.json for the
  // report's overlap curve when it has none); --out writes the JSON elsewhere instead.
  Status written = a.out.empty() ? gates::WriteGateReport(a.dir, *r)
                                 : WriteFileAtomically(a.out, gates::ToJson(*r).dump(2) + "\n");
  if (!written.ok()) return Fail(written);
  std::printf("%s\n", a.json ? gates::ToJson(*r).dump().c_str() : Text(*r).c_str());
  const bool any = std::any_of(r->candidates.begin(), r->candidates.end(),
                               [](const gates::CandidateGates& g) { return g.pass; });
  return a.require_pass && !any ? kExitNonePassed : kExitOk;
}

}  // namespace

void RegisterGate(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "gate",
      "Quality gates on a sweep: DSR, SPA/StepM, PBO, holdout IR, cost sensitivity, two-stage "
      "consistency and a fresh rerun, per candidate (docs/gates.md)");
  a->store.Add(*cmd);
  cmd->add_option("sweep_dir", a->dir, "A sweep's result directory (qraft sweep --out)")
      ->required();
  cmd->add_option("--gates", a->gates, "A gates file overriding the defaults (gates.yaml)");
  cmd->add_option("--out", a->out, "Where to write the JSON report (default SWEEP_DIR/gates.json)");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->add_flag("--require-pass", a->require_pass, "Exit 3 when no candidate passes");
  cmd->callback([a, exit_code] { *exit_code = Gate(*a); });
}

}  // namespace qraft::cli
