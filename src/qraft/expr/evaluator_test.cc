// The evaluator against an independent tree-walking reference, incremental evaluation against
// full evaluation (bit for bit), determinism, buffer reuse and parameter grids.
#include "qraft/expr/evaluator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <fstream>
#include <random>

#include "qraft/core/parallel.h"
#include "qraft/data/synth.h"
#include "qraft/expr/elementwise.h"
#include "qraft/expr/kernels/cs.h"
#include "qraft/expr/kernels/rolling.h"
#include "qraft/expr/kernels/ta.h"

namespace qraft::expr {
namespace {

Panel Synthetic(std::size_t symbols, std::size_t bars, std::uint64_t seed = 3) {
  data::SynthOptions o;
  o.symbols = symbols;
  o.bars = bars;
  o.seed = seed;
  Result<data::SnapshotContent> c = data::Synthesize(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c->panel);
}

bool SameBits(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) ||
         std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// ---- an independent reference: walks the syntax tree, one whole-panel array per node ---------

using Array = std::vector<double>;

class TreeWalker {
 public:
  explicit TreeWalker(const Panel& data)
      : data_(data), S_(data.num_symbols()), T_(data.num_times()) {
    for (std::size_t s = 0; s < S_; ++s) {
      auto span = data.BarSpan(s);
      first_.push_back(span ? span->first : T_);
    }
  }

  Array Eval(const AstNode& n) {
    using K = AstNode::Kind;
    if (n.kind == K::kNumber) return Fill(n.number);
    if (n.kind == K::kField) {
      auto f = data_.FindField(n.name);
      Array out(data_.field(*f).begin(), data_.field(*f).end());
      return Mask(std::move(out));
    }
    std::vector<Array> a;
    std::vector<double> num;
    for (std::size_t i = 0; i < n.args.size(); ++i) {
      // Numbers after the first argument are windows and quantiles.
      if (i > 0 && n.args[i].kind == K::kNumber) num.push_back(n.args[i].number);
      a.push_back(Eval(n.args[i]));
    }
    const std::string& op = n.name;
    if (FunctionDef const* f = FindFunction(op); f && FamilyOf(f->op) == OpFamily::kElementwise) {
      Array out(S_ * T_);
      for (std::size_t i = 0; i < out.size(); ++i) {
        const double x = a[0][i], y = a.size() > 1 ? a[1][i] : x, z = a.size() > 2 ? a[2][i] : x;
        out[i] = ApplyElementwise(kernels::Semantics::kNative, f->op, x, y, z);
      }
      return Mask(std::move(out));
    }
    if (op == "CS_RANK" || op == "ZSCORE" || op == "DEMEAN") {
      Array out(S_ * T_);
      const kernels::cs::Block block{a[0].data(), S_, T_, nullptr};
      if (op == "CS_RANK") kernels::cs::Rank(block, {0, T_}, out.data());
      if (op == "ZSCORE") kernels::cs::ZScore(block, {0, T_}, out.data());
      if (op == "DEMEAN") kernels::cs::Demean(block, {0, T_}, out.data());
      return Mask(std::move(out));
    }
    // Time series: per symbol from its first bar, the whole series at once.
    Array out(S_ * T_, NAN);
    const int w = static_cast<int>(num.empty() ? 0 : num.back());
    for (std::size_t s = 0; s < S_; ++s) {
      if (first_[s] >= T_) continue;
      const std::size_t off = s * T_ + first_[s], len = T_ - first_[s];
      const double* x = a[0].data() + off;
      double* o = out.data() + off;
      const kernels::Range r{0, len};
      const kernels::Window win{w, w};
      const auto sem = kernels::Semantics::kNative;
      if (op == "MEAN") kernels::Mean(x, r, win, sem, o);
      if (op == "STD") kernels::Std(x, r, win, sem, o);
      if (op == "MAX") kernels::Max(x, r, win, sem, o);
      if (op == "MIN") kernels::Min(x, r, win, sem, o);
      if (op == "RANK") kernels::Rank(x, r, win, sem, o);
      if (op == "SLOPE") kernels::Slope(x, r, win, sem, o);
      if (op == "QUANTILE")
        kernels::Quantile(x, r, {static_cast<int>(num[0]), static_cast<int>(num[0])}, num[1], sem,
                          o);
      if (op == "REF") kernels::Ref(x, r, w, sem, o);
      if (op == "DELTA") kernels::Delta(x, r, w, sem, o);
      if (op == "CORR") kernels::Corr(x, a[1].data() + off, r, win, sem, o);
      if (op == "EMA") kernels::ta::Ema(x, r, w, o);
      if (op == "SMA") kernels::ta::Sma(x, r, w, o);
      if (op == "RSI") kernels::ta::Rsi(x, r, w, o);
    }
    return out;
  }

