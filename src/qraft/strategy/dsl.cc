#include "qraft/strategy/dsl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "qraft/core/hash.h"
#include "qraft/data/market.h"
#include "qraft/expr/compiler.h"
#include "qraft/expr/parser.h"
#include "qraft/factor/yaml_reader.h"

namespace qraft::strategy {

double Num::Resolve(const ParamValues& params) const {
  if (param.empty()) return value;
  auto it = params.find(param);
  return it == params.end() ? std::nan("") : it->second;
}

namespace {

constexpr std::string_view kCloseFillAssumption =
    "execution.assume_close_fill: orders decided on bar t's data fill at bar t's own close";

const std::regex kParamRef(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
const std::regex kWholeParam(R"(^\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*$)");

class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : r_(source), text_(text) {}

  Result<StrategySpec> Run() {
    QRAFT_ASSIGN_OR_RETURN(YAML::Node root, factor::LoadYaml(text_, r_.source()));
    if (!root.IsMap()) return r_.Error(root, "a strategy file is a mapping (version: 1, ...)");
    QRAFT_RETURN_NOT_OK(r_.OnlyKeys(
        root,
        {"version", "name", "description", "universe", "rebalance", "signals", "selection",
         "position", "risk", "costs", "hold", "cooldown_days", "execution", "params"},
        "a strategy"));
    StrategySpec s;
    if (!root["version"]) return r_.Error(root, "missing 'version: 1' (the DSL version)");
    QRAFT_ASSIGN_OR_RETURN(double version, r_.Number(root["version"], "version"));
    if (version != 1) {
      return r_.Error(
          root["version"],
          fmt::format("DSL version {} is not supported; this Qraft reads version 1", version));
    }
    if (root["name"]) QRAFT_RETURN_NOT_OK(Str(root["name"], "name", &s.name));
    if (root["description"]) {
      QRAFT_RETURN_NOT_OK(Str(root["description"], "description", &s.description));
    }
    // Parameters first: every other section may refer to them.
    if (root["params"]) QRAFT_RETURN_NOT_OK(Params(root["params"], &s));
    if (root["universe"]) QRAFT_RETURN_NOT_OK(UniverseOf(root["universe"], &s.universe));
    if (root["rebalance"]) QRAFT_RETURN_NOT_OK(RebalanceOf(root["rebalance"], &s.rebalance));
    if (root["signals"]) QRAFT_RETURN_NOT_OK(SignalsOf(root["signals"], &s.signals));
    if (root["selection"]) QRAFT_RETURN_NOT_OK(SelectionOf(root["selection"], &s.selection));
    if (root["position"]) QRAFT_RETURN_NOT_OK(PositionOf(root["position"], &s.position));
    if (root["risk"]) QRAFT_RETURN_NOT_OK(RiskOf(root["risk"], &s.risk));
    if (root["costs"]) QRAFT_RETURN_NOT_OK(CostsOf(root["costs"], &s.costs));
    if (const YAML::Node h = root["hold"]) {
      QRAFT_RETURN_NOT_OK(r_.OnlyKeys(h, {"min_days"}, "hold"));
      if (h["min_days"]) {
        QRAFT_ASSIGN_OR_RETURN(s.hold_min_bars, NumberOf(h["min_days"], "hold.min_days", 0, 1e6));
      }
    }
    if (root["cooldown_days"]) {
      QRAFT_ASSIGN_OR_RETURN(s.cooldown_bars,
                             NumberOf(root["cooldown_days"], "cooldown_days", 0, 1e6));
    }
    if (root["execution"]) QRAFT_RETURN_NOT_OK(ExecutionOf(root["execution"], &s));
    QRAFT_RETURN_NOT_OK(CheckCombination(root, s));
    QRAFT_RETURN_NOT_OK(CheckParamsUsed(root, s));
    return s;
  }

 private:
  Status Str(const YAML::Node& n, std::string_view what, std::string* out) {
    QRAFT_ASSIGN_OR_RETURN(*out, r_.String(n, what));
    return Status::OK();
  }

  // ---- parameters ----------------------------------------------------------------------

  Status Params(const YAML::Node& n, StrategySpec* s) {
    if (!n.IsMap()) return r_.Error(n, "params must be a mapping of name: {range|values}");
    for (const auto& kv : n) {
      const std::string name = kv.first.as<std::string>();
      if (name == "where") {
        QRAFT_RETURN_NOT_OK(Str(kv.second, "params.where", &s->where));
        where_node_ = kv.second;
        continue;
      }
      if (!std::regex_match(name, std::regex(R"(^[a-z_][a-z0-9_]*$)"))) {
        return r_.Error(kv.first, fmt::format("parameter name '{}': use lower-case letters, digits "
                                              "and _ (it is written ${{{}}})",
                                              name, name));
      }
      QRAFT_ASSIGN_OR_RETURN(factor::ParamDomain d, r_.Domain(kv.second, name, false));
      s->params.push_back({name, std::move(d)});
      declared_[name] = s->params.back().domain.default_value;
    }
    if (!s->where.empty()) {
      // The constraint must compile over the parameters alone.
      expr::ParamGrid grid;
      for (const ParamSpec& p : s->params)
        grid.domains.push_back({p.name, {p.domain.default_value}});
      grid.where = s->where;
      Result<expr::GridProgram> g = expr::CompileGrid({}, grid, {});
      if (!g.ok()) {
        return ExprError(where_node_, "params.where", g.status(),
                         "a condition over the parameters, e.g. 'fast < slow'");
      }
    }
    return Status::OK();
  }

  // A number or ${param}, within [lo, hi] when literal.
  Result<Num> NumberOf(const YAML::Node& n, std::string_view what, double lo, double hi) {
    if (n.IsScalar()) {
      std::smatch m;
      const std::string text = n.as<std::string>();
      if (std::regex_match(text, m, kWholeParam)) {
        const std::string name = m[1].str();
        if (declared_.count(name) == 0) {
          return r_.Error(
              n, fmt::format("{}: parameter ${{{}}} is not declared under params", what, name));
        }
        used_.insert(name);
        return Num{declared_[name], name};
      }
    }
    QRAFT_ASSIGN_OR_RETURN(double v, r_.Number(n, what));
    if (v < lo || v > hi) {
      return r_.Error(n, fmt::format("{} must be within [{}, {}], got {}", what, lo, hi, v));
    }
    return Num{v, ""};
  }

  // ---- expressions ---------------------------------------------------------------------

  // Where the expression text starts in the file (1-based): the node's mark, moved past an
  // opening quote.
  std::pair<int, int> ExprStart(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    int line = m.line + 1, col = m.column + 1;
    std::size_t offset = static_cast<std::size_t>(m.pos);
    if (offset < text_.size() && (text_[offset] == '\'' || text_[offset] == '"')) ++col;
    return {line, col};
  }

  Status ExprError(const YAML::Node& n, std::string_view what, const Status& st,
                   std::string_view hint) const {
    // The compiler says "NAME: L:C: message" with positions inside the expression.
    std::string msg(st.message());
    static const std::regex kPos(R"(^[^:]*: (\d+):(\d+): (.*)$)");
    std::smatch m;
    const auto [line0, col0] = ExprStart(n);
    if (std::regex_match(msg, m, kPos)) {
      const int l = std::stoi(m[1].str()), c = std::stoi(m[2].str());
      const int line = line0 + l - 1, col = l == 1 ? col0 + c - 1 : c;
      return Status::InvalidArgument(fmt::format("{}:{}:{}: {}: {} (hint: {})", r_.source(), line,
                                                 col, what, m[3].str(), hint));
    }
    return Status::InvalidArgument(
        fmt::format("{}:{}:{}: {}: {} (hint: {})", r_.source(), line0, col0, what, msg, hint));
  }

  // Reads an expression and checks that it compiles at the parameters' defaults.
  Status ExprOf(const YAML::Node& n, std::string_view what, std::string* out) {
    QRAFT_RETURN_NOT_OK(Str(n, what, out));
    for (auto it = std::sregex_iterator(out->begin(), out->end(), kParamRef);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1].str();
      if (declared_.count(name) == 0) {
        return r_.Error(n, fmt::format("{}: parameter ${{{}}} is not declared under params (hint: "
                                       "add it, e.g. {}: {{values: [10, 20]}})",
                                       what, name, name));
      }
      used_.insert(name);
    }
    expr::CompileOptions options;
    options.params = declared_;
    std::vector<expr::ExprSpec> one = {{std::string(what), *out}};
    Result<expr::Program> p = expr::Compile(one, options);
    if (!p.ok()) {
      return ExprError(n, what, p.status(),
                       "see docs/expressions.md for the operators; `qraft expr ops` lists them");
    }
    return Status::OK();
  }

