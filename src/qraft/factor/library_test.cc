// The factor library: definitions, URIs, the registry's lifecycle, and the look-ahead check run
// on every built-in factor.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "qraft/data/synth.h"
#include "qraft/data/testing.h"
#include "qraft/expr/evaluator.h"
#include "qraft/factor/definition.h"
#include "qraft/factor/leak.h"
#include "qraft/factor/registry.h"
#include "qraft/factor/uri.h"

namespace qraft::factor {
namespace {

TEST(FactorLibraryTest, BuiltinLibrariesParseWithMetadata) {
  Result<std::vector<FactorDef>> all = BuiltinFactors();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::map<std::string, int> per_library;
  std::set<std::string> signatures;
  for (const FactorDef& d : *all) {
    ++per_library[d.library];
    EXPECT_EQ(d.status, FactorStatus::kApproved);
    EXPECT_FALSE(d.description.empty()) << d.Uri();
    EXPECT_FALSE(d.dependencies.empty()) << d.Uri();
    Result<std::string> sig = d.FeatureSignature();
    ASSERT_TRUE(sig.ok()) << d.Uri();
    EXPECT_EQ(sig->size(), 64u);
    signatures.insert(*sig);
  }
  EXPECT_EQ(per_library["alpha158"], 158);
  EXPECT_EQ(per_library["common"], 21);
  EXPECT_EQ(signatures.size(), all->size());  // every factor computes something different
}

TEST(FactorLibraryTest, Alpha158IsExactlyQlibsDefinition) {
  std::ifstream tsv("src/qraft/expr/testdata/qlib/alpha158.tsv");
  ASSERT_TRUE(tsv);
  auto registry = FactorRegistry::Open(":memory:");
  ASSERT_TRUE(registry.ok());
  std::string line;
  int matched = 0;
  while (std::getline(tsv, line)) {
    const auto a = line.find('\t'), b = line.find('\t', a + 1);
    const std::string name = line.substr(a + 1, b - a - 1);
    Result<FactorDef> def = (*registry)->Find("factor://alpha158/" + name);
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    EXPECT_EQ(def->expression, line.substr(b + 1));
    EXPECT_EQ(def->semantics, expr::Semantics::kQlib);
    matched += def->expression == line.substr(b + 1);
  }
  EXPECT_EQ(matched, 158);
  Result<FactorDef> ma60 = (*registry)->Find("factor://alpha158/MA60@1.0.0");
  ASSERT_TRUE(ma60.ok());
  EXPECT_EQ(ma60->window, 59);
  EXPECT_EQ(ma60->dependencies, std::vector<std::string>{"close"});
}

TEST(FactorLibraryTest, SignatureDependsOnParametersNotSpelling) {
  auto registry = FactorRegistry::Open(":memory:");
  ASSERT_TRUE(registry.ok());
  Result<FactorDef> roc = (*registry)->Find("factor://common/roc");
  ASSERT_TRUE(roc.ok());
  const std::string at20 = *roc->FeatureSignature();
  EXPECT_EQ(*roc->FeatureSignature({{"window", 20}}), at20);
  EXPECT_NE(*roc->FeatureSignature({{"window", 10}}), at20);
  FactorDef respelled = *roc;
  respelled.expression = "ROC( $close ,${window} )";
  EXPECT_EQ(*respelled.FeatureSignature(), at20);
  EXPECT_EQ(roc->FeatureSignature({{"span", 3}}).status().message(),
            "factor://common/roc@1.0.0 has no parameter 'span' (it has window)");
}

TEST(FactorUriTest, ParsesAndRejects) {
  Result<FactorUri> u = ParseFactorUri("factor://common/ema_gap@1.2.0?window=10&x=0.5");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->library, "common");
  EXPECT_EQ(u->name, "ema_gap");
  EXPECT_EQ(u->version, (Version{1, 2, 0}));
  EXPECT_EQ(u->params, (ParamValues{{"window", 10}, {"x", 0.5}}));
  EXPECT_EQ(u->ToString(), "factor://common/ema_gap@1.2.0?window=10&x=0.5");
  EXPECT_TRUE(ParseFactorUri("factor://alpha158/KMID").ok());
  EXPECT_EQ(ParseFactorUri("factor:/common/x").status().message(),
            "'factor:/common/x' is not a factor URI: expected "
            "factor://library/name[@1.2.0][?param=value&...]");
  EXPECT_EQ(ParseFactorUri("factor://common/x@1.2").status().message(),
            "factor://common/x@1.2: version '1.2': expected MAJOR.MINOR.PATCH such as 1.2.0");
  EXPECT_EQ(ParseFactorUri("factor://common/x?window=ten").status().message(),
            "factor://common/x?window=ten: parameter 'window=ten' must be name=number");
}

TEST(FactorLibraryTest, LibraryYamlErrorsNameTheLine) {
  auto err = [](const std::string& yaml) {
    return std::string(ParseLibraryYaml(yaml, "my.yaml").status().message());
  };
  EXPECT_EQ(err("library: mine\nfactors:\n  - name: a\n    expresion: $close\n"),
            "my.yaml:4:5: unknown key 'expresion' in a factor (allowed: name, description, "
            "expression, parameters, version, market_scope, frequency, lag, tags, provenance)");
  EXPECT_EQ(err("library: mine\nfactors:\n  - name: a\n    expression: Mean($close)\n"),
            "my.yaml:4:17: factor a: a: 1:1: MEAN(x, n[, min_periods]): missing argument 'n'");
  EXPECT_EQ(err("library: mine\nfactors:\n  - name: a\n    expression: Ref($close, -1)\n"),
            "my.yaml:4:17: factor a: a: 1:13: REF(…, -1) refers to the future (1 bar ahead); "
            "only labels may look ahead");
  EXPECT_EQ(err("library: mine\nfactors:\n  - name: a\n    expression: Mean($close, ${w})\n"
                "    parameters:\n      w: {default: 7, range: [10, 20, 5]}\n"),
            "my.yaml:6:20: parameter w: default 7 is outside its domain");
  EXPECT_EQ(err("library: mine\nversion: 1.0\nfactors: []\n"),
            "my.yaml:2:10: version '1.0': expected MAJOR.MINOR.PATCH such as 1.2.0");
}

FactorDef UserFactor(const std::string& expression, Version v = {1, 0, 0}) {
  Result<std::vector<FactorDef>> defs =
      ParseLibraryYaml("library: mine\nversion: " + v.ToString() +
                           "\nprovenance: agent\nfactors:\n  - name: gap\n    description: test\n"
                           "    expression: '" +
                           expression + "'\n",
                       "test");
  EXPECT_TRUE(defs.ok()) << defs.status().ToString();
  return defs->at(0);
}

TEST(FactorRegistryTest, LifecycleAndImmutability) {
  data::testing::TempDir dir;
  const auto db = dir / "factors.db";
  {
    auto reg = FactorRegistry::Open(db);
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    ASSERT_TRUE((*reg)->Propose(UserFactor("$close / $open - 1"), "first").ok());
    // A proposed version may still change.
    ASSERT_TRUE((*reg)->Propose(UserFactor("$close / $open"), "fix").ok());
    const FactorUri uri{"mine", "gap", Version{1, 0, 0}, {}};
    ASSERT_TRUE((*reg)->SetStatus(uri, FactorStatus::kApproved, "leak check passed").ok());
    // Approved versions are immutable: same definition is a no-op, a changed one is refused.
    EXPECT_TRUE((*reg)->Propose(UserFactor("$close / $open"), "again").ok());
    EXPECT_EQ((*reg)->Propose(UserFactor("$close / $open + 1"), "edit").status().message(),
              "factor://mine/gap@1.0.0 is approved and immutable; give the changed definition a "
              "new version");
    ASSERT_TRUE((*reg)->Propose(UserFactor("$close / $open + 1", {1, 1, 0}), "v1.1").ok());
    EXPECT_EQ((*reg)->SetStatus(uri, FactorStatus::kProposed, "").message(),
              "factor://mine/gap@1.0.0 is approved; it cannot become proposed");
    EXPECT_EQ((*reg)->Propose(UserFactor("$close"), "").status().code(),
              StatusCode::kAlreadyExists);
  }
  // Reopened: state persisted, latest approved chosen when no version is given.
  auto reg = FactorRegistry::Open(db);
  ASSERT_TRUE(reg.ok());
  Result<FactorDef> latest = (*reg)->Find("factor://mine/gap");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, (Version{1, 0, 0}));
  EXPECT_EQ(latest->provenance, Provenance::kAgent);
  Result<FactorDef> v11 = (*reg)->Find("factor://mine/gap@1.1.0");
  ASSERT_TRUE(v11.ok());
  EXPECT_EQ(v11->status, FactorStatus::kProposed);
  Result<std::vector<HistoryEntry>> history =
      (*reg)->History(FactorUri{"mine", "gap", Version{1, 0, 0}, {}});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].to, "proposed");
  EXPECT_EQ((*history)[1].from, "proposed");
  EXPECT_EQ((*history)[2].to, "approved");
  EXPECT_EQ((*history)[2].note, "leak check passed");
  ASSERT_TRUE((*reg)
                  ->SetStatus(FactorUri{"mine", "gap", Version{1, 0, 0}, {}},
                              FactorStatus::kDeprecated, "retired")
                  .ok());
  // Built-ins cannot be touched.
  EXPECT_EQ((*reg)
                ->SetStatus(FactorUri{"common", "roc", {}, {}}, FactorStatus::kDeprecated, "")
                .message(),
            "factor://common/roc is built in; its status cannot change");
  FactorDef clash = UserFactor("$close");
  clash.library = "common";
  EXPECT_EQ((*reg)->Propose(clash, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*reg)->Find("factor://common/nope").status().code(), StatusCode::kNotFound);
}