 private:
  Array Fill(double v) { return Mask(Array(S_ * T_, v)); }
  Array Mask(Array a) {
    for (std::size_t s = 0; s < S_; ++s) {
      std::fill(a.begin() + s * T_, a.begin() + s * T_ + first_[s], NAN);
    }
    return a;
  }

  const Panel& data_;
  std::size_t S_, T_;
  std::vector<std::size_t> first_;
};

// Random expressions over the reference's operators.
class ExprGen {
 public:
  explicit ExprGen(std::uint64_t seed) : rng_(seed) {}

  std::string Series(int depth) {
    const int pick = depth <= 0 ? 0 : Pick(10);
    switch (pick) {
      case 0:
        return Leaf();
      case 1:
        return fmt::format("({} {} {})", Series(depth - 1), Op({"+", "-", "*", "/"}),
                           Series(depth - 1));
      case 2:
        return fmt::format("{}({})", Op({"ABS", "SIGN", "LOG", "NEG"}), Series(depth - 1));
      case 3:
        return fmt::format("{}({}, {})", Op({"GREATER", "LESS"}), Series(depth - 1),
                           Series(depth - 1));
      case 4:
        return fmt::format("IF({} {} {}, {}, {})", Series(depth - 1), Op({">", "<"}),
                           Series(depth - 1), Series(depth - 1), Series(depth - 1));
      case 5:
        return fmt::format("{}({}, {})", Op({"MEAN", "STD", "MAX", "MIN", "RANK", "SLOPE"}),
                           Series(depth - 1), 2 + Pick(30));
      case 6:
        return fmt::format("{}({}, {})", Op({"REF", "DELTA"}), Series(depth - 1), Pick(8));
      case 7:
        return fmt::format("CORR({}, {}, {})", Series(depth - 1), Series(depth - 1), 3 + Pick(20));
      case 8: {
        // A number first would mean RSI(14) = RSI(close, 14): keep the series a series.
        std::string x = Series(depth - 1);
        if (x.find('$') == std::string::npos) x = "$close";
        return fmt::format("{}({}, {})", Op({"EMA", "SMA", "RSI"}), x, 2 + Pick(20));
      }
      default:
        return Pick(2)
                   ? fmt::format("{}({})", Op({"CS_RANK", "ZSCORE", "DEMEAN"}), Series(depth - 1))
                   : fmt::format("QUANTILE({}, {}, 0.3)", Series(depth - 1), 2 + Pick(10));
    }
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  std::string Op(std::initializer_list<const char*> ops) {
    return ops.begin()[Pick(static_cast<int>(ops.size()))];
  }
  std::string Leaf() {
    if (Pick(5) == 0) return fmt::format("{}", 0.5 + Pick(4));
    return Op({"$open", "$high", "$low", "$close", "$volume"});
  }
  std::mt19937_64 rng_;
};

std::vector<ExprSpec> RandomExprs(std::uint64_t seed, int n, int depth) {
  ExprGen gen(seed);
  std::vector<ExprSpec> out;
  for (int i = 0; i < n; ++i)
    out.push_back({fmt::format("e{}", i), gen.Series(depth)});
  return out;
}

TEST(EvaluatorTest, SharedGraphEqualsTreeWalkingReference) {
  const Panel data = Synthetic(23, 300);
  TreeWalker walker(data);
  int values = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::vector<ExprSpec> exprs = RandomExprs(seed, 40, 4);
    CompileOptions o;
    o.known_fields = data.field_names();
    Result<Panel> got = EvaluateExpressions(exprs, data, o);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (std::size_t e = 0; e < exprs.size(); ++e) {
      Result<AstNode> ast = Parse(exprs[e].text);
      ASSERT_TRUE(ast.ok());
      const Array want = walker.Eval(*ast);
      std::span<const double> have = got->field(e);
      int bad = 0;
      for (std::size_t i = 0; i < want.size(); ++i) {
        // Constant folding computes some subexpressions once instead of per row; everything
        // else is the same arithmetic in the same order.
        const bool ok = SameBits(have[i], want[i]) ||
                        std::fabs(have[i] - want[i]) <= 1e-12 * std::max(1.0, std::fabs(want[i]));
        if (!ok && bad++ < 2) {
          ADD_FAILURE() << exprs[e].text << " at " << i << ": " << have[i] << " vs " << want[i];
        }
        values += !std::isnan(want[i]);
      }
    }
  }
  EXPECT_GT(values, 500'000);
}

TEST(EvaluatorTest, IncrementalEqualsFullBitForBit) {
  // Long enough that recomputation starts after running sums have been reset (1024 rows).
  const Panel data = Synthetic(9, 2600, 5);
  std::vector<ExprSpec> exprs = RandomExprs(11, 30, 3);
  exprs.push_back({"ma", "Mean($close, 60) / Std($close, 20)"});
  exprs.push_back({"qtl", "Quantile($close, 30, 0.2) - Quantile($close, 30, 0.8)"});
  exprs.push_back(
      {"ta", "RSI($close, 14) + SMA($close, 30) + MACD($close) + BBANDS_UPPER($close, 20, 2)"});
  exprs.push_back({"cs", "ZSCORE(Mean($close, 5) / $close) + CS_RANK(Corr($close, $volume, 30))"});
  for (Semantics sem : {Semantics::kNative, Semantics::kQlib}) {
    CompileOptions o;
    o.semantics = sem;
    o.known_fields = data.field_names();
    Result<Program> program = Compile(exprs, o);
    ASSERT_TRUE(program.ok()) << program.status().ToString();
    Result<Panel> full = Evaluate(*program, data);
    ASSERT_TRUE(full.ok());
    for (std::size_t cut : {1u, 100u, 1023u, 1024u, 1500u, 2100u, 2599u}) {
      const std::vector<std::string>& names = data.symbols().names();
      Result<Panel> prefix = data.Select(names, kNoTimestamp, data.calendar()[cut - 1]);
      ASSERT_TRUE(prefix.ok());
      Result<Panel> before = Evaluate(*program, *prefix);
      ASSERT_TRUE(before.ok());
      Result<Panel> inc = EvaluateIncremental(*program, data, *before);
      ASSERT_TRUE(inc.ok()) << inc.status().ToString();
      for (std::size_t f = 0; f < full->num_fields(); ++f) {
        std::span<const double> a = full->field(f), b = inc->field(f);
        std::size_t bad = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
          bad += !SameBits(a[i], b[i]);
        EXPECT_EQ(bad, 0u) << SemanticsName(sem) << " cut " << cut << " " << exprs[f].text;
      }
    }
  }
}

TEST(EvaluatorTest, IncrementalRejectsMismatchedHistory) {
  const Panel data = Synthetic(4, 50);
  std::vector<ExprSpec> exprs = {{"m", "Mean($close, 5)"}};
  CompileOptions o;
  Result<Program> program = Compile(exprs, o);
  ASSERT_TRUE(program.ok());
  Result<Panel> before = Evaluate(*program, data);
  ASSERT_TRUE(before.ok());
  const std::vector<std::string> fewer = {data.symbols()[0]};
  Result<Panel> other = data.Select(fewer, kNoTimestamp, kNoTimestamp);
  EXPECT_EQ(EvaluateIncremental(*program, *other, *before).status().message(),
            "incremental evaluation: the symbols differ from the previous result's");
}

TEST(EvaluatorTest, BitIdenticalWhateverThreadsAndChunks) {
  const Panel data = Synthetic(37, 400);
  std::vector<ExprSpec> exprs = RandomExprs(21, 25, 4);
  CompileOptions o;
  Result<Program> program = Compile(exprs, o);
  ASSERT_TRUE(program.ok());
  Result<Panel> ref = Evaluate(*program, data);
  ASSERT_TRUE(ref.ok());
  for (std::size_t chunk : {1u, 5u, 64u}) {
    for (int threads : {1, 2}) {
      ThreadLimit limit(threads);
      EvalOptions eo;
      eo.chunk_symbols = chunk;
      Result<Panel> got = Evaluate(*program, data, eo);
      ASSERT_TRUE(got.ok());
      for (std::size_t f = 0; f < ref->num_fields(); ++f) {
        std::span<const double> a = ref->field(f), b = got->field(f);
        for (std::size_t i = 0; i < a.size(); ++i) {
          ASSERT_TRUE(SameBits(a[i], b[i])) << "chunk " << chunk << " threads " << threads;
        }
      }
    }
  }
}

class CountingSink : public ResultSink {
 public:
  Status Consume(std::size_t, std::size_t, std::size_t, std::span<const double> v) override {
    values += v.size();
    return Status::OK();
  }
  std::atomic<std::size_t> values{0};
};

// Collects every output as whole series or row tiles into outputs x symbols x times, checking
// that each (output, symbol) arrives once, whole or as consecutive tiles covering every row.
class TileSink : public ResultSink {
 public:
  TileSink(std::size_t outputs, std::size_t S, std::size_t T)
      : S_(S), T_(T), values_(outputs * S * T, -1.0), next_row_(outputs * S, 0), tiles_(0) {}
  bool WantsRowTiles() const override { return true; }
  Status Consume(std::size_t o, std::size_t s0, std::size_t s1,
                 std::span<const double> v) override {
    for (std::size_t s = s0; s < s1; ++s) {
      EXPECT_EQ(next_row_[o * S_ + s], 0u);
      next_row_[o * S_ + s] = T_;
      std::copy_n(v.begin() + static_cast<std::ptrdiff_t>((s - s0) * T_), T_, Row(o, s));
    }
    return Status::OK();
  }
  Status ConsumeRows(std::size_t o, std::size_t s, std::size_t t0,
                     std::span<const double> v) override {
    EXPECT_EQ(t0 % kRowTile, 0u);
    EXPECT_EQ(next_row_[o * S_ + s], t0) << "tiles out of order";
    next_row_[o * S_ + s] = t0 + v.size();
    std::copy(v.begin(), v.end(), Row(o, s) + t0);
    ++tiles_;
    return Status::OK();
  }
  double* Row(std::size_t o, std::size_t s) { return values_.data() + (o * S_ + s) * T_; }
  bool Complete() const {
    return std::all_of(next_row_.begin(), next_row_.end(), [&](std::size_t r) { return r == T_; });
  }
  std::size_t S_, T_;
  std::vector<double> values_;
  std::vector<std::size_t> next_row_;
  std::atomic<std::size_t> tiles_;
};

// A sink that takes row tiles gets the bits of whole series: elementwise outputs (comparisons,
// arithmetic, logic, with inputs shared by several outputs or read elsewhere) come as tiles,
// the rest whole; over several tiles and a partial last one, in chunks of symbols, and with
// first_row (rows before it unspecified).
TEST(EvaluatorTest, RowTilesEqualWholeSeries) {
  const Panel data = Synthetic(5, 2 * ResultSink::kRowTile + 777);
  std::vector<ExprSpec> exprs = {
      {"gt", "EMA($close, 10) > EMA($close, 30)"},
      {"lt", "EMA($close, 10) < EMA($close, 30)"},
      {"mix", "($close - Mean($close, 20)) / Std($close, 20) + Abs(Delta($close, 3))"},
      {"logic", "($close > Ref($close, 1)) and ($volume > Mean($volume, 10))"},
      {"read_elsewhere", "$close / $open"},
      {"uses_it", "Mean($close / $open, 5)"},
      {"series", "Mean($close, 7)"}};
  for (std::size_t e = 0; e < 6; ++e)
    exprs.push_back({fmt::format("r{}", e), RandomExprs(40 + e, 1, 3)[0].text + " > $close"});
  CompileOptions o;
  o.known_fields = data.field_names();
  Result<Program> program = Compile(exprs, o);
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  Result<Panel> ref = Evaluate(*program, data);
  ASSERT_TRUE(ref.ok());
  const std::size_t S = data.num_symbols(), T = data.num_times();
  for (const std::size_t first_row : {std::size_t{0}, std::size_t{5000}}) {
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{3}}) {
      TileSink sink(exprs.size(), S, T);
      EvalOptions eo;
      eo.chunk_symbols = chunk;
      eo.first_row = first_row;
      ASSERT_TRUE(Evaluate(*program, data, sink, eo).ok());
      EXPECT_TRUE(sink.Complete());
      EXPECT_GE(sink.tiles_.load(), 9 * S * 3);  // the comparisons and mix/logic come tiled
      for (std::size_t e = 0; e < exprs.size(); ++e) {
        for (std::size_t s = 0; s < S; ++s) {
          const double* want = ref->field(e).data() + s * T;
          const double* got = sink.Row(e, s);
          std::size_t bad = 0;
          for (std::size_t t = first_row; t < T; ++t)
            bad += !SameBits(want[t], got[t]);
          EXPECT_EQ(bad, 0u) << exprs[e].text << " symbol " << s << " first_row " << first_row;
        }
      }
    }
  }
}

TEST(EvaluatorTest, MemoryFollowsLiveIntermediatesNotNodeCount) {
  const Panel data = Synthetic(20, 300);
  // A chain of 300 distinct nodes: each is dead once the next one is computed.
  std::string chain = "$close";
  for (int i = 1; i <= 150; ++i)
    chain = fmt::format("Mean({} + {}, 3)", chain, i);
  std::vector<ExprSpec> exprs = {{"chain", chain}};
  CompileOptions o;
  o.limits.max_depth = 1000;
  Result<Program> program = Compile(exprs, o);
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  EXPECT_GT(program->nodes().size(), 300u);
  CountingSink sink;
  EvalStats stats;
  ASSERT_TRUE(Evaluate(*program, data, sink, {}, &stats).ok());
  EXPECT_LE(stats.peak_chunk_buffers, 3u);
  EXPECT_EQ(sink.values.load(), data.cells());
  EXPECT_EQ(stats.materialized_arrays, 0u);
}

TEST(EvaluatorTest, ParameterGridSharesWhatDoesNotDependOnParameters) {
  ParamGrid grid;
  grid.domains = {{"fast", {5, 10, 15, 20, 25, 30, 35, 40, 45, 50}}, {"slow", {20, 30, 60, 120}}};
  grid.where = "fast < slow";
  std::vector<ExprSpec> exprs = {{"cross", "EMA(close, ${fast}) > EMA(close, ${slow})"},
                                 {"trend", "Mean($close, ${slow}) / $close"}};
  CompileOptions o;
  Result<GridProgram> g = CompileGrid(exprs, grid, o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // fast < slow keeps 3 + 5 + 10 + 10 = 28 of 40 combinations.
  EXPECT_EQ(g->combinations.size(), 28u);
  EXPECT_EQ(g->program.outputs().size(), 56u);
  std::size_t emas = 0, means = 0, fields = 0;
  for (const Node& n : g->program.nodes()) {
    emas += n.op == OpCode::kEma;
    means += n.op == OpCode::kMean;
    fields += n.op == OpCode::kField;
  }
  // One EMA per distinct period (fast ∪ slow = 12 values), one Mean per slow, one close.
  EXPECT_EQ(emas, 12u);
  EXPECT_EQ(means, 4u);
  EXPECT_EQ(fields, 1u);
  EXPECT_EQ(g->program.outputs()[0].name, "cross[fast=5,slow=20]");

  // Each output equals the same expression compiled on its own.
  const Panel data = Synthetic(6, 200);
  Result<Panel> all = Evaluate(g->program, data);
  ASSERT_TRUE(all.ok());
  CompileOptions one;
  one.params = {{"fast", 25}, {"slow", 60}};
  std::vector<ExprSpec> single = {exprs[0]};
  Result<Panel> alone = EvaluateExpressions(single, data, one);
  ASSERT_TRUE(alone.ok());
  const auto f = all->FindField("cross[fast=25,slow=60]");
  ASSERT_TRUE(f);
  for (std::size_t i = 0; i < data.cells(); ++i) {
    ASSERT_TRUE(SameBits(all->field(*f)[i], alone->field(0)[i]));
  }
  ParamGrid bad = grid;
  bad.where = "fast < $close";
  EXPECT_FALSE(CompileGrid(exprs, bad, o).ok());
}

TEST(EvaluatorTest, NativeSemanticsOnHandValues) {
  // One symbol, five bars: close 1, 2, NaN, 4, 5.
  PanelBuilder builder(Calendar({1, 2, 3, 4, 5}), {"A"});
  std::span<double> close = builder.AddField("close");
  const double v[] = {1, 2, NAN, 4, 5};
  std::copy(std::begin(v), std::end(v), close.begin());
  const Panel data = std::move(builder).Build();
  std::vector<ExprSpec> exprs = {{"gt", "$close > 1.5"},
                                 {"and", "($close > 1.5) and ($close < 4.5)"},
                                 {"or", "($close > 1.5) or ($close < 4.5)"},
                                 {"if", "if($close > 1.5, 10, 20)"},
                                 {"mean", "Mean($close, 2)"},
                                 {"mean1", "Mean($close, 2, min_periods=1)"},
                                 {"fill", "FILLNAN($close, 0)"}};
  Result<Panel> got = EvaluateExpressions(exprs, data, {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  auto row = [&](const char* name) {
    std::vector<double> out;
    for (double x : got->series(*got->FindField(name), 0))
      out.push_back(x);
    return out;
  };
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!SameBits(a[i], b[i])) return false;
    }
    return true;
  };
  EXPECT_TRUE(same(row("gt"), {0, 1, NAN, 1, 1}));
  EXPECT_TRUE(same(row("and"), {0, 1, NAN, 1, 0}));
  EXPECT_TRUE(same(row("or"), {1, 1, NAN, 1, 1}));
  EXPECT_TRUE(same(row("if"), {20, 10, NAN, 10, 10}));
  EXPECT_TRUE(same(row("mean"), {NAN, 1.5, NAN, NAN, 4.5}));
  EXPECT_TRUE(same(row("mean1"), {1, 1.5, 2, 4, 4.5}));
  EXPECT_TRUE(same(row("fill"), {1, 2, 0, 4, 5}));
}

}  // namespace
}  // namespace qraft::expr