  // ---- sections ------------------------------------------------------------------------

  Status UniverseOf(const YAML::Node& n, Universe* u) {
    if (n.IsScalar()) {
      const std::string v = n.as<std::string>();
      if (v == "all") {
        u->kind = Universe::Kind::kAll;
      } else {
        u->kind = Universe::Kind::kMarket;
        u->market = v;
      }
      return Status::OK();
    }
    if (n.IsSequence()) {
      u->kind = Universe::Kind::kSymbols;
      QRAFT_ASSIGN_OR_RETURN(u->symbols, r_.Strings(n, "universe"));
      if (u->symbols.empty()) return r_.Error(n, "universe: the symbol list is empty");
      return Status::OK();
    }
    QRAFT_RETURN_NOT_OK(r_.OnlyKeys(n, {"market", "symbols", "instruments", "filter"}, "universe"));
    if (n.size() != 1) {
      return r_.Error(n, "universe: give one of market, symbols, instruments or filter");
    }
    if (n["market"]) {
      u->kind = Universe::Kind::kMarket;
      return Str(n["market"], "universe.market", &u->market);
    }
    if (n["symbols"]) {
      u->kind = Universe::Kind::kSymbols;
      QRAFT_ASSIGN_OR_RETURN(u->symbols, r_.Strings(n["symbols"], "universe.symbols"));
      return Status::OK();
    }
    if (n["instruments"]) {
      u->kind = Universe::Kind::kInstrumentsFile;
      return Str(n["instruments"], "universe.instruments", &u->file);
    }
    u->kind = Universe::Kind::kFilter;
    return ExprOf(n["filter"], "universe.filter", &u->filter);
  }

