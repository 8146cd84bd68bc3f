#include "qraft/report/report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "qraft/data/synth.h"
#include "qraft/data/testing.h"

namespace qraft::report {
namespace {

namespace fs = std::filesystem;
using data::testing::TempDir;
using engines::CandidateDetail;
using engines::CombinationResult;
using engines::CurvePoint;
using engines::kNaN;
using engines::SweepOutput;
using engines::TradeRow;

// Deterministic normal draws (Box-Muller over std::mt19937_64, whose output the standard fixes).
class Noise {
 public:
  explicit Noise(std::uint64_t seed) : gen_(seed) {}
  double Next() {
    const double u1 = (static_cast<double>(gen_() >> 11) + 0.5) / 9007199254740992.0;
    const double u2 = static_cast<double>(gen_() >> 11) / 9007199254740992.0;
    return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::mt19937_64 gen_;
};

std::vector<Timestamp> BusinessDays(std::size_t n) {
  std::vector<Timestamp> t;
  for (Timestamp d = DateTimestamp(2016, 1, 4); t.size() < n; d += kNanosPerDay) {
    if (Weekday(d) < 5) t.push_back(d);
  }
  return t;
}

// A sweep of fast x slow (fast < slow) over three years of business days: curves are seeded
// random walks around a benchmark, metrics come from the metrics accumulator, the top three keep
// their curves and a trade list.
SweepOutput MakeSweep(std::size_t bars = 760) {
  SweepOutput o;
  o.kind = "sweep";
  o.name = "ma_cross";
  o.dsl_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  o.snapshot_id = "b2bfc4bd9ae93ac69f95f4b11dc3774f3bbbfc482dcc1cdfee1b1c498e92c18f";
  o.code_version = "0.1.0+g0123456789ab";
  o.objective = "sharpe";
  o.strategy = {
      {"description", "Long while EMA(fast) is above EMA(slow); equal weights; next-open fills."},
      {"signals",
       {{"long", "(EMA($close, ${fast}) > EMA($close, ${slow}))"},
        {"exit", "(EMA($close, ${fast}) < EMA($close, ${slow}))"}}},
      {"universe", {{"market", "us_stock"}}},
      {"execution", {{"price", "next_open"}}},
      {"costs", {{"fee_bps", 1.0}, {"spread_bps", 2.0}}}};
  o.param_names = {"fast", "slow"};
  o.initial_capital = 1e6;
  const std::vector<Timestamp> time = BusinessDays(bars);
  Noise market(7);
  std::vector<double> bench(bars);
  for (double& b : bench)
    b = 0.0003 + 0.011 * market.Next();

  std::vector<CandidateDetail> curves;
  for (double fast : {5, 10, 15, 20, 25, 30}) {
    for (double slow : {20, 40, 60, 120}) {
      if (fast >= slow) continue;
      const std::size_t index = o.results.size();
      Noise own(100 + index);
      engines::MetricsOptions mo;
      mo.initial_capital = o.initial_capital;
      engines::MetricsAccumulator acc(mo);
      CandidateDetail d;
      d.index = index;
      double equity = o.initial_capital;
      const double edge = 0.00025 * std::sin(fast / 7.0 + slow / 50.0);
      const double beta = 0.35 + slow / 400.0;
      for (std::size_t t = 0; t < bars; ++t) {
        const bool in = (t / static_cast<std::size_t>(fast + 3)) % 3 != 0;
        const double fees = in && t % 17 == 0 ? equity * 2e-4 : 0;
        const double r = in ? edge + beta * bench[t] + 0.006 * own.Next() - fees / equity : 0;
        equity *= 1 + r;
        acc.AddBar({.ret = r,
                    .benchmark = bench[t],
                    .turnover = fees > 0 ? 1.0 : 0,
                    .fees = fees,
                    .gross_exposure = in ? 0.98 : 0});
        d.curve.push_back({.time = time[t],
                           .equity = equity,
                           .exposure = in ? 0.98 : 0,
                           .turnover = fees > 0 ? 1.0 : 0,
                           .fees = fees,
                           .benchmark = bench[t]});
      }
      for (std::size_t t = 5; t + 12 < bars; t += 23) {
        const double ret = 0.03 * own.Next();
        TradeRow tr{.symbol = t % 2 ? "AAPL" : "MSFT",
                    .entry_time = time[t],
                    .exit_time = time[t + 12],
                    .entry_price = 100 + static_cast<double>(t) / 10,
                    .size = 250,
                    .holding_bars = 12,
                    .exit_reason = t % 3 ? "signal" : "stop_loss"};
        tr.exit_price = tr.entry_price * (1 + ret);
        tr.pnl = tr.size * (tr.exit_price - tr.entry_price);
        tr.ret = ret;
        acc.AddTrade({.pnl = tr.pnl, .ret = tr.ret, .holding_bars = tr.holding_bars});
        d.trades.push_back(tr);
      }
      d.trades.push_back({.symbol = "AAPL",
                          .entry_time = time[bars - 4],
                          .entry_price = 180,
                          .size = 300,
                          .pnl = 120,
                          .ret = 0.002,
                          .holding_bars = 3,
                          .exit_reason = "end"});
      CombinationResult res;
      res.params = {{"fast", fast}, {"slow", slow}};
      res.metrics = acc.Finish();
      res.orders = static_cast<std::int64_t>(2 * d.trades.size());
      res.final_value = equity;
      o.results.push_back(res);
      curves.push_back(std::move(d));
    }
  }
  o.top = *engines::RankResults(o.results, o.objective, 5);
  for (std::size_t k = 0; k < 3; ++k)
    o.details.push_back(curves[o.top[k]]);
  // Pareto front on (sharpe, max_drawdown), both higher-is-better.
  for (std::size_t i = 0; i < o.results.size(); ++i) {
    const auto& a = o.results[i].metrics;
    bool dominated = false;
    for (const CombinationResult& other : o.results) {
      const auto& b = other.metrics;
      dominated |= b.sharpe >= a.sharpe && b.max_drawdown >= a.max_drawdown &&
                   (b.sharpe > a.sharpe || b.max_drawdown > a.max_drawdown);
    }
    if (!dominated) o.pareto.push_back(i);
  }
  o.pareto_objectives = {"sharpe", "max_drawdown"};
  return o;
}

std::size_t Count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
    ++n;
  return n;
}

// Every element is closed, in order (void elements and self-closed SVG elements aside); the
// contents of <style> and <script> are skipped. Returns "" or what is wrong.
std::string CheckNesting(const std::string& html) {
  static const std::set<std::string> kVoid = {"meta",  "br",   "hr",      "img",
                                              "input", "link", "!DOCTYPE"};
  std::vector<std::string> open;
  std::size_t p = 0;
  while ((p = html.find('<', p)) != std::string::npos) {
    const std::size_t end = html.find('>', p);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(p);
    const std::string tag = html.substr(p + 1, end - p - 1);
    p = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag.back() == '/') continue;
    const bool closing = tag[0] == '/';
    const std::string name =
        tag.substr(closing ? 1 : 0, tag.find_first_of(" \n", 0) - (closing ? 1 : 0));
    if (kVoid.contains(name)) continue;
    if (closing) {
      if (open.empty() || open.back() != name) {
        return "</" + name + "> closes <" + (open.empty() ? "nothing" : open.back()) + "> near " +
               html.substr(p > 80 ? p - 80 : 0, 80);
      }
      open.pop_back();
    } else {
      open.push_back(name);
      if (name == "style" || name == "script") {
        p = html.find("</" + name + ">", p);
        if (p == std::string::npos) return "unclosed " + name;
      }
    }
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

// What a broken number looks like once printed.
void ExpectNoBrokenNumbers(const std::string& html) {
  for (std::string_view bad :
       {">nan", "nan%", " nan", ">inf", "inf%", "NaN<", "NaN%", ">-nan", "e+308", "(nan)"}) {
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
}

TEST(ReportTest, RendersEverySection) {
  const SweepOutput o = MakeSweep();
  const std::string html = RenderReport(o);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // Nothing is fetched: no external resource of any kind.
  for (std::string_view ext : {"http://", "https://", "src=", "@import", "url("}) {
    EXPECT_EQ(html.find(ext), std::string::npos) << ext;
  }
  // Header and fingerprints.
  EXPECT_NE(html.find("<h1>ma_cross</h1>"), std::string::npos);
  EXPECT_NE(html.find(o.snapshot_id), std::string::npos);
  EXPECT_NE(html.find(o.dsl_hash), std::string::npos);
  EXPECT_NE(html.find("0.1.0+g0123456789ab"), std::string::npos);
  EXPECT_NE(html.find("combinations <b>21</b>"), std::string::npos);
  EXPECT_NE(html.find("objective <b>Sharpe</b>"), std::string::npos);
  EXPECT_NE(html.find("EMA($close, ${fast}) &gt; EMA($close, ${slow})"), std::string::npos);
  // The top table: five rows, the key metrics as headers, the best row linked to its section.
  for (std::string_view h : {"Return", "CAGR", "Sharpe", "Sortino", "Max DD", "Calmar",
                             "Turnover/yr", "Trades", "Win rate", "Fees"}) {
    EXPECT_NE(html.find(fmt::format(">{}</th>", h)), std::string::npos) << h;
  }
  const std::string best = engines::ParamsHash(o.results[o.top[0]].params);
  EXPECT_NE(html.find("href=\"#c-" + best + "\""), std::string::npos);
  EXPECT_NE(html.find("<details class=\"cand\" id=\"c-" + best + "\" open>"), std::string::npos);
  // One section per kept candidate, each with its charts.
  EXPECT_EQ(Count(html, "<details class=\"cand\""), 3u);
  EXPECT_EQ(Count(html, "stroke=\"#2563eb\" stroke-width=\"2\""), 3u);  // equity lines
  EXPECT_EQ(Count(html, "stroke=\"#94a3b8\""), 3u);                     // benchmarks
  EXPECT_EQ(Count(html, "stroke=\"#dc2626\""), 3u);                     // drawdowns
  EXPECT_EQ(Count(html, "stroke=\"#7c3aed\""), 3u);                     // rolling Sharpe
  EXPECT_EQ(Count(html, "<table class=\"heat monthly\">"), 3u);
  EXPECT_NE(html.find("<th>2016</th>"), std::string::npos);
  EXPECT_NE(html.find("<th>2018</th>"), std::string::npos);
  EXPECT_NE(html.find(">Jan 2017</text>"), std::string::npos);  // a tick on the time axis
  EXPECT_NE(html.find("style=\"background:#"), std::string::npos);
  EXPECT_NE(html.find("The first 20 of 34 trades"), std::string::npos);
  EXPECT_NE(html.find("<span>Still open</span><b class=\"\">1</b>"), std::string::npos);
  EXPECT_NE(html.find("Excess kurtosis"), std::string::npos);
  // The landscape: one map for two parameters (fast < slow leaves cells empty), the scatter.
  EXPECT_EQ(Count(html, "<table class=\"heat pmap\">"), 1u);
  EXPECT_NE(html.find("slow \\ fast"), std::string::npos);
  EXPECT_GT(Count(html, "class=\"void\" title=\"not run\""), 0u);
  EXPECT_EQ(Count(html, "class=\"bestcell\""), 1u);
  EXPECT_EQ(Count(html, "<circle class=\"pp\""), o.pareto.size());
  EXPECT_EQ(Count(html, "<circle class=\"pt\"") + o.pareto.size(), o.results.size());
  EXPECT_EQ(Count(html, "<circle class=\"ring\""), 5u);
  // The same input gives the same bytes.
  EXPECT_EQ(RenderReport(o), html);
}

TEST(ReportTest, EscapesEveryString) {
  SweepOutput o = MakeSweep(120);
  o.name = "<script>alert('x')</script> & co";
  o.code_version = "\"><b>";
  o.details[0].trades[0].symbol = "A<B>&\"C\"";
  o.details[0].trades[0].exit_reason = "<i>";
  const std::string html = RenderReport(o);
  EXPECT_EQ(CheckNesting(html), "");
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"),
            std::string::npos);
  EXPECT_NE(html.find("A&lt;B&gt;&amp;&quot;C&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<b>\"</b>"), std::string::npos);
  EXPECT_EQ(Count(html, "<script>"), 1u);  // ours
}

TEST(ReportTest, DegenerateInputsGiveAValidReportWithANote) {
  {  // Nothing at all.
    SweepOutput o;
    const std::string html = RenderReport(o);
    EXPECT_EQ(CheckNesting(html), "");
    EXPECT_NE(html.find("This run holds no combinations."), std::string::npos);
    EXPECT_NE(html.find("Unnamed strategy"), std::string::npos);
  }
  {  // A backtest: one combination, NaN metrics, a flat curve, no trades.
    SweepOutput o;
    o.kind = "backtest";
    o.name = "flat";
    o.param_names = {"fast"};
    CombinationResult r;
    r.params = {{"fast", 10}};
    r.final_value = 1e6;
    o.results.push_back(r);
    o.top = {0};
    CandidateDetail d;
    const std::vector<Timestamp> t = BusinessDays(300);
    for (Timestamp x : t)
      d.curve.push_back({.time = x, .equity = 1e6});
    o.details.push_back(d);
    const std::string html = RenderReport(o);
    EXPECT_EQ(CheckNesting(html), "");
    ExpectNoBrokenNumbers(html);
    EXPECT_NE(html.find("never held a position"), std::string::npos);
    EXPECT_NE(html.find("No trade list was kept for this candidate, and its metrics count no "
                        "closed trade."),
              std::string::npos);
    EXPECT_NE(html.find("\u2014"), std::string::npos);               // NaN metrics print as a dash
    EXPECT_EQ(html.find("Parameter landscape"), std::string::npos);  // a backtest has none
    EXPECT_NE(html.find("<path d=\"M"), std::string::npos);          // the flat line is drawn
  }
  {  // A sweep of one combination whose curve has one bar, another with NaN gaps.
    SweepOutput o = MakeSweep(60);
    o.results.resize(1);
    o.top = {0};
    o.pareto = {0};
    o.details.resize(1);
    o.details[0].index = 0;
    o.details[0].curve.resize(1);
    std::string html = RenderReport(o);
    EXPECT_EQ(CheckNesting(html), "");
    EXPECT_NE(html.find("single bar"), std::string::npos);
    EXPECT_NE(html.find("A single combination"), std::string::npos);
    o.details[0] = MakeSweep(60).details[0];
    o.details[0].index = 0;
    for (std::size_t t = 10; t < 20; ++t)
      o.details[0].curve[t].equity = kNaN;
    o.details[0].curve[0].benchmark = kNaN;
    html = RenderReport(o);
    EXPECT_EQ(CheckNesting(html), "");
    ExpectNoBrokenNumbers(html);
  }
  {  // Kept curves absent; an objective that is not a metric.
    SweepOutput o = MakeSweep(60);
    o.details.clear();
    o.top.clear();
    o.objective = "alpha";
    const std::string html = RenderReport(o);
    EXPECT_EQ(CheckNesting(html), "");
    EXPECT_NE(html.find("No equity curves were kept"), std::string::npos);
    EXPECT_NE(html.find("The objective &#39;alpha&#39; is not a metric"), std::string::npos);
    EXPECT_NE(html.find("<tr class=\"best\">"), std::string::npos);  // ranked here instead
  }
}

TEST(ReportTest, MapsEveryPairOfParametersAndBinsContinuousOnes) {
  SweepOutput o = MakeSweep(60);
  o.param_names = {"fast", "slow", "stop"};
  for (std::size_t i = 0; i < o.results.size(); ++i)
    o.results[i].params["stop"] = 0.01 * static_cast<double>(i % 3 + 1);
  std::string html = RenderReport(o);
  EXPECT_EQ(Count(html, "<table class=\"heat pmap\">"), 3u);
  EXPECT_NE(html.find("best over the other parameters"), std::string::npos);
  EXPECT_NE(html.find("<th class=\"param\">stop</th>"), std::string::npos);
  // A sampled parameter with many distinct values is shown in ten bins.
  const std::size_t n = o.results.size();
  for (std::size_t i = 0; i < n; ++i)
    o.results.push_back(o.results[i]);
  for (std::size_t i = 0; i < o.results.size(); ++i)
    o.results[i].params["stop"] = 0.001 * static_cast<double>(i * i + 1);
  html = RenderReport(o);
  EXPECT_EQ(CheckNesting(html), "");
  // 0.001 .. 1.682 in ten bins of 0.1681: the rows of the two maps that have `stop`.
  EXPECT_EQ(Count(html, "<tr><th>0.00\u20130.17</th>"), 2u);
  EXPECT_EQ(Count(html, "<tr><th>1.51\u20131.68</th>"), 2u);
}

TEST(ReportTest, WriteReportIsAtomicAndNamesTheFileOnError) {
  TempDir dir;
  const SweepOutput o = MakeSweep(60);
  ASSERT_TRUE(WriteReport(o, dir / "r.html").ok());
  std::ifstream in(dir / "r.html");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), RenderReport(o));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename(), "r.html");
  const Status st = WriteReport(o, dir / "missing" / "r.html");
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find((dir / "missing" / "r.html").string()), std::string::npos);
}