TEST(FactorRegistryTest, FactorUrisInsideExpressions) {
  auto reg = FactorRegistry::Open(":memory:");
  ASSERT_TRUE(reg.ok());
  expr::CompileOptions options;
  options.resolve_factor = (*reg)->Resolver(expr::Semantics::kNative);
  std::vector<expr::ExprSpec> exprs = {{"a", "ZSCORE(factor://common/roc?window=10)"},
                                       {"b", "ZSCORE(ROC($close, 10))"}};
  Result<expr::Program> p = expr::Compile(exprs, options);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->outputs()[0].node, p->outputs()[1].node);  // the same graph node
  exprs = {{"c", "factor://alpha158/KMID"}};
  EXPECT_EQ(expr::Compile(exprs, options).status().message(),
            "c: 1:1: factor://alpha158/KMID@1.0.0 is defined with qlib semantics; it cannot be "
            "used in a native expression");
}

// Every built-in factor passes the look-ahead check on a synthetic market with listings,
// delistings and suspensions; a factor that peeks one bar ahead fails it.
TEST(LeakTest, EveryBuiltinFactorIsLeakFree) {
  data::SynthOptions o;
  o.symbols = 12;
  o.bars = 600;
  Result<data::SnapshotContent> content = data::Synthesize(o);
  ASSERT_TRUE(content.ok());
  const Panel& data = content->panel;
  Result<std::vector<FactorDef>> all = BuiltinFactors();
  ASSERT_TRUE(all.ok());
  for (expr::Semantics sem : {expr::Semantics::kNative, expr::Semantics::kQlib}) {
    std::vector<expr::ExprSpec> exprs;
    expr::CompileOptions options;
    options.semantics = sem;
    for (const FactorDef& d : *all) {
      if (d.semantics != sem) continue;
      exprs.push_back({d.name, SubstituteParams(d.expression, *d.Bind({}))});
    }
    Result<expr::Program> program = expr::Compile(exprs, options);
    ASSERT_TRUE(program.ok()) << program.status().ToString();
    Result<LeakReport> report = CheckLookAhead(*program, data);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_FALSE(report->leak) << report->ToText();
    EXPECT_EQ(report->cut_points_checked, 6);
    EXPECT_GT(report->values_compared, 100'000u);
    // And every factor computes something: a good share of bars have a finite value.
    Result<Panel> values = expr::Evaluate(*program, data);
    ASSERT_TRUE(values.ok());
    std::size_t bars = 0;
    for (std::size_t sym = 0; sym < data.num_symbols(); ++sym) {
      for (std::size_t t = 0; t < data.num_times(); ++t)
        bars += data.HasBar(sym, t);
    }
    for (std::size_t f = 0; f < values->num_fields(); ++f) {
      std::size_t finite = 0;
      for (double v : values->field(f))
        finite += std::isfinite(v);
      EXPECT_GT(finite, bars / 3) << values->field_names()[f];
    }
  }
  expr::CompileOptions future;
  future.allow_future = true;
  std::vector<expr::ExprSpec> peek = {{"peek", "Mean(Ref($close, -1), 5)"}};
  Result<expr::Program> program = expr::Compile(peek, future);
  ASSERT_TRUE(program.ok());
  Result<LeakReport> report = CheckLookAhead(*program, data);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->leak);
  EXPECT_EQ(report->output, "peek");
  EXPECT_EQ(report->time, report->cut);  // the last bar before the cut saw the future
}

}  // namespace
}  // namespace qraft::factor