  Status RebalanceOf(const YAML::Node& n, Rebalance* rb) {
    QRAFT_ASSIGN_OR_RETURN(std::string v, r_.String(n, "rebalance"));
    std::smatch m;
    if (std::regex_match(v, m, std::regex(R"(^([1-9][0-9]*)(D|d|bars?)?$)"))) {
      rb->kind = Rebalance::Kind::kEveryBars;
      rb->bars = std::stoi(m[1].str());
      return Status::OK();
    }
    if (v == "1W" || v == "week_end") {
      rb->kind = Rebalance::Kind::kWeekEnd;
      return Status::OK();
    }
    if (v == "1M" || v == "month_end") {
      rb->kind = Rebalance::Kind::kMonthEnd;
      return Status::OK();
    }
    return r_.Error(n, fmt::format("rebalance '{}': expected ND (every N bars, e.g. 1D, 5D), N "
                                   "bars (e.g. 30), 1W/week_end or month_end",
                                   v));
  }

  Status SignalsOf(const YAML::Node& n, Signals* sig) {
    QRAFT_RETURN_NOT_OK(r_.OnlyKeys(n, {"long", "exit", "short", "short_exit"}, "signals"));
    if (n["long"]) QRAFT_RETURN_NOT_OK(ExprOf(n["long"], "signals.long", &sig->long_entry));
    if (n["exit"]) QRAFT_RETURN_NOT_OK(ExprOf(n["exit"], "signals.exit", &sig->long_exit));
    if (n["short"]) QRAFT_RETURN_NOT_OK(ExprOf(n["short"], "signals.short", &sig->short_entry));
    if (n["short_exit"]) {
      QRAFT_RETURN_NOT_OK(ExprOf(n["short_exit"], "signals.short_exit", &sig->short_exit));
    }
    if (sig->long_entry.empty() && sig->short_entry.empty()) {
      return r_.Error(n, "signals: give at least `long` or `short`");
    }
    if (!sig->long_exit.empty() && sig->long_entry.empty()) {
      return r_.Error(n["exit"], "signals.exit without signals.long");
    }
    if (!sig->short_exit.empty() && sig->short_entry.empty()) {
      return r_.Error(n["short_exit"], "signals.short_exit without signals.short");
    }
    return Status::OK();
  }

  Status SelectionOf(const YAML::Node& n, Selection* sel) {
    QRAFT_RETURN_NOT_OK(
        r_.OnlyKeys(n, {"mode", "score", "topk", "n_drop", "quantile", "threshold"}, "selection"));
    std::string mode = "all_signals";
    if (n["mode"]) QRAFT_RETURN_NOT_OK(Str(n["mode"], "selection.mode", &mode));
    static const std::map<std::string, Selection::Mode> kModes = {
        {"all_signals", Selection::Mode::kAllSignals},
        {"topk", Selection::Mode::kTopK},
        {"quantile", Selection::Mode::kQuantile},
        {"threshold", Selection::Mode::kThreshold}};
    auto it = kModes.find(mode);
    if (it == kModes.end()) {
      return r_.Error(n["mode"], fmt::format("selection.mode '{}': expected topk, quantile, "
                                             "threshold or all_signals",
                                             mode));
    }
    sel->mode = it->second;
    if (n["score"]) QRAFT_RETURN_NOT_OK(ExprOf(n["score"], "selection.score", &sel->score));
    if (sel->mode != Selection::Mode::kAllSignals && sel->score.empty()) {
      return r_.Error(
          n, fmt::format("selection.mode {} ranks by `score`: give selection.score", mode));
    }
    auto need = [&](const char* key) -> Status {
      if (!n[key])
        return r_.Error(n, fmt::format("selection.mode {} needs selection.{}", mode, key));
      return Status::OK();
    };
    switch (sel->mode) {
      case Selection::Mode::kTopK: {
        QRAFT_RETURN_NOT_OK(need("topk"));
        QRAFT_ASSIGN_OR_RETURN(sel->topk, NumberOf(n["topk"], "selection.topk", 1, 1e6));
        if (n["n_drop"]) {
          QRAFT_ASSIGN_OR_RETURN(sel->n_drop, NumberOf(n["n_drop"], "selection.n_drop", 0, 1e6));
          if (sel->topk.param.empty() && sel->n_drop->param.empty() &&
              sel->n_drop->value > sel->topk.value) {
            return r_.Error(n["n_drop"], "selection.n_drop cannot exceed selection.topk");
          }
        }
        break;
      }
      case Selection::Mode::kQuantile: {
        QRAFT_RETURN_NOT_OK(need("quantile"));
        QRAFT_ASSIGN_OR_RETURN(sel->quantile,
                               NumberOf(n["quantile"], "selection.quantile", 1e-9, 1));
        break;
      }
      case Selection::Mode::kThreshold: {
        QRAFT_RETURN_NOT_OK(need("threshold"));
        QRAFT_ASSIGN_OR_RETURN(sel->threshold,
                               NumberOf(n["threshold"], "selection.threshold", -1e300, 1e300));
        break;
      }
      case Selection::Mode::kAllSignals:
        break;
    }
    return Status::OK();
  }