// The whole path on a real sweep: RunSweep keeps curves, WriteResultDir and ReadResultDir carry
// them, the report shows them.
TEST(ReportTest, ReportsARealSweepThroughItsResultDirectory) {
  data::SynthOptions so;
  so.symbols = 6;
  so.bars = 500;
  so.seed = 3;
  Result<data::SnapshotContent> market = data::Synthesize(so);
  ASSERT_TRUE(market.ok()) << market.status().ToString();
  Result<strategy::StrategySpec> spec = strategy::ParseStrategy(R"(version: 1
name: cross
signals:
  long: Mean(close, ${fast}) > Mean(close, ${slow})
  exit: Mean(close, ${fast}) < Mean(close, ${slow})
costs: {fee_bps: 5}
params:
  fast: {values: [3, 5, 10]}
  slow: {values: [20, 40]}
)",
                                                                "cross.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  Result<std::vector<strategy::ParamValues>> combos = spec->Combinations();
  ASSERT_TRUE(combos.ok());
  engines::BacktestOptions bo;
  bo.keep_details = true;
  Result<engines::SweepResult> run = engines::RunSweep(*spec, market->panel, *combos, bo);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  SweepOutput o;
  o.name = spec->name;
  o.dsl_hash = run->dsl_hash;
  o.strategy = spec->Canonical();
  o.param_names = {"fast", "slow"};
  o.initial_capital = bo.initial_capital;
  o.results = run->results;
  o.top = *engines::RankResults(o.results, "sharpe", 3);
  for (std::size_t i : o.top)
    o.details.push_back(run->details.at(i));
  TempDir dir;
  ASSERT_TRUE(engines::WriteResultDir(dir.path(), o).ok());
  Result<SweepOutput> back = engines::ReadResultDir(dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->details.size(), 3u);
  const std::string html = RenderReport(*back);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_EQ(Count(html, "<details class=\"cand\""), 3u);
  EXPECT_EQ(Count(html, "stroke=\"#2563eb\" stroke-width=\"2\""), 3u);
  EXPECT_NE(html.find("<h1>cross</h1>"), std::string::npos);
}

}  // namespace
}  // namespace qraft::report
