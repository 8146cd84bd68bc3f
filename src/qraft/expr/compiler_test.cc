#include "qraft/expr/compiler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qraft::expr {
namespace {

CompileOptions Opts(Semantics s = Semantics::kNative) {
  CompileOptions o;
  o.semantics = s;
  o.known_fields = std::vector<std::string>{"open", "high", "low", "close", "volume", "industry"};
  return o;
}

Program MustCompile(std::vector<ExprSpec> exprs, const CompileOptions& o = Opts()) {
  Result<Program> p = Compile(exprs, o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : Program();
}

std::string ErrorOf(const std::string& text, const CompileOptions& o = Opts()) {
  std::vector<ExprSpec> exprs = {{"", text}};
  Result<Program> p = Compile(exprs, o);
  EXPECT_FALSE(p.ok()) << text;
  return p.ok() ? "" : std::string(p.status().message());
}

std::size_t Count(const Program& p, OpCode op) {
  std::size_t n = 0;
  for (const Node& node : p.nodes())
    n += node.op == op;
  return n;
}

TEST(CompilerTest, SharesCommonSubexpressions) {
  Program p = MustCompile({{"a", "Mean($close, 5) / $close"},
                           {"b", "Std($close, 5) / Mean(close, 5)"},
                           {"c", "$close + $open"},
                           {"d", "$open + $close"}});
  EXPECT_EQ(Count(p, OpCode::kMean), 1u);
  EXPECT_EQ(Count(p, OpCode::kField), 2u);
  EXPECT_EQ(Count(p, OpCode::kAdd), 1u);  // commutative inputs are ordered
  EXPECT_EQ(p.outputs()[2].node, p.outputs()[3].node);
  EXPECT_EQ(p.fields(), (std::vector<std::string>{"close", "open"}));
}

TEST(CompilerTest, FoldsConstantsAndDropsDeadNodes) {
  Program p = MustCompile({{"a", "$close * (2 + 3) - 1 * 0"}});
  // (2 + 3) folds to 5 and 1 * 0 to 0; the intermediate constants 2, 3, 1 are gone.
  ASSERT_EQ(Count(p, OpCode::kConst), 2u);
  std::vector<double> consts;
  for (const Node& n : p.nodes()) {
    if (n.op == OpCode::kConst) consts.push_back(n.params[0]);
  }
  EXPECT_EQ(consts, (std::vector<double>{5, 0}));
  Program q = MustCompile({{"a", "Mean($close, 2 * 5)"}});
  for (const Node& n : q.nodes()) {
    if (n.op == OpCode::kMean) {
      EXPECT_EQ(n.params[0], 10);
    }
  }
}

TEST(CompilerTest, LookbackAndLookahead) {
  Program p = MustCompile({{"a", "Mean(Ref($close, 5), 10)"}, {"b", "EMA($close, 10)"}});
  EXPECT_EQ(p.nodes()[p.outputs()[0].node].lookback, 14);
  EXPECT_EQ(p.nodes()[p.outputs()[1].node].lookback, kUnbounded);
  CompileOptions label = Opts();
  label.allow_future = true;
  Program l = MustCompile({{"LABEL0", "Ref($close, -2)/Ref($close, -1) - 1"}}, label);
  EXPECT_EQ(l.lookahead(), 2);
  EXPECT_EQ(l.lookback(), 0);
}

TEST(CompilerTest, IndicatorDefaultsAndParameters) {
  Program p = MustCompile({{"a", "RSI(14)"}, {"b", "RSI(close, 14)"}, {"c", "RSI()"}});
  EXPECT_EQ(p.outputs()[0].node, p.outputs()[1].node);
  EXPECT_EQ(p.outputs()[0].node, p.outputs()[2].node);
  CompileOptions o = Opts();
  o.params = {{"fast", 10}, {"slow", 30}};
  Program q = MustCompile({{"x", "EMA(close, ${fast}) > EMA(close, ${slow})"}}, o);
  EXPECT_EQ(Count(q, OpCode::kEma), 2u);
  Program atr = MustCompile({{"a", "ATR(20)"}});
  EXPECT_EQ(Count(atr, OpCode::kField), 3u);
}

TEST(CompilerTest, QlibSemanticsChoosesQlibOperatorsAndDtypes) {
  Program p = MustCompile({{"k", "($close-$open)/($high-$low+1e-12)"},
                           {"m", "Mean($close, 5)/$close"},
                           {"e", "EMA($close, 5)"},
                           {"w", "Mean($close, 0.5)"},
                           {"c", "Mean($close>Ref($close, 1), 5)"}},
                          Opts(Semantics::kQlib));
  const auto& nodes = p.nodes();
  EXPECT_EQ(nodes[p.outputs()[0].node].dtype, DType::kF32);
  EXPECT_EQ(nodes[p.outputs()[1].node].dtype, DType::kF64);
  EXPECT_EQ(nodes[p.outputs()[2].node].op, OpCode::kQlibEma);
  EXPECT_EQ(nodes[p.outputs()[3].node].op, OpCode::kEwm);
  // The constant 1e-12 met float32 arrays, so it was cast to float32.
  bool found = false;
  for (const Node& n : nodes) {
    if (n.op == OpCode::kConst && n.params[0] == static_cast<double>(1e-12f)) found = true;
  }
  EXPECT_TRUE(found);
  Program native = MustCompile({{"e", "EMA($close, 5)"}});
  EXPECT_EQ(native.nodes()[native.outputs()[0].node].op, OpCode::kEma);
}

TEST(CompilerTest, ErrorsNameThePlaceAndTheProblem) {
  EXPECT_EQ(ErrorOf("Mean($clse, 5)"),
            "Mean($clse, 5): 1:6: unknown field 'clse' (the data has: open, high, low, close, "
            "volume, industry)");
  EXPECT_EQ(ErrorOf("Maen($close, 5)"),
            "Maen($close, 5): 1:1: unknown operator 'MAEN' (did you mean MEAN, MAX, MIN?)");
  EXPECT_EQ(ErrorOf("Mean($close)"),
            "Mean($close): 1:1: MEAN(x, n[, min_periods]): missing "
            "argument 'n'");
  EXPECT_EQ(ErrorOf("Mean($close, 5, 2, 1)"),
            "Mean($close, 5, 2, 1): 1:20: too many arguments: MEAN(x, n[, min_periods])");
  EXPECT_EQ(ErrorOf("Mean($close, 2.5)"),
            "Mean($close, 2.5): 1:14: window 'n' of MEAN must be a non-negative integer (0 = "
            "expanding), got 2.5");
  EXPECT_EQ(ErrorOf("Mean($close, $open)"),
            "Mean($close, $open): 1:14: argument 'n' of MEAN must be a constant number");
  EXPECT_EQ(ErrorOf("Ref($close, -1)"),
            "Ref($close, -1): 1:13: REF(…, -1) refers to the future (1 bar ahead); only labels "
            "may look ahead");
  EXPECT_EQ(ErrorOf("Mean($close, 5, min_periods=6)"),
            "Mean($close, 5, min_periods=6): 1:1: min_periods (6) exceeds the window (5)");
  EXPECT_EQ(ErrorOf("Skew($close, 2)"),
            "Skew($close, 2): 1:1: the window of Skew must be at least 3, got 2");
  EXPECT_EQ(ErrorOf("Quantile($close, 5, 1.5)"),
            "Quantile($close, 5, 1.5): 1:21: 'q' of QUANTILE must be within [0, 1], got 1.5");
  EXPECT_EQ(ErrorOf("Mean(x=$close, 5)"),
            "Mean(x=$close, 5): 1:16: positional argument after a named argument");
  EXPECT_EQ(ErrorOf("Mean($close, 5, window=3)"),
            "Mean($close, 5, window=3): 1:24: MEAN has no argument 'window': MEAN(x, n[, "
            "min_periods])");
  EXPECT_EQ(ErrorOf("ZSCORE($close, by=Mean($close, 5))"),
            "ZSCORE($close, by=Mean($close, 5)): 1:19: argument 'by' of ZSCORE must be a field of "
            "category codes, e.g. by=industry");
  EXPECT_EQ(ErrorOf("EMA(close, ${fast})"),
            "EMA(close, ${fast}): 1:12: parameter ${fast} has no value");
  EXPECT_EQ(ErrorOf("TResample($close, '1w', 'mean')"),
            "TResample($close, '1w', 'mean'): 1:1: Qlib operator TRESAMPLE (resampling or "
            "point-in-time) is not supported");
  EXPECT_EQ(ErrorOf("Mask($close, SH000300)"),
            "Mask($close, SH000300): 1:14: argument 'instrument' of MASK must be a quoted symbol "
            "name such as 'SH000300'");
  EXPECT_EQ(ErrorOf("$close > 1 & $open < 2", Opts(Semantics::kQlib)),
            "$close > 1 & $open < 2: 1:8: under qlib semantics parenthesise comparisons joined "
            "by '&'/'|': Qlib's Python precedence would read this differently");
  EXPECT_EQ(ErrorOf("Mean($close, 0.5)"),
            "Mean($close, 0.5): 1:14: window 'n' of MEAN must be a non-negative integer (0 = "
            "expanding), got 0.5");
  EXPECT_EQ(ErrorOf("WINSORIZE($close, q=0.7)"),
            "WINSORIZE($close, q=0.7): 1:1: WINSORIZE needs k >= 0 (got 3) and q in [0, 0.5] (got "
            "0.7)");
  std::vector<ExprSpec> dup = {{"a", "$close"}, {"a", "$open"}};
  EXPECT_EQ(Compile(dup, Opts()).status().message(), "output name 'a' is used twice");
}

}  // namespace
}  // namespace qraft::expr