  Status PositionOf(const YAML::Node& n, Position* p) {
    QRAFT_RETURN_NOT_OK(
        r_.OnlyKeys(n, {"scheme", "target_vol", "max_weight", "vol_window"}, "position"));
    std::string scheme = "equal";
    if (n["scheme"]) QRAFT_RETURN_NOT_OK(Str(n["scheme"], "position.scheme", &scheme));
    static const std::map<std::string, Position::Scheme> kSchemes = {
        {"equal", Position::Scheme::kEqual},
        {"score_weight", Position::Scheme::kScoreWeight},
        {"vol_target", Position::Scheme::kVolTarget},
        {"inverse_vol", Position::Scheme::kInverseVol}};
    auto it = kSchemes.find(scheme);
    if (it == kSchemes.end()) {
      return r_.Error(n["scheme"], fmt::format("position.scheme '{}': expected equal, "
                                               "score_weight, vol_target or inverse_vol",
                                               scheme));
    }
    p->scheme = it->second;
    if (n["target_vol"]) {
      QRAFT_ASSIGN_OR_RETURN(p->target_vol,
                             NumberOf(n["target_vol"], "position.target_vol", 1e-6, 10));
    }
    if (p->scheme == Position::Scheme::kVolTarget && !p->target_vol) {
      return r_.Error(n, "position.scheme vol_target needs position.target_vol (e.g. 0.15)");
    }
    if (n["max_weight"]) {
      QRAFT_ASSIGN_OR_RETURN(p->max_weight,
                             NumberOf(n["max_weight"], "position.max_weight", 1e-6, 1));
    }
    if (n["vol_window"]) {
      QRAFT_ASSIGN_OR_RETURN(p->vol_window,
                             NumberOf(n["vol_window"], "position.vol_window", 2, 10000));
    }
    return Status::OK();
  }

  Status RiskOf(const YAML::Node& n, Risk* r) {
    QRAFT_RETURN_NOT_OK(r_.OnlyKeys(n,
                                    {"stop_loss", "take_profit", "trailing_stop", "max_drawdown",
                                     "turnover_max", "group_max_weight"},
                                    "risk"));
    struct Field {
      const char* key;
      std::optional<Num>* out;
      double hi;
    };
    for (const Field& f :
         {Field{"stop_loss", &r->stop_loss, 1}, Field{"take_profit", &r->take_profit, 100},
          Field{"trailing_stop", &r->trailing_stop, 1}, Field{"max_drawdown", &r->max_drawdown, 1},
          Field{"turnover_max", &r->turnover_max, 2}}) {
      if (n[f.key]) {
        QRAFT_ASSIGN_OR_RETURN(*f.out,
                               NumberOf(n[f.key], fmt::format("risk.{}", f.key), 1e-9, f.hi));
      }
    }
    if (const YAML::Node g = n["group_max_weight"]) {
      QRAFT_RETURN_NOT_OK(r_.OnlyKeys(g, {"field", "max"}, "risk.group_max_weight"));
      if (!g["field"] || !g["max"]) {
        return r_.Error(g,
                        "risk.group_max_weight needs {field: <category field>, max: <fraction>}");
      }
      GroupLimit limit;
      QRAFT_RETURN_NOT_OK(Str(g["field"], "risk.group_max_weight.field", &limit.field));
      QRAFT_ASSIGN_OR_RETURN(limit.max, NumberOf(g["max"], "risk.group_max_weight.max", 1e-9, 1));
      r->group_max_weight = limit;
    }
    return Status::OK();
  }

