// qraft factor list | show | eval | check | propose | approve | deprecate
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/data/store.h"
#include "qraft/expr/api.h"
#include "qraft/factor/api.h"

namespace qraft::cli {
namespace {

constexpr int kExitLeak = 3;

struct Common {
  StoreOptions store;
  bool json = false;
  std::filesystem::path Root() const { return store.Root(); }
  Result<std::unique_ptr<factor::FactorRegistry>> Registry() const {
    std::error_code ec;
    std::filesystem::create_directories(Root(), ec);
    return factor::FactorRegistry::Open(factor::DefaultRegistryPath(Root()));
  }
};

nlohmann::json Number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

int List(const Common& c, const std::string& library, const std::string& status) {
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  auto all = (*reg)->List(library);
  if (!all.ok()) return Fail(all.status());
  std::vector<const factor::FactorDef*> shown;
  for (const factor::FactorDef& d : *all) {
    if (status.empty() || factor::FactorStatusName(d.status) == status) shown.push_back(&d);
  }
  if (c.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const factor::FactorDef* d : shown)
      j.push_back(d->ToJson());
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::printf("%-34s %-9s %-10s %s\n", "uri", "status", "window", "expression");
  for (const factor::FactorDef* d : shown) {
    std::printf("%-34s %-9s %-10s %s\n", d->Uri().c_str(),
                std::string(factor::FactorStatusName(d->status)).c_str(),
                d->window == expr::kUnbounded ? "unbounded" : std::to_string(d->window).c_str(),
                d->expression.c_str());
  }
  return kExitOk;
}

int Show(const Common& c, const std::string& uri) {
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  auto def = (*reg)->Find(uri);
  if (!def.ok()) return Fail(def.status());
  auto parsed = factor::ParseFactorUri(def->Uri());
  auto history = (*reg)->History(*parsed);
  if (!history.ok()) return Fail(history.status());
  nlohmann::json j = def->ToJson();
  nlohmann::json h = nlohmann::json::array();
  for (const factor::HistoryEntry& e : *history) {
    h.push_back({{"from", e.from}, {"to", e.to}, {"at", e.at}, {"note", e.note}});
  }
  j["history"] = h;
  if (c.json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s\n", j.dump(2).c_str());
  }
  return kExitOk;
}

struct EvalArgs {
  std::vector<std::string> items;
  std::string data, semantics = "native", symbols, start, end, horizons = "1,5,10,20";
  int quantiles = 10;
  std::size_t min_pairs = 10;
};

Result<data::DataRequest> Request(const std::string& ref, const std::string& symbols,
                                  const std::string& start, const std::string& end) {
  data::DataRequest req;
  req.snapshot = ref;
  req.symbols = SplitList(symbols);
  QRAFT_ASSIGN_OR_RETURN(req.start, data::ParseRequestTime(start));
  QRAFT_ASSIGN_OR_RETURN(req.end, data::ParseRequestTime(end));
  return req;
}

int Eval(const Common& c, const EvalArgs& a) {
  ThreadLimit limit(c.store.threads);
  auto store = c.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  factor::FactorValuesRequest req;
  auto data_req = Request(a.data, a.symbols, a.start, a.end);
  if (!data_req.ok()) return Fail(data_req.status());
  req.data = *data_req;
  auto semantics = expr::ParseSemantics(a.semantics);
  if (!semantics.ok()) return Fail(semantics.status());
  req.semantics = *semantics;
  for (const std::string& item : a.items)
    req.items.push_back(expr::ParseNamedExpr(item));
  factor::EvaluateOptions options;
  options.horizons.clear();
  for (const std::string& h : SplitList(a.horizons)) {
    char* end = nullptr;
    const long v = std::strtol(h.c_str(), &end, 10);
    if (*end != '\0' || v <= 0 || v > 100000) {
      return Fail(Status::InvalidArgument(
          fmt::format("--horizons: '{}' is not a positive number of bars", h)));
    }
    options.horizons.push_back(static_cast<int>(v));
  }
  options.n_quantiles = a.quantiles;
  options.min_pairs = a.min_pairs;
  const factor::FeatureCache cache(c.Root() / "features");
  auto values = factor::ComputeFactorValues(**store, **reg, req, &cache);
  if (!values.ok()) return Fail(values.status());
  if (values->close.num_fields() == 0) {
    return Fail(Status::InvalidArgument("the snapshot has no 'close' field to compute returns"));
  }
  const factor::FieldView close = factor::FieldView::Of(values->close, 0);
  nlohmann::json out = nlohmann::json::array();
  std::vector<factor::FieldView> views;
  for (std::size_t f = 0; f < values->values.num_fields(); ++f) {
    const factor::FieldView view = factor::FieldView::Of(values->values, f);
    views.push_back(view);
    auto ev = factor::EvaluateFactor(view, close, options);
    if (!ev.ok()) return Fail(ev.status());
    nlohmann::json horizons = nlohmann::json::array();
    for (const factor::HorizonEvaluation& h : ev->horizons) {
      auto summary = [](const factor::SeriesSummary& s) {
        return nlohmann::json{
            {"mean", Number(s.mean)},     {"std", Number(s.std)},           {"ir", Number(s.ir)},
            {"t_stat", Number(s.t_stat)}, {"positive", Number(s.positive)}, {"dates", s.num_dates}};
      };
      nlohmann::json q = nlohmann::json::array();
      for (double r : h.quantile_returns)
        q.push_back(Number(r));
      horizons.push_back({{"horizon", h.horizon},
                          {"ic", summary(h.ic_summary)},
                          {"rank_ic", summary(h.rank_ic_summary)},
                          {"quantile_returns", q},
                          {"spread_mean", Number(h.spread_mean)}});
    }
    out.push_back({{"name", values->values.field_names()[f]},
                   {"horizons", horizons},
                   {"coverage", Number(ev->coverage)},
                   {"missing_rate", Number(ev->missing_rate)},
                   {"top_turnover", Number(ev->top_turnover)},
                   {"rank_autocorrelation", Number(ev->rank_autocorrelation)}});
  }
  nlohmann::json result = {{"snapshot_id", values->snapshot_id}, {"factors", out}};
  if (views.size() > 1) {
    auto corr = factor::CorrelateFactors(views, {});
    if (!corr.ok()) return Fail(corr.status());
    nlohmann::json m = nlohmann::json::array();
    for (double v : corr->matrix)
      m.push_back(Number(v));
    result["correlation"] = {{"matrix", m}, {"cluster", corr->cluster}};
  }
  if (c.json) {
    std::printf("%s\n", result.dump().c_str());
    return kExitOk;
  }
  auto num = [](const nlohmann::json& v) {
    return v.is_null() ? std::string("NaN") : fmt::format("{:.4f}", v.get<double>());
  };
  for (const auto& f : out) {
    std::printf("%s\n", f["name"].get<std::string>().c_str());
    std::printf("  coverage %s  top-quantile turnover %s  rank autocorrelation %s\n",
                num(f["coverage"]).c_str(), num(f["top_turnover"]).c_str(),
                num(f["rank_autocorrelation"]).c_str());
    std::printf("  %-8s %10s %10s %10s %10s %12s\n", "horizon", "IC", "IC IR", "RankIC",
                "RankIC IR", "top-bottom");
    for (const auto& h : f["horizons"]) {
      std::printf("  %-8d %10s %10s %10s %10s %12s\n", h["horizon"].get<int>(),
                  num(h["ic"]["mean"]).c_str(), num(h["ic"]["ir"]).c_str(),
                  num(h["rank_ic"]["mean"]).c_str(), num(h["rank_ic"]["ir"]).c_str(),
                  num(h["spread_mean"]).c_str());
    }
  }
  if (result.contains("correlation")) {
    std::printf("clusters (1 - |rank corr| < 0.3): %s\n",
                result["correlation"]["cluster"].dump().c_str());
  }
  return kExitOk;
}

// The data a look-ahead check runs on: a snapshot, or the seeded synthetic market.
Result<Panel> CheckData(const Common& c, const std::string& ref) {
  if (ref.empty()) return factor::LeakCheckPanel();
  QRAFT_ASSIGN_OR_RETURN(auto store, c.store.Open());
  QRAFT_ASSIGN_OR_RETURN(data::Snapshot snap, store->Open(ref));
  return snap.panel();
}

int Check(const Common& c, const std::string& item, const std::string& data_ref,
          const std::string& semantics_name, bool label) {
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  auto semantics = expr::ParseSemantics(semantics_name);
  if (!semantics.ok()) return Fail(semantics.status());
  auto data = CheckData(c, data_ref);
  if (!data.ok()) return Fail(data.status());
  ThreadLimit limit(c.store.threads);
  auto report = factor::CheckItem(**reg, expr::ParseNamedExpr(item), *semantics, label, *data);
  if (!report.ok()) return Fail(report.status());
  if (c.json) {
    std::printf("%s\n", nlohmann::json({{"leak", report->leak},
                                        {"cut_points", report->cut_points_checked},
                                        {"values_compared", report->values_compared},
                                        {"message", report->ToText()}})
                            .dump()
                            .c_str());
  } else {
    std::printf("%s\n", report->ToText().c_str());
  }
  return report->leak ? kExitLeak : kExitOk;
}

int Propose(const Common& c, const std::string& file, const std::string& note) {
  std::ifstream in(file);
  if (!in) return Fail(Status::NotFound(fmt::format("{}: cannot open", file)));
  std::stringstream text;
  text << in.rdbuf();
  auto defs = factor::ParseLibraryYaml(text.str(), file);
  if (!defs.ok()) return Fail(defs.status());
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  for (factor::FactorDef& d : *defs) {
    auto added = (*reg)->Propose(d, note);
    if (!added.ok()) return Fail(added.status());
    std::printf("%s %s\n", added->Uri().c_str(),
                std::string(factor::FactorStatusName(added->status)).c_str());
  }
  return kExitOk;
}

int Approve(const Common& c, const std::string& uri_text, const std::string& data_ref,
            const std::string& note) {
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  auto uri = factor::ParseFactorUri(uri_text);
  if (!uri.ok()) return Fail(uri.status());
  auto data = CheckData(c, data_ref);
  if (!data.ok()) return Fail(data.status());
  auto report = factor::ApproveFactor(**reg, *uri, *data, note);
  if (!report.ok()) return Fail(report.status());
  std::printf("%s\n", report->ToText().c_str());
  if (report->leak) {
    std::fprintf(stderr, "qraft: error: %s was not approved: it looks ahead\n", uri_text.c_str());
    return kExitLeak;
  }
  std::printf("%s approved\n", uri_text.c_str());
  return kExitOk;
}

int Deprecate(const Common& c, const std::string& uri_text, const std::string& note) {
  auto reg = c.Registry();
  if (!reg.ok()) return Fail(reg.status());
  auto uri = factor::ParseFactorUri(uri_text);
  if (!uri.ok()) return Fail(uri.status());
  Status st = (*reg)->SetStatus(*uri, factor::FactorStatus::kDeprecated, note);
  if (!st.ok()) return Fail(st);
  std::printf("%s deprecated\n", uri_text.c_str());
  return kExitOk;
}

}  // namespace

void RegisterFactor(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("factor", "The factor library: list, evaluate, check, review");
  cmd->require_subcommand(1);
  auto add = [&](const char* name, const char* help) {
    auto common = std::make_shared<Common>();
    CLI::App* sub = cmd->add_subcommand(name, help);
    common->store.Add(*sub);
    sub->add_flag("--json", common->json, "Print JSON");
    return std::make_pair(sub, common);
  };
  {
    auto [sub, common] = add("list", "List factors (built-in and registered)");
    auto library = std::make_shared<std::string>();
    auto status = std::make_shared<std::string>();
    sub->add_option("--library", *library, "Only this library (e.g. common, alpha158)");
    sub->add_option("--status", *status, "Only this status: proposed, approved, deprecated");
    sub->callback([common = common, library, status, exit_code] {
      *exit_code = List(*common, *library, *status);
    });
  }
  {
    auto [sub, common] = add("show", "Show a factor's definition and history");
    auto uri = std::make_shared<std::string>();
    sub->add_option("uri", *uri, "factor://library/name[@version]")->required();
    sub->callback([common = common, uri, exit_code] { *exit_code = Show(*common, *uri); });
  }
  {
    auto [sub, common] = add("eval", "IC, rank IC, decay, quantile returns, turnover of factors");
    auto a = std::make_shared<EvalArgs>();
    sub->add_option("factor", a->items, "Factor URIs or expressions (NAME=EXPR)")->required();
    sub->add_option("--data", a->data, "Snapshot reference")->required();
    sub->add_option("--semantics", a->semantics, "For expressions: native (default) or qlib");
    sub->add_option("--symbols", a->symbols, "Comma-separated symbols (default: all)");
    sub->add_option("--start", a->start, "First date (inclusive)");
    sub->add_option("--end", a->end, "Last date (inclusive)");
    sub->add_option("--horizons", a->horizons,
                    "Forward-return horizons in bars (default 1,5,10,20)");
    sub->add_option("--quantiles", a->quantiles, "Quantile buckets (default 10)");
    sub->add_option("--min-pairs", a->min_pairs, "Minimum names per date for an IC (default 10)");
    sub->callback([common = common, a, exit_code] { *exit_code = Eval(*common, *a); });
  }
  {
    auto [sub, common] = add("check", "Look-ahead check: exit 0 clean, 3 leak, 2 bad input");
    auto item = std::make_shared<std::string>();
    auto data = std::make_shared<std::string>();
    auto semantics = std::make_shared<std::string>("native");
    auto label = std::make_shared<bool>(false);
    sub->add_option("factor", *item, "Factor URI or expression")->required();
    sub->add_option("--data", *data, "Snapshot (default: a seeded synthetic market)");
    sub->add_option("--semantics", *semantics, "For expressions: native (default) or qlib");
    sub->add_flag("--label", *label, "Allow explicit future references (then they are found)");
    sub->callback([common = common, item, data, semantics, label, exit_code] {
      *exit_code = Check(*common, *item, *data, *semantics, *label);
    });
  }
  {
    auto [sub, common] = add("propose", "Register the factors of a library YAML file as proposed");
    auto file = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    sub->add_option("file", *file, "Factor library YAML (docs/factors.md)")->required();
    sub->add_option("--note", *note, "Recorded in the history");
    sub->callback(
        [common = common, file, note, exit_code] { *exit_code = Propose(*common, *file, *note); });
  }
  {
    auto [sub, common] =
        add("approve", "Approve a proposed factor if it passes the look-ahead check");
    auto uri = std::make_shared<std::string>();
    auto data = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    sub->add_option("uri", *uri, "factor://library/name@version")->required();
    sub->add_option("--data", *data, "Snapshot for the check (default: synthetic market)");
    sub->add_option("--note", *note, "Recorded in the history");
    sub->callback([common = common, uri, data, note, exit_code] {
      *exit_code = Approve(*common, *uri, *data, *note);
    });
  }
  {
    auto [sub, common] = add("deprecate", "Retire a factor version");
    auto uri = std::make_shared<std::string>();
    auto note = std::make_shared<std::string>();
    sub->add_option("uri", *uri, "factor://library/name@version")->required();
    sub->add_option("--note", *note, "Recorded in the history");
    sub->callback(
        [common = common, uri, note, exit_code] { *exit_code = Deprecate(*common, *uri, *note); });
  }
}

}  // namespace qraft::cli