  Status CostsOf(const YAML::Node& n, Costs* c) {
    QRAFT_RETURN_NOT_OK(
        r_.OnlyKeys(n, {"market", "fee_bps", "min_fee", "tax_bps", "slippage"}, "costs"));
    if (n["market"]) {
      QRAFT_RETURN_NOT_OK(Str(n["market"], "costs.market", &c->market));
      const std::vector<std::string> known = data::BuiltinMarkets();
      if (std::find(known.begin(), known.end(), c->market) == known.end()) {
        std::string list;
        for (const std::string& k : known)
          list += (list.empty() ? "" : ", ") + k;
        return r_.Error(n["market"], fmt::format("costs.market '{}' is not a market pack (there "
                                                 "are: {})",
                                                 c->market, list));
      }
    }
    if (n["fee_bps"]) {
      QRAFT_ASSIGN_OR_RETURN(c->fee_bps, NumberOf(n["fee_bps"], "costs.fee_bps", 0, 10000));
    }
    if (n["min_fee"]) {
      QRAFT_ASSIGN_OR_RETURN(c->min_fee, NumberOf(n["min_fee"], "costs.min_fee", 0, 1e9));
    }
    if (n["tax_bps"]) {
      QRAFT_ASSIGN_OR_RETURN(c->tax_bps, NumberOf(n["tax_bps"], "costs.tax_bps", 0, 10000));
    }
    if (const YAML::Node s = n["slippage"]) {
      QRAFT_RETURN_NOT_OK(r_.OnlyKeys(s, {"spread_bps", "impact", "latency_ms"}, "costs.slippage"));
      if (s["spread_bps"]) {
        QRAFT_ASSIGN_OR_RETURN(c->spread_bps,
                               NumberOf(s["spread_bps"], "costs.slippage.spread_bps", 0, 10000));
      }
      if (s["latency_ms"]) {
        QRAFT_ASSIGN_OR_RETURN(c->latency_ms,
                               NumberOf(s["latency_ms"], "costs.slippage.latency_ms", 0, 1e7));
      }
      if (const YAML::Node im = s["impact"]) {
        QRAFT_RETURN_NOT_OK(r_.OnlyKeys(im, {"alpha", "beta"}, "costs.slippage.impact"));
        if (!im["alpha"] || !im["beta"]) {
          return r_.Error(im,
                          "costs.slippage.impact needs {alpha, beta}: cost = alpha * "
                          "participation^beta");
        }
        QRAFT_ASSIGN_OR_RETURN(c->impact_alpha,
                               NumberOf(im["alpha"], "costs.slippage.impact.alpha", 0, 100));
        QRAFT_ASSIGN_OR_RETURN(c->impact_beta,
                               NumberOf(im["beta"], "costs.slippage.impact.beta", 0, 10));
      }
    }
    return Status::OK();
  }

  Status ExecutionOf(const YAML::Node& n, StrategySpec* s) {
    QRAFT_RETURN_NOT_OK(r_.OnlyKeys(n, {"price", "assume_close_fill"}, "execution"));
    std::string price = "next_open";
    if (n["price"]) QRAFT_RETURN_NOT_OK(Str(n["price"], "execution.price", &price));
    if (price == "next_open") {
      s->execution.price = Execution::Price::kNextOpen;
    } else if (price == "close") {
      s->execution.price = Execution::Price::kClose;
    } else if (price == "vwap") {
      s->execution.price = Execution::Price::kVwap;
    } else {
      return r_.Error(n["price"], fmt::format("execution.price '{}': expected next_open, close or "
                                              "vwap",
                                              price));
    }
    if (n["assume_close_fill"]) {
      QRAFT_ASSIGN_OR_RETURN(s->execution.assume_close_fill,
                             r_.Bool(n["assume_close_fill"], "execution.assume_close_fill"));
    }
    if (s->execution.price == Execution::Price::kClose && !s->execution.assume_close_fill) {
      return r_.Error(n["price"],
                      "execution.price close fills at the close of the bar whose data made the "
                      "decision: that is look-ahead unless you state it (hint: use next_open, or "
                      "add assume_close_fill: true to accept and report the assumption)");
    }
    if (s->execution.assume_close_fill) {
      s->assumptions.emplace_back(kCloseFillAssumption);
    }
    return Status::OK();
  }

  // ---- whole-strategy checks -----------------------------------------------------------

  Status CheckCombination(const YAML::Node& root, const StrategySpec& s) {
    if (s.signals.long_entry.empty() && s.signals.short_entry.empty() &&
        s.selection.mode == Selection::Mode::kAllSignals) {
      return r_.Error(root,
                      "nothing decides what to hold: give signals (long/short) or a "
                      "selection by score (mode topk, quantile or threshold)");
    }
    return Status::OK();
  }

  Status CheckParamsUsed(const YAML::Node& root, const StrategySpec& s) {
    for (const ParamSpec& p : s.params) {
      if (used_.count(p.name) == 0) {
        return r_.Error(root["params"][p.name],
                        fmt::format("parameter {} is declared but never used as ${{{}}}: it "
                                    "would multiply the sweep for nothing",
                                    p.name, p.name));
      }
    }
    return Status::OK();
  }

  factor::YamlReader r_;
  std::string_view text_;
  std::map<std::string, double> declared_;
  std::set<std::string> used_;
  YAML::Node where_node_;
};

nlohmann::json NumJson(const Num& n) {
  if (!n.param.empty()) return {{"param", n.param}};
  return n.value;
}

nlohmann::json OptJson(const std::optional<Num>& n) {
  return n ? NumJson(*n) : nlohmann::json(nullptr);
}

// Canonical spelling of an expression (spacing, redundant parentheses and case of operators do
// not matter).
std::string CanonicalExpr(const std::string& text) {
  if (text.empty()) return "";
  Result<expr::AstNode> ast = expr::Parse(text);
  return ast.ok() ? expr::ToString(*ast) : text;
}

}  // namespace

namespace {

// The inverse of NumJson / OptJson.
Num NumFromJson(const nlohmann::json& j) {
  if (j.is_object()) return Num{0, j.at("param").get<std::string>()};
  return Num{j.get<double>(), ""};
}

std::optional<Num> OptFromJson(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return NumFromJson(j);
}

template <std::size_t N>
Result<int> EnumIndex(const char* const (&names)[N], const std::string& name,
                      std::string_view field) {
  for (std::size_t i = 0; i < N; ++i)
    if (name == names[i]) return static_cast<int>(i);
  return Status::InvalidArgument(fmt::format("{}: unknown value '{}'", field, name));
}

const char* const kRebalanceNames[] = {"every_bars", "week_end", "month_end"};
const char* const kModeNames[] = {"all_signals", "topk", "quantile", "threshold"};
const char* const kSchemeNames[] = {"equal", "score_weight", "vol_target", "inverse_vol"};
const char* const kPriceNames[] = {"next_open", "close", "vwap"};

}  // namespace

Result<StrategySpec> StrategyFromCanonical(const nlohmann::json& j) {
  StrategySpec s;
  std::string field = "version";
  try {
    s.version = j.at("version").get<int>();
    field = "universe";
    const nlohmann::json& u = j.at("universe");
    if (u.contains("all")) {
      s.universe.kind = Universe::Kind::kAll;
    } else if (u.contains("market")) {
      s.universe.kind = Universe::Kind::kMarket;
      s.universe.market = u.at("market").get<std::string>();
    } else if (u.contains("symbols")) {
      s.universe.kind = Universe::Kind::kSymbols;
      s.universe.symbols = u.at("symbols").get<std::vector<std::string>>();
    } else if (u.contains("instruments")) {
      s.universe.kind = Universe::Kind::kInstrumentsFile;
      s.universe.file = u.at("instruments").get<std::string>();
    } else {
      s.universe.kind = Universe::Kind::kFilter;
      s.universe.filter = u.at("filter").get<std::string>();
    }
    field = "rebalance";
    QRAFT_ASSIGN_OR_RETURN(
        const int rb, EnumIndex(kRebalanceNames, j.at("rebalance").at("kind").get<std::string>(),
                                "rebalance.kind"));
    s.rebalance.kind = static_cast<Rebalance::Kind>(rb);
    s.rebalance.bars = j.at("rebalance").at("bars").get<int>();
    field = "signals";
    const nlohmann::json& sig = j.at("signals");
    s.signals = {sig.at("long").get<std::string>(), sig.at("exit").get<std::string>(),
                 sig.at("short").get<std::string>(), sig.at("short_exit").get<std::string>()};
    field = "selection";
    const nlohmann::json& sel = j.at("selection");
    QRAFT_ASSIGN_OR_RETURN(
        const int mode, EnumIndex(kModeNames, sel.at("mode").get<std::string>(), "selection.mode"));
    s.selection.mode = static_cast<Selection::Mode>(mode);
    s.selection.score = sel.at("score").get<std::string>();
    s.selection.topk = NumFromJson(sel.at("topk"));
    s.selection.n_drop = OptFromJson(sel.at("n_drop"));
    s.selection.quantile = NumFromJson(sel.at("quantile"));
    s.selection.threshold = NumFromJson(sel.at("threshold"));
    field = "position";
    const nlohmann::json& pos = j.at("position");
    QRAFT_ASSIGN_OR_RETURN(
        const int scheme,
        EnumIndex(kSchemeNames, pos.at("scheme").get<std::string>(), "position.scheme"));
    s.position.scheme = static_cast<Position::Scheme>(scheme);
    s.position.target_vol = OptFromJson(pos.at("target_vol"));
    s.position.max_weight = OptFromJson(pos.at("max_weight"));
    s.position.vol_window = NumFromJson(pos.at("vol_window"));
    field = "risk";
    const nlohmann::json& r = j.at("risk");
    s.risk.stop_loss = OptFromJson(r.at("stop_loss"));
    s.risk.take_profit = OptFromJson(r.at("take_profit"));
    s.risk.trailing_stop = OptFromJson(r.at("trailing_stop"));
    s.risk.max_drawdown = OptFromJson(r.at("max_drawdown"));
    s.risk.turnover_max = OptFromJson(r.at("turnover_max"));
    if (!r.at("group_max_weight").is_null()) {
      s.risk.group_max_weight = GroupLimit{r.at("group_max_weight").at("field").get<std::string>(),
                                           NumFromJson(r.at("group_max_weight").at("max"))};
    }
    field = "costs";
    const nlohmann::json& c = j.at("costs");
    s.costs.market = c.at("market").get<std::string>();
    s.costs.fee_bps = OptFromJson(c.at("fee_bps"));
    s.costs.min_fee = OptFromJson(c.at("min_fee"));
    s.costs.tax_bps = OptFromJson(c.at("tax_bps"));
    s.costs.spread_bps = OptFromJson(c.at("spread_bps"));
    s.costs.impact_alpha = OptFromJson(c.at("impact_alpha"));
    s.costs.impact_beta = OptFromJson(c.at("impact_beta"));
    s.costs.latency_ms = OptFromJson(c.at("latency_ms"));
    field = "hold_min_bars";
    s.hold_min_bars = OptFromJson(j.at("hold_min_bars"));
    field = "cooldown_bars";
    s.cooldown_bars = OptFromJson(j.at("cooldown_bars"));
    field = "execution";
    QRAFT_ASSIGN_OR_RETURN(const int price,
                           EnumIndex(kPriceNames, j.at("execution").at("price").get<std::string>(),
                                     "execution.price"));
    s.execution.price = static_cast<Execution::Price>(price);
    s.execution.assume_close_fill = j.at("execution").at("assume_close_fill").get<bool>();
    field = "params";
    for (const auto& [name, d] : j.at("params").items()) {
      ParamSpec p{name, {}};
      p.domain.values = d.at("values").get<std::vector<double>>();
      p.domain.default_value = d.at("default").get<double>();
      s.params.push_back(std::move(p));
    }
    field = "where";
    s.where = j.at("where").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(
        fmt::format("strategy (canonical JSON): field '{}': {}", field, e.what()));
  }
  if (s.execution.assume_close_fill) {
    s.assumptions.emplace_back(kCloseFillAssumption);
  }
  return s;
}

nlohmann::json StrategySpec::Canonical() const {
  nlohmann::json u;
  switch (universe.kind) {
    case Universe::Kind::kAll:
      u = {{"all", true}};
      break;
    case Universe::Kind::kMarket:
      u = {{"market", universe.market}};
      break;
    case Universe::Kind::kSymbols:
      u = {{"symbols", universe.symbols}};
      break;
    case Universe::Kind::kInstrumentsFile:
      u = {{"instruments", universe.file}};
      break;
    case Universe::Kind::kFilter:
      u = {{"filter", CanonicalExpr(universe.filter)}};
      break;
  }
  static const char* kRebalance[] = {"every_bars", "week_end", "month_end"};
  static const char* kModes[] = {"all_signals", "topk", "quantile", "threshold"};
  static const char* kSchemes[] = {"equal", "score_weight", "vol_target", "inverse_vol"};
  static const char* kPrices[] = {"next_open", "close", "vwap"};
  nlohmann::json domains = nlohmann::json::object();
  for (const ParamSpec& p : params) {
    domains[p.name] = {{"values", p.domain.values}, {"default", p.domain.default_value}};
  }
  nlohmann::json j = {
      {"version", version},
      {"universe", u},
      {"rebalance",
       {{"kind", kRebalance[static_cast<int>(rebalance.kind)]}, {"bars", rebalance.bars}}},
      {"signals",
       {{"long", CanonicalExpr(signals.long_entry)},
        {"exit", CanonicalExpr(signals.long_exit)},
        {"short", CanonicalExpr(signals.short_entry)},
        {"short_exit", CanonicalExpr(signals.short_exit)}}},
      {"selection",
       {{"mode", kModes[static_cast<int>(selection.mode)]},
        {"score", CanonicalExpr(selection.score)},
        {"topk", NumJson(selection.topk)},
        {"n_drop", OptJson(selection.n_drop)},
        {"quantile", NumJson(selection.quantile)},
        {"threshold", NumJson(selection.threshold)}}},
      {"position",
       {{"scheme", kSchemes[static_cast<int>(position.scheme)]},
        {"target_vol", OptJson(position.target_vol)},
        {"max_weight", OptJson(position.max_weight)},
        {"vol_window", NumJson(position.vol_window)}}},
      {"risk",
       {{"stop_loss", OptJson(risk.stop_loss)},
        {"take_profit", OptJson(risk.take_profit)},
        {"trailing_stop", OptJson(risk.trailing_stop)},
        {"max_drawdown", OptJson(risk.max_drawdown)},
        {"turnover_max", OptJson(risk.turnover_max)},
        {"group_max_weight", risk.group_max_weight
                                 ? nlohmann::json{{"field", risk.group_max_weight->field},
                                                  {"max", NumJson(risk.group_max_weight->max)}}
                                 : nlohmann::json(nullptr)}}},
      {"costs",
       {{"market", costs.market},
        {"fee_bps", OptJson(costs.fee_bps)},
        {"min_fee", OptJson(costs.min_fee)},
        {"tax_bps", OptJson(costs.tax_bps)},
        {"spread_bps", OptJson(costs.spread_bps)},
        {"impact_alpha", OptJson(costs.impact_alpha)},
        {"impact_beta", OptJson(costs.impact_beta)},
        {"latency_ms", OptJson(costs.latency_ms)}}},
      {"hold_min_bars", OptJson(hold_min_bars)},
      {"cooldown_bars", OptJson(cooldown_bars)},
      {"execution",
       {{"price", kPrices[static_cast<int>(execution.price)]},
        {"assume_close_fill", execution.assume_close_fill}}},
      {"params", domains},
      {"where", CanonicalExpr(where)},
  };
  return j;
}

std::string StrategySpec::DslHash() const {
  return Sha256Hex(Canonical().dump());
}

std::vector<std::pair<std::string, std::string>> StrategySpec::Expressions() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const char* role, const std::string& text) {
    if (!text.empty()) out.emplace_back(role, text);
  };
  add("universe.filter", universe.filter);
  add("signals.long", signals.long_entry);
  add("signals.exit", signals.long_exit);
  add("signals.short", signals.short_entry);
  add("signals.short_exit", signals.short_exit);
  add("selection.score", selection.score);
  return out;
}

Result<std::vector<ParamValues>> StrategySpec::Combinations() const {
  expr::ParamGrid grid;
  for (const ParamSpec& p : params)
    grid.domains.push_back({p.name, p.domain.values});
  grid.where = where;
  QRAFT_ASSIGN_OR_RETURN(expr::GridProgram g, expr::CompileGrid({}, grid, {}));
  return std::move(g.combinations);
}

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, portable, and good enough to draw parameters.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t Next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::size_t Below(std::size_t n) { return static_cast<std::size_t>(Uniform() * n); }
};

}  // namespace

Result<std::vector<ParamValues>> StrategySpec::Sample(Sampling method, std::size_t n,
                                                      std::uint64_t seed) const {
  if (n == 0 || n > 1'000'000) {
    return Status::InvalidArgument(fmt::format("samples must be within [1, 1000000], got {}", n));
  }
  SplitMix64 rng{seed};
  std::vector<ParamValues> out;
  std::set<ParamValues> seen;
  // `where` is checked by compiling it over one combination at a time.
  auto keep = [&](const ParamValues& combo) -> Result<bool> {
    if (where.empty()) return true;
    expr::ParamGrid grid;
    for (const auto& [param, value] : combo)
      grid.domains.push_back({param, {value}});
    grid.where = where;
    QRAFT_ASSIGN_OR_RETURN(expr::GridProgram g, expr::CompileGrid({}, grid, {}));
    return !g.combinations.empty();
  };
  const std::size_t rounds = method == Sampling::kRandom ? 50 : 8;
  for (std::size_t round = 0; round < rounds && out.size() < n; ++round) {
    const std::size_t draws = method == Sampling::kRandom ? n : n - out.size();
    // Latin hypercube: a random permutation of the strata per parameter.
    std::vector<std::vector<std::size_t>> strata(params.size());
    if (method == Sampling::kLatinHypercube) {
      for (auto& perm : strata) {
        perm.resize(draws);
        for (std::size_t i = 0; i < draws; ++i)
          perm[i] = i;
        for (std::size_t i = draws; i-- > 1;)
          std::swap(perm[i], perm[rng.Below(i + 1)]);
      }
    }
    for (std::size_t i = 0; i < draws && out.size() < n; ++i) {
      ParamValues combo;
      for (std::size_t p = 0; p < params.size(); ++p) {
        const std::vector<double>& values = params[p].domain.values;
        std::size_t k;
        if (method == Sampling::kRandom) {
          k = rng.Below(values.size());
        } else {
          const double u =
              (static_cast<double>(strata[p][i]) + rng.Uniform()) / static_cast<double>(draws);
          k = std::min(values.size() - 1, static_cast<std::size_t>(u * values.size()));
        }
        combo[params[p].name] = values[k];
      }
      if (seen.count(combo) != 0) continue;
      QRAFT_ASSIGN_OR_RETURN(bool ok, keep(combo));
      seen.insert(combo);
      if (ok) out.push_back(std::move(combo));
    }
  }
  return out;
}

Result<ParamValues> StrategySpec::Bind(const ParamValues& overrides) const {
  ParamValues out;
  for (const ParamSpec& p : params)
    out[p.name] = p.domain.default_value;
  for (const auto& [param, value] : overrides) {
    if (out.count(param) == 0) {
      return Status::InvalidArgument(fmt::format("the strategy has no parameter '{}'", param));
    }
    out[param] = value;
  }
  return out;
}

Result<StrategySpec> ParseStrategy(std::string_view text, std::string_view source) {
  Parser parser(text, source);
  return parser.Run();
}

Result<StrategySpec> LoadStrategy(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open the strategy file", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  QRAFT_ASSIGN_OR_RETURN(StrategySpec spec, ParseStrategy(ss.str(), path.string()));
  spec.base_dir = path.parent_path();
  return spec;
}

}  // namespace qraft::strategy
