#include "qraft/report/report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
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

// ---------------------------------------------------------------------------------------------
// The optional files of a result directory: order and fill logs, sensitivity.json,
// consistency.json.

void WriteText(const fs::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

// A sweep written to `dir`; returns it as ReadResultDir reads it back.
SweepOutput WriteSweep(const fs::path& dir) {
  EXPECT_TRUE(engines::WriteResultDir(dir, MakeSweep(120)).ok());
  Result<SweepOutput> back = engines::ReadResultDir(dir);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return *back;
}

fs::path CandidateDir(const fs::path& dir, const SweepOutput& o, std::size_t index) {
  return dir / "candidates" / engines::ParamsHash(o.results[index].params);
}

// Five orders and three fills; the sums worked by hand are in the test below.
constexpr std::string_view kOrdersCsv =
    "id,submitted,done,symbol,side,type,tif,quantity,notional,limit,stop,status,reject,filled,"
    "avg_price,fees,tag\n"
    "1,2016-01-04,2016-01-05,AAPL,buy,market,gtc,100,,,,filled,,100,10.01,5.05,1\n"
    "2,2016-01-05,2016-01-06,MSFT,buy,limit,day,300,,20,,cancelled,price_limit,200,20,5.6,1\n"
    "3,2016-01-06,2016-01-06,GOOG,buy,market,gtc,50,,,,rejected,insufficient_cash,0,,0,1\n"
    "4,2016-01-29,2016-02-01,AAPL,sell,market,gtc,100,,,,filled,,100,10.99,16.05,1\n"
    "5,2016-01-29,2016-01-29,AAPL,sell,stop_market,gtc,100,,,9,rejected,no_position,0,,0,2\n";
constexpr std::string_view kFillsCsv =
    "order,time,symbol,side,liquidity,quantity,market_price,price,commission,stamp_duty,"
    "transfer_fee,exchange_fee,slippage\n"
    "1,2016-01-05,AAPL,buy,taker,100,10,10.01,5,0,0.02,0.03,1\n"
    "2,2016-01-06,\"M<S>FT\",buy,maker,200,20,20,5.5,0,0.04,0.06,0\n"
    "4,2016-02-01,AAPL,sell,taker,100,11,10.99,5,11,0.02,0.03,1\n";

TEST(ReportExtrasTest, ACandidateShowsItsOrdersFillsAndCosts) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  const std::size_t best = o.top[0];
  WriteText(CandidateDir(dir.path(), o, best) / "orders.csv", kOrdersCsv);
  WriteText(CandidateDir(dir.path(), o, best) / "fills.csv", kFillsCsv);
  Result<ReportExtras> extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  ASSERT_EQ(extras->logs.size(), 1u);
  const OrderLog& log = extras->logs.at(best);
  ASSERT_TRUE(log.orders && log.fills);
  EXPECT_EQ(log.orders->size(), 5u);
  EXPECT_EQ((*log.orders)[1].reject, "price_limit");
  EXPECT_EQ((*log.orders)[1].filled, 200);
  ASSERT_EQ(log.fills->size(), 3u);
  EXPECT_EQ((*log.fills)[1].symbol, "M<S>FT");
  EXPECT_EQ((*log.fills)[2].stamp_duty, 11);

  const std::string html = RenderReport(o, *extras, {.fills = 2});
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_EQ(Count(html, "<h3>Orders and fills"), 1u);  // the one candidate with logs
  const std::string hash = engines::ParamsHash(o.results[best].params);
  EXPECT_NE(html.find("candidates/" + hash + "/orders.csv, fills.csv"), std::string::npos);
  // Orders by status, type and reject reason.
  auto stat = [&](std::string_view k, std::string_view v) {
    return html.find(fmt::format("<span>{}</span><b class=\"", k)) != std::string::npos &&
           html.find(fmt::format("<span>{}</span><b class=\"{}\">{}</b>", k,
                                 k == "Rejected" || k == "Reject reasons" ? "neg" : "", v)) !=
               std::string::npos;
  };
  EXPECT_TRUE(stat("Orders", "5"));
  EXPECT_TRUE(stat("Filled", "2"));
  EXPECT_TRUE(stat("Cancelled", "1"));
  EXPECT_TRUE(stat("Rejected", "2"));
  EXPECT_TRUE(stat("Partly filled", "1"));  // order 2: 200 of 300, then cancelled
  EXPECT_TRUE(stat("By type", "market 3, limit 1, stop_market 1"));
  EXPECT_TRUE(stat("Reject reasons", "insufficient_cash 1, no_position 1, price_limit 1"));
  // Fills by side and liquidity; bought 100 x 10.01 + 200 x 20, sold 100 x 10.99.
  EXPECT_TRUE(stat("Fills", "3"));
  EXPECT_TRUE(stat("Buys", "2"));
  EXPECT_TRUE(stat("Sells", "1"));
  EXPECT_TRUE(stat("Maker", "1"));
  EXPECT_TRUE(stat("Taker", "2"));
  EXPECT_TRUE(stat("Bought", "5,001"));
  EXPECT_TRUE(stat("Sold", "1,099"));
  // Costs: commission 5 + 5.5 + 5 = 15.5, stamp duty 11, transfer 0.08, exchange 0.12,
  // slippage 2; total 28.7 over 6,100 traded (47.05 bps); commission 15.5 / 28.7 = 54.0%.
  auto cost = [&](std::string_view name, std::string_view amount, std::string_view share,
                  std::string_view bps) {
    const std::string row = fmt::format("<td>{}</td><td data-v=\"", name);
    const std::size_t at = html.find(row);
    if (at == std::string::npos) return std::string("no row ") + std::string(name);
    const std::string tail = fmt::format("\">{}</td><td>{}</td><td>{}</td>", amount, share, bps);
    const std::size_t end = html.find("</tr>", at);
    return html.substr(at, end - at).find(tail) != std::string::npos ? std::string()
                                                                     : html.substr(at, end - at);
  };
  EXPECT_EQ(cost("Commission", "15.50", "54.0%", "25.41"), "");
  EXPECT_EQ(cost("Stamp duty", "11.00", "38.3%", "18.03"), "");
  EXPECT_EQ(cost("Transfer fee", "0.08", "0.3%", "0.13"), "");
  EXPECT_EQ(cost("Exchange fee", "0.12", "0.4%", "0.20"), "");
  EXPECT_EQ(cost("Slippage", "2.00", "7.0%", "3.28"), "");
  EXPECT_EQ(cost("Total", "28.70", "100.0%", "47.05"), "");
  EXPECT_NE(html.find("Over 6,100 traded"), std::string::npos);
  // The first two fills, escaped, and where the rest are.
  EXPECT_EQ(Count(html, "<table class=\"data fills sortable\">"), 1u);
  EXPECT_NE(html.find("<td class=\"l\">M&lt;S&gt;FT</td>"), std::string::npos);
  EXPECT_NE(html.find("<td data-v=\"10.01\">10.01</td>"), std::string::npos);
  EXPECT_EQ(html.find("<td data-v=\"10.99\">10.99</td>"), std::string::npos);  // the third fill
  EXPECT_NE(html.find("The first 2 of 3 fills; all are in candidates/" + hash + "/fills.csv."),
            std::string::npos);
  EXPECT_NE(html.find("candidates/ (with order and fill logs)"), std::string::npos);
  EXPECT_EQ(RenderReport(o, *extras, {.fills = 2}), html);

  // An order log alone: the summary of orders, a note for the fills, no cost table.
  fs::remove(CandidateDir(dir.path(), o, best) / "fills.csv");
  extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  const std::string orders_only = RenderReport(o, *extras);
  EXPECT_EQ(CheckNesting(orders_only), "");
  EXPECT_NE(orders_only.find("No fill log (fills.csv) for this candidate."), std::string::npos);
  EXPECT_EQ(orders_only.find("<h3>Costs"), std::string::npos);
}

// Three candidates, Top-2; commission and all at 0.5x, 1x and 2x.
constexpr std::string_view kSensitivityJson = R"({
  "objective": "sharpe", "top": 2,
  "candidates": [{"fast": 5.0, "slow": 20.0}, {"fast": 10.0, "slow": 40.0},
                 {"fast": 15.0, "slow": 60.0}],
  "base": {"objective": [1.5, 1.2, 0.4], "total_return": [0.3, 0.2, 0.05]},
  "points": [
    {"component": "commission", "scale": 0.5, "overlap": 1.0, "jaccard": 1.0, "spearman": 1.0,
     "objective": [1.6, 1.3, 0.5], "total_return": [0.32, 0.22, 0.06]},
    {"component": "commission", "scale": 1.0, "overlap": 1.0, "jaccard": 1.0, "spearman": 1.0,
     "objective": [1.5, 1.2, 0.4], "total_return": [0.3, 0.2, 0.05]},
    {"component": "commission", "scale": 2.0, "overlap": 0.5, "jaccard": 0.3333333333333333,
     "spearman": 0.5, "objective": [1.1, 0.9, 1.0], "total_return": [0.1, 0.2, null]},
    {"component": "all", "scale": 0.5, "overlap": 1.0, "jaccard": 1.0, "spearman": 1.0,
     "objective": [1.7, 1.4, 0.6], "total_return": [0.35, 0.25, 0.07]},
    {"component": "all", "scale": 1.0, "overlap": 1.0, "jaccard": 1.0, "spearman": 1.0,
     "objective": [1.5, 1.2, 0.4], "total_return": [0.3, 0.2, 0.05]},
    {"component": "all", "scale": 2.0, "overlap": 0.5, "jaccard": 0.3333333333333333,
     "spearman": -0.5, "objective": [0.2, 0.1, 0.3], "total_return": [-0.1, -0.2, -0.05]}
  ],
  "min_overlap": 0.5
})";

TEST(ReportExtrasTest, CostSensitivityShowsTheOverlapCurvesAndTheMinimum) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  WriteText(dir / "sensitivity.json", kSensitivityJson);
  Result<ReportExtras> extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  ASSERT_TRUE(extras->sensitivity.has_value());
  EXPECT_TRUE(extras->logs.empty());
  EXPECT_FALSE(extras->consistency.has_value());
  const SensitivityFile& f = *extras->sensitivity;
  EXPECT_EQ(f.top, 2u);
  ASSERT_EQ(f.points.size(), 6u);
  EXPECT_TRUE(std::isnan(f.points[2].total_return[2]));
  EXPECT_EQ(f.candidates[1].at("slow"), 40);

  const std::string html = RenderReport(o, *extras);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_EQ(Count(html, "<section id=\"sensitivity\">"), 1u);
  EXPECT_EQ(html.find("<section id=\"consistency\">"), std::string::npos);
  // After the landscape, before the run.
  EXPECT_LT(html.find("<section id=\"sweep\">"), html.find("<section id=\"sensitivity\">"));
  EXPECT_LT(html.find("<section id=\"sensitivity\">"), html.find("<section id=\"run\">"));
  // The minimum overlap, prominently: 0.5 of Top-2 is 1 of 2, first reached by commission at 2x.
  EXPECT_NE(html.find("<div class=\"l\">Minimum Top-2 overlap</div><div class=\"v neg\">0.50</div>"
                      "<div class=\"s\">1 of 2 \u00b7 commission at 2\u00d7</div>"),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"v \">\u22120.50</div><div class=\"s\">all at 2\u00d7</div>"),
            std::string::npos);  // the lowest Spearman
  EXPECT_EQ(Count(html, "<tr class=\"worst\">"), 2u);
  EXPECT_NE(html.find(">minimum 0.50</text>"), std::string::npos);
  // Two charts, one line per component, a point each (with its tooltip); Spearman down to -1.
  EXPECT_EQ(Count(html, "<div class=\"card chartcard\"><h3>Top-2 overlap"), 1u);
  EXPECT_EQ(Count(html, "<div class=\"card chartcard\"><h3>Rank correlation"), 1u);
  EXPECT_EQ(Count(html, "stroke-opacity=\"0.85\""), 4u);
  EXPECT_EQ(Count(html, "r=\"3.5\" fill=\"#2563eb\""), 6u);  // commission: 3 + 3 points
  EXPECT_EQ(Count(html, "r=\"3.5\" fill=\"#111827\""), 6u);  // all
  EXPECT_NE(html.find("<title>commission \u00b7 2\u00d7 \u00b7 Top-2 overlap 0.50 \u00b7 "
                      "Jaccard 0.33</title>"),
            std::string::npos);
  EXPECT_NE(html.find(">\u22121.0</text>"), std::string::npos);
  for (std::string_view x : {">0.5\u00d7</text>", ">1\u00d7</text>", ">2\u00d7</text>"})
    EXPECT_EQ(Count(html, x), 2u) << x;
  // The table: means over the candidates (NaN left out): commission at 2x has objective
  // (1.1 + 0.9 + 1.0) / 3 = 1.00 and return (0.1 + 0.2) / 2 = +15.00%.
  EXPECT_NE(html.find("<td data-v=\"1\">1.00</td><td class=\"pos\" data-v=\"0.15000000000000002\">"
                      "+15.00%</td>"),
            std::string::npos);
  EXPECT_NE(html.find(">\u221211.67%</td>"), std::string::npos);  // all at 2x: -0.35 / 3
  // The candidates at the base costs: the base Top-2 highlighted.
  EXPECT_NE(html.find("The 3 candidates at the base costs"), std::string::npos);
  EXPECT_NE(html.find("Highlighted: the base Top-2."), std::string::npos);
  EXPECT_NE(html.find("sensitivity.json"), std::string::npos);
  EXPECT_EQ(RenderReport(o, *extras), html);
}

// Two candidates against a bound of 0.5%: the second differs by 1.2% in total return.
constexpr std::string_view kConsistencyJson = R"({
  "bound": 0.005, "pass": false, "max_difference": 0.012,
  "rows": [
    {"params": {"fast": 5.0, "slow": 20.0}, "pass": true,
     "fast": {"total_return": 0.25, "sharpe": 1.1, "max_drawdown": -0.12, "turnover": 0.02},
     "precise": {"total_return": 0.25, "sharpe": 1.1, "max_drawdown": -0.12, "turnover": 0.02},
     "difference": {"total_return": 0.0, "sharpe": 2e-12, "max_drawdown": 0.0,
                    "turnover": 0.0},
     "steps": [
       {"friction": "costs",
        "metrics": {"total_return": 0.2377, "sharpe": 1.0, "max_drawdown": -0.13,
                    "turnover": 0.02},
        "change": {"total_return": -0.0123, "sharpe": -0.1, "max_drawdown": -0.01,
                   "turnover": 0.0}},
       {"friction": "latency",
        "metrics": {"total_return": 0.2382, "sharpe": 1.01, "max_drawdown": -0.13,
                    "turnover": 0.02},
        "change": {"total_return": 0.0005, "sharpe": 0.01, "max_drawdown": 0.0,
                   "turnover": 0.0}}]},
    {"params": {"fast": 10.0, "slow": 40.0}, "pass": false,
     "fast": {"total_return": 0.5, "sharpe": 1.3, "max_drawdown": -0.1, "turnover": 0.03},
     "precise": {"total_return": 0.494, "sharpe": 1.3, "max_drawdown": -0.1, "turnover": null},
     "difference": {"total_return": 0.012, "sharpe": 0.0, "max_drawdown": 0.0,
                    "turnover": null},
     "steps": [
       {"friction": "costs",
        "metrics": {"total_return": 0.474, "sharpe": 1.2, "max_drawdown": -0.11,
                    "turnover": 0.03},
        "change": {"total_return": -0.02, "sharpe": -0.1, "max_drawdown": -0.01,
                   "turnover": 0.0}}]}
  ]
})";

TEST(ReportExtrasTest, TwoStageConsistencyShowsTheVerdictDifferencesAndAttribution) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  WriteText(dir / "consistency.json", kConsistencyJson);
  Result<ReportExtras> extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  ASSERT_TRUE(extras->consistency.has_value());
  const ConsistencyFile& f = *extras->consistency;
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_FALSE(f.pass);
  EXPECT_TRUE(std::isnan(f.rows[1].precise.turnover));
  EXPECT_EQ(f.rows[0].steps[1].friction, "latency");

  const std::string html = RenderReport(o, *extras);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_EQ(Count(html, "<section id=\"consistency\">"), 1u);
  EXPECT_EQ(html.find("<section id=\"sensitivity\">"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"l\">Verdict</div><div class=\"v neg\">FAIL</div><div "
                      "class=\"s\">bound 0.50%</div>"),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"v neg\">1.20%</div>"), std::string::npos);  // largest
  EXPECT_NE(html.find("<div class=\"v neg\">1 of 2</div>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"s\">costs, latency</div>"), std::string::npos);
  // Fast against precise, with the relative differences; the failing one in red.
  EXPECT_EQ(Count(html, "<td class=\"pos\"><b>pass</b></td>"), 1u);
  EXPECT_EQ(Count(html, "<td class=\"neg\"><b>fail</b></td>"), 1u);
  EXPECT_NE(html.find("<td class=\"sep\" data-v=\"0.5\">50.00%</td><td data-v=\"0.494\">49.40%"
                      "</td><td class=\"neg\" data-v=\"0.012\">1.20%</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"\" data-v=\"2e-12\">2.0e\u221212</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"na\" data-v=\"\">\u2014</td>"), std::string::npos);  // null
  // The attribution of total return per step; the second candidate had no latency step.
  EXPECT_NE(html.find(">\u22121.23 pp</td>"), std::string::npos);
  EXPECT_NE(html.find(">+0.05 pp</td>"), std::string::npos);
  EXPECT_NE(html.find(">\u22122.00 pp</td>"), std::string::npos);
  EXPECT_NE(html.find(">\u22121.18 pp</td>"), std::string::npos);  // all frictions, row 1
  EXPECT_NE(html.find("title=\"costs: Total return \u22121.23 pp (23.77%), Sharpe \u22120.100 "
                      "(1.00)"),
            std::string::npos);
  EXPECT_EQ(Count(html, "<td class=\"na\" data-v=\"\">\u2014</td>"), 2u);  // + latency, row 2
  // A candidate with a section is linked to it.
  const std::string linked = engines::ParamsHash({{"fast", 5}, {"slow", 20}});
  bool kept = false;
  for (const CandidateDetail& d : o.details)
    kept |= engines::ParamsHash(o.results[d.index].params) == linked;
  EXPECT_EQ(html.find("<a href=\"#c-" + linked + "\">fast=5") != std::string::npos, kept);
}

// Two candidates of 26 trials: the first (a kept candidate, linked) passes every gate, the second
// fails dsr (a reason with '<' and '&'), stepm and min_trades (null), and has no rerun gate. Nine
// logits, one null: four of the eight are <= 0. The DSR curve has a null at 10 trials.
constexpr std::string_view kGatesJson = R"({
  "format": "qraft-gates-v1",
  "config": {"objective": "sharpe", "candidates": 2, "benchmark": "equal_weight",
             "bootstrap": {"reps": 1000, "block": 0.0, "seed": 42}, "effective_trials": false,
             "pbo_blocks": 16, "overlap_scale": 0.5, "overlap_top": 5},
  "snapshot_id": "b2bfc4bd9ae93ac6", "dsl_hash": "9f86d081884c7d65",
  "code_version": "0.1.0+g0123456789ab",
  "trials": 26, "effective_trials": 26.0, "periods_per_year": 252.0,
  "windows": {
    "train": {"begin": 0, "end": 72, "bars": 72, "first": "2016-01-04", "last": "2016-04-12"},
    "validation": {"begin": 72, "end": 96, "bars": 24, "first": "2016-04-13",
                   "last": "2016-05-16"},
    "holdout": {"begin": 96, "end": 120, "bars": 24, "first": "2016-05-17", "last": "2016-06-17"}
  },
  "search": {"trial_sharpe_variance": 0.0004, "expected_max_sharpe": 0.04, "block": 7.3,
             "spa": {"lower": 0.012, "consistent": 0.021, "upper": 0.034, "se": 0.0041},
             "reality_check": 0.052, "stepm": [3, 7]},
  "pbo": {"pbo": 0.5, "prob_oos_loss": 0.25, "slope": -0.48, "intercept": 0.01, "r2": 0.12,
          "logits": [-1.2, -0.3, -0.2, 0.0, 0.1, 0.4, 0.45, 1.3, null]},
  "dsr_curve": [{"trials": 1, "dsr": 0.99}, {"trials": 2, "dsr": 0.97},
                {"trials": 5, "dsr": 0.9}, {"trials": 10, "dsr": null},
                {"trials": 26, "dsr": 0.81}],
  "overlap": {"low": 0.8, "high": 0.6},
  "candidates": [
    {"id": "@ID@", "index": 3, "params": @PARAMS@, "pass": true, "objective": 1.85,
     "holdout_return": 0.12, "holdout_sharpe": 0.9,
     "gates": [
       {"name": "dsr", "value": 0.97, "threshold": 0.95, "pass": true,
        "reason": "DSR 0.97 >= 0.95", "hint": ""},
       {"name": "spa", "value": 0.021, "threshold": 0.05, "pass": true,
        "reason": "SPA consistent p 0.021 <= 0.05", "hint": ""},
       {"name": "stepm", "value": 1.0, "threshold": 0.05, "pass": true,
        "reason": "is among the 2 trials StepM finds superior", "hint": ""},
       {"name": "min_trades", "value": 34.0, "threshold": 20.0, "pass": true,
        "reason": "34 closed trades over the run", "hint": ""},
       {"name": "pbo", "value": 0.5, "threshold": 0.5, "pass": true,
        "reason": "PBO 0.5 <= 0.5", "hint": ""},
       {"name": "rerun", "value": 0.0, "threshold": 0.0, "pass": true,
        "reason": "a fresh rerun differs by 0", "hint": ""}]},
    {"id": "feedfacecafebeef", "index": 7, "params": {"fast": 30.0, "slow": 40.0},
     "pass": false, "objective": 1.2, "holdout_return": -0.05, "holdout_sharpe": null,
     "gates": [
       {"name": "dsr", "value": 0.81, "threshold": 0.95, "pass": false,
        "reason": "DSR 0.81 < 0.95 & more", "hint": "fewer trials <a smaller grid>"},
       {"name": "spa", "value": 0.021, "threshold": 0.05, "pass": true,
        "reason": "SPA consistent p 0.021 <= 0.05", "hint": ""},
       {"name": "stepm", "value": 0.0, "threshold": 0.05, "pass": false,
        "reason": "is not among the 2 trials StepM finds superior", "hint": "not significant"},
       {"name": "min_trades", "value": null, "threshold": 20.0, "pass": false,
        "reason": "no closed trade", "hint": "a longer history"},
       {"name": "pbo", "value": 0.5, "threshold": 0.5, "pass": true,
        "reason": "PBO 0.5 <= 0.5", "hint": ""}]}
  ]
})";

// kGatesJson with the first candidate being the sweep's best (which has a section).
std::string GatesJson(const SweepOutput& o) {
  std::string text(kGatesJson);
  const strategy::ParamValues& p = o.results[o.top[0]].params;
  text.replace(text.find("@ID@"), 4, engines::ParamsHash(p));
  text.replace(text.find("@PARAMS@"), 8, nlohmann::json(p).dump());
  return text;
}

TEST(ReportExtrasTest, QualityGatesShowTheVerdictsPValuesPboAndDsrCurve) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  WriteText(dir / "gates.json", GatesJson(o));
  Result<ReportExtras> extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  ASSERT_TRUE(extras->gates.has_value());
  EXPECT_FALSE(extras->sensitivity.has_value());
  const GatesFile& f = *extras->gates;
  EXPECT_EQ(f.benchmark, "equal_weight");
  EXPECT_EQ(f.seed, 42u);
  EXPECT_EQ(f.trials, 26u);
  EXPECT_EQ(f.validation.first, "2016-04-13");
  EXPECT_EQ(f.holdout.bars, 24u);
  EXPECT_EQ(f.stepm, (std::vector<std::size_t>{3, 7}));
  ASSERT_EQ(f.logits.size(), 9u);
  EXPECT_TRUE(std::isnan(f.logits[8]));
  ASSERT_EQ(f.dsr_curve.size(), 5u);
  EXPECT_TRUE(std::isnan(f.dsr_curve[3].dsr));
  ASSERT_EQ(f.candidates.size(), 2u);
  EXPECT_EQ(f.candidates[1].index, 7u);
  EXPECT_TRUE(std::isnan(f.candidates[1].holdout_sharpe));
  ASSERT_EQ(f.candidates[1].gates.size(), 5u);
  EXPECT_EQ(f.candidates[1].gates[0].hint, "fewer trials <a smaller grid>");
  EXPECT_TRUE(std::isnan(f.candidates[1].gates[3].value));

  const std::string html = RenderReport(o, *extras);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_EQ(Count(html, "<section id=\"gates\"><h2>Quality gates</h2>"), 1u);
  EXPECT_LT(html.find("<section id=\"sweep\">"), html.find("<section id=\"gates\">"));
  EXPECT_LT(html.find("<section id=\"gates\">"), html.find("<section id=\"run\">"));
  EXPECT_NE(html.find("candidates/, gates.json (format"), std::string::npos);
  // The summary: verdicts, trials, windows, benchmark, bootstrap, overlap.
  EXPECT_NE(html.find("<b>1 of 2</b> candidates pass every gate. The best 2 of 26 trials by "
                      "<b>Sharpe</b> on validation, against the benchmark <b>equal_weight</b>."),
            std::string::npos);
  EXPECT_NE(html.find("Train 2016-01-04 \u2013 2016-04-12 (72 bars) \u00b7 validation "
                      "2016-04-13 \u2013 2016-05-16 (24 bars) \u00b7 holdout 2016-05-17 \u2013 "
                      "2016-06-17 (24 bars)."),
            std::string::npos);
  EXPECT_NE(html.find("Bootstrap: 1,000 reps, block automatic (mean 7.3 bars), seed 42."),
            std::string::npos);
  EXPECT_NE(html.find("Top-5 overlap 0.80 at costs 0.5\u00d7 and 0.60 at 1.5\u00d7."),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"l\">Candidates passing</div><div class=\"v pos\">1 of 2"
                      "</div>"),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"l\">PBO</div><div class=\"v pos\">0.500</div>"),
            std::string::npos);
  // The table: a column per gate present, in the documented order, with its threshold.
  std::size_t last = 0;
  for (std::string_view h :
       {">DSR \u2265 0.95</th>", ">SPA p \u2264 0.05</th>", ">StepM at 0.05</th>",
        ">PBO \u2264 0.50</th>", ">Rerun \u2264 0</th>", ">Trades \u2265 20</th>"}) {
    const std::size_t at = html.find(h);
    ASSERT_NE(at, std::string::npos) << h;
    EXPECT_GT(at, last) << h;
    last = at;
  }
  EXPECT_EQ(html.find(">Overlap \u2265"), std::string::npos);  // absent gates have no column
  EXPECT_EQ(Count(html, "<span class=\"badge pass\">pass</span>"), 1u);
  EXPECT_EQ(Count(html, "<span class=\"badge fail\">fail</span>"), 1u);
  // 6 + 5 gates; the second candidate's dsr, stepm and min_trades fail.
  EXPECT_EQ(Count(html, "<td class=\"sep gate pass\""), 8u);
  EXPECT_EQ(Count(html, "<td class=\"sep gate fail\""), 3u);
  EXPECT_NE(html.find("<td class=\"sep gate pass\" data-v=\"0.97\" title=\"DSR 0.97 &gt;= 0.95\">"
                      "0.970</td>"),
            std::string::npos);
  // The failed gate's tooltip: its reason and hint, escaped.
  EXPECT_NE(html.find("<td class=\"sep gate fail\" data-v=\"0.81\" title=\"DSR 0.81 &lt; 0.95 "
                      "&amp; more\nHint: fewer trials &lt;a smaller grid&gt;\">0.810</td>"),
            std::string::npos);
  EXPECT_EQ(html.find("<a smaller grid>"), std::string::npos);
  EXPECT_NE(html.find(">0.021</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"sep gate pass\" data-v=\"1\" title=\"is among the 2 trials "
                      "StepM finds superior\">yes</td>"),
            std::string::npos);
  EXPECT_NE(html.find("title=\"is not among the 2 trials StepM finds superior\nHint: not "
                      "significant\">no</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"sep gate pass\" data-v=\"34\" title=\"34 closed trades over "
                      "the run\">34</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"sep gate fail\" data-v=\"\" title=\"no closed trade\nHint: a "
                      "longer history\">\u2014</td>"),
            std::string::npos);
  EXPECT_NE(html.find("title=\"a fresh rerun differs by 0\">0</td>"), std::string::npos);
  EXPECT_EQ(Count(html, "<td class=\"sep na\" data-v=\"\">\u2014</td>"), 1u);  // no rerun gate
  // The kept candidate is linked to its section; the other is not.
  const std::string best = engines::ParamsHash(o.results[o.top[0]].params);
  EXPECT_NE(html.find("<code><a href=\"#c-" + best + "\">" + best + "</a></code>"),
            std::string::npos);
  EXPECT_NE(html.find("<code>feedfacecafebeef</code></td><td class=\"param\">fast=30 \u00b7 "
                      "slow=40</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"neg\" data-v=\"-0.05\">\u22125.00%</td>"), std::string::npos);
  // The p-values.
  for (std::string_view row : {"<tr><th>SPA p (lower)</th><td class=\"\">0.012</td></tr>",
                               "<tr><th>SPA p (consistent)</th><td class=\"pos\">0.021</td></tr>",
                               "<tr><th>SPA p (upper)</th><td class=\"\">0.034</td></tr>",
                               "<tr><th>Monte-Carlo SE</th><td class=\"\">0.004</td></tr>",
                               "<tr><th>Reality Check p</th><td class=\"\">0.052</td></tr>",
                               "<tr><th>StepM superior</th><td class=\"\">2 of 26 trials</td>"
                               "</tr>"}) {
    EXPECT_NE(html.find(row), std::string::npos) << row;
  }
  // The PBO histogram: bins of 0.2 closed on the right, 0 an edge; 8 finite logits.
  EXPECT_NE(html.find("PBO = 0.500 (4 of 8 splits \u2264 0) \u00b7 P(OOS loss) 0.250 \u00b7 "
                      "degradation slope \u22120.48, R\u00b2 0.12"),
            std::string::npos);
  for (std::string_view bin : {"<title>logit in (\u22121.4, \u22121.2]: 1 of 8 splits</title>",
                               "<title>logit in (\u22120.4, \u22120.2]: 2 of 8 splits</title>",
                               "<title>logit in (\u22120.2, 0.0]: 1 of 8 splits</title>",
                               "<title>logit in (0.0, 0.2]: 1 of 8 splits</title>",
                               "<title>logit in (0.2, 0.4]: 1 of 8 splits</title>",
                               "<title>logit in (0.4, 0.6]: 1 of 8 splits</title>",
                               "<title>logit in (1.2, 1.4]: 1 of 8 splits</title>"}) {
    EXPECT_EQ(Count(html, bin), 1u) << bin;
  }
  EXPECT_EQ(Count(html, "<rect class=\"hneg\""), 3u);
  EXPECT_EQ(Count(html, "<rect class=\"hpos\""), 4u);
  // -1.4 .. 1.4 over x 66 .. 944: the zero line in the middle.
  EXPECT_NE(html.find("<line class=\"zero\" x1=\"505.0\" x2=\"505.0\""), std::string::npos);
  // The DSR curve: x = 66 + 878 ln(t) / ln(26), y = 206 - 194 dsr; the null breaks the line.
  EXPECT_NE(html.find("<path d=\"M66.0 13.9L252.8 17.8L499.7 31.4M944.0 48.9\""),
            std::string::npos);
  EXPECT_EQ(Count(html, " trials: DSR "), 4u);
  EXPECT_NE(html.find("<title>5 trials: DSR 0.900</title>"), std::string::npos);
  EXPECT_NE(html.find("<title>26 trials: DSR 0.810</title>"), std::string::npos);
  EXPECT_NE(html.find(">threshold 0.95</text>"), std::string::npos);
  EXPECT_NE(html.find(">N = 26</text>"), std::string::npos);
  EXPECT_EQ(RenderReport(o, *extras), html);

  // Without the gates the same extras render the report without them, byte for byte.
  ReportExtras none = *extras;
  none.gates.reset();
  EXPECT_EQ(RenderReport(o, none), RenderReport(o));
}

TEST(ReportExtrasTest, QualityGatesOfDegenerateOrLargeRuns) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  nlohmann::json doc = nlohmann::json::parse(GatesJson(o));
  // No candidates, no logits, no curve: notes; the threshold line falls back to 0.95.
  doc["candidates"] = nlohmann::json::array();
  doc["pbo"]["logits"] = nlohmann::json::array();
  doc["dsr_curve"] = nlohmann::json::array();
  WriteText(dir / "gates.json", doc.dump(2));
  Result<ReportExtras> extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  std::string html = RenderReport(o, *extras);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  EXPECT_NE(html.find("gates.json holds no candidates."), std::string::npos);
  EXPECT_NE(html.find("No logit to draw."), std::string::npos);
  EXPECT_NE(html.find("Fewer than two numbers of trials with a DSR"), std::string::npos);
  EXPECT_NE(html.find("<b>0 of 0</b> candidates pass every gate."), std::string::npos);
  EXPECT_NE(html.find("threshold 0.95</small>"), std::string::npos);
  // Thousands of splits and a curve for 1 .. 1000 trials: every logit counted once, tooltips on
  // the curve only at the axis ticks (1, 10, 100, 1000), the path thinned per pixel.
  doc = nlohmann::json::parse(GatesJson(o));
  nlohmann::json logits = nlohmann::json::array();
  for (int i = 0; i < 12870; ++i)
    logits.push_back(std::sin(i * 0.37) * 2.5 + 0.3);
  doc["pbo"]["logits"] = logits;
  nlohmann::json curve = nlohmann::json::array();
  for (int n = 1; n <= 1000; ++n)
    curve.push_back({{"trials", n}, {"dsr", 1.0 / (1.0 + 0.01 * n)}});
  doc["dsr_curve"] = curve;
  doc["effective_trials"] = 1000.0;
  WriteText(dir / "gates.json", doc.dump(2));
  extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  html = RenderReport(o, *extras);
  EXPECT_EQ(CheckNesting(html), "");
  ExpectNoBrokenNumbers(html);
  std::size_t counted = 0;
  for (std::size_t p = html.find("<title>logit in ("); p != std::string::npos;
       p = html.find("<title>logit in (", p + 1)) {
    const std::size_t colon = html.find("]: ", p) + 3;
    counted += std::stoul(html.substr(colon, html.find(" of ", colon) - colon));
    EXPECT_EQ(html.substr(html.find(" of ", colon), 18), " of 12870 splits</");
  }
  EXPECT_EQ(counted, 12870u);
  EXPECT_EQ(Count(html, " trials: DSR "), 4u);
  EXPECT_NE(html.find("<title>1,000 trials: DSR 0.091</title>"), std::string::npos);
  const std::size_t path = html.find("<path d=\"M66.0 ", html.find("<section id=\"gates\">"));
  ASSERT_NE(path, std::string::npos);
  const std::string d = html.substr(path, html.find('"', path + 9) - path);
  EXPECT_LE(Count(d, "L"), 4u * 880u);
  EXPECT_GE(Count(d, "L"), 200u);
}

TEST(ReportExtrasTest, WithoutTheFilesTheReportIsTheSameBytes) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  Result<ReportExtras> extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  EXPECT_TRUE(extras->logs.empty());
  EXPECT_FALSE(extras->sensitivity.has_value());
  EXPECT_FALSE(extras->consistency.has_value());
  EXPECT_FALSE(extras->gates.has_value());
  const std::string html = RenderReport(o, *extras);
  EXPECT_EQ(html, RenderReport(o));
  EXPECT_EQ(html.find(".sbar{"), std::string::npos);  // no extra styles either
  EXPECT_EQ(html.find(".badge{"), std::string::npos);
  EXPECT_NE(html.find("from result.json and candidates/ (format qraft-result-v1)"),
            std::string::npos);
  ASSERT_TRUE(WriteReport(o, *extras, dir / "a.html").ok());
  ASSERT_TRUE(WriteReport(o, dir / "b.html").ok());
  std::ifstream a(dir / "a.html"), b(dir / "b.html");
  std::stringstream sa, sb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  EXPECT_EQ(sa.str(), sb.str());
  EXPECT_EQ(sa.str(), html);

  // With the other optional files but without gates.json: no trace of the gates, and the same
  // bytes again once a gates.json written in between is removed.
  WriteText(dir / "sensitivity.json", kSensitivityJson);
  WriteText(dir / "consistency.json", kConsistencyJson);
  extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  EXPECT_FALSE(extras->gates.has_value());
  const std::string studies = RenderReport(o, *extras);
  for (std::string_view gate : {"Quality gates", "gates.json", ".badge{", ".hneg{", "id=\"gates\""})
    EXPECT_EQ(studies.find(gate), std::string::npos) << gate;
  WriteText(dir / "gates.json", GatesJson(o));
  extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  EXPECT_NE(RenderReport(o, *extras), studies);
  fs::remove(dir / "gates.json");
  extras = ReadReportExtras(dir.path(), o);
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  EXPECT_EQ(RenderReport(o, *extras), studies);
}

TEST(ReportExtrasTest, MalformedFilesAreNamedWithTheLineOrField) {
  TempDir dir;
  const SweepOutput o = WriteSweep(dir.path());
  const fs::path cand = CandidateDir(dir.path(), o, o.top[0]);
  auto error = [&]() -> std::string {
    Result<ReportExtras> r = ReadReportExtras(dir.path(), o);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  auto expect = [&](std::string_view what, const fs::path& file, std::string_view message) {
    const std::string e = error();
    EXPECT_NE(e.find(file.string()), std::string::npos) << what << ": " << e;
    EXPECT_NE(e.find(message), std::string::npos) << what << ": " << e;
  };
  std::string fills(kFillsCsv);
  fills.replace(fills.find(",5.5,"), 5, ",x.5,");
  WriteText(cand / "fills.csv", fills);
  expect("a bad number", cand / "fills.csv", "fills.csv:3: field 'commission': expected a number");
  WriteText(cand / "fills.csv", "order,time\n1,2016-01-05\n");
  expect("a missing column", cand / "fills.csv", "fills.csv:1: missing the column 'symbol'");
  std::string side(kFillsCsv);
  side.replace(side.find(",sell,"), 6, ",short,");
  WriteText(cand / "fills.csv", side);
  expect("a bad side", cand / "fills.csv", "fills.csv:4: field 'side': expected buy or sell");
  WriteText(cand / "fills.csv", std::string(kFillsCsv) + "5,2016-02-02,AAPL,buy\n");
  expect("a short row", cand / "fills.csv", "fills.csv:5: expected 13 fields, got 4");
  WriteText(cand / "fills.csv", std::string(kFillsCsv) + "5,\"2016-02-02,AAPL\n");
  expect("an open quote", cand / "fills.csv", "fills.csv:5: a quoted field is not closed");
  WriteText(cand / "fills.csv", kFillsCsv);
  std::string orders(kOrdersCsv);
  orders.replace(orders.find("\n4,"), 3, "\nx,");
  WriteText(cand / "orders.csv", orders);
  expect("a bad id", cand / "orders.csv", "orders.csv:5: field 'id': expected an integer");
  WriteText(cand / "orders.csv", kOrdersCsv);
  EXPECT_EQ(error(), "ok");

  WriteText(dir / "sensitivity.json", "{\"objective\": \"sharpe\",\n \"top\": }");
  expect("bad JSON", dir / "sensitivity.json", "invalid JSON");
  expect("bad JSON", dir / "sensitivity.json", "line 2");
  std::string sens(kSensitivityJson);
  sens.replace(sens.find("[1.1, 0.9, 1.0]"), 15, "[1.1, 0.9]");
  WriteText(dir / "sensitivity.json", sens);
  expect("a short column", dir / "sensitivity.json",
         "field 'points[2].objective': expected 3 values (one per candidate), got 2");
  sens = kSensitivityJson;
  sens.replace(sens.find("\"min_overlap\""), 13, "\"minimum\"");
  WriteText(dir / "sensitivity.json", sens);
  expect("a missing field", dir / "sensitivity.json", "field 'min_overlap': missing");
  WriteText(dir / "sensitivity.json", kSensitivityJson);
  EXPECT_EQ(error(), "ok");

  std::string cons(kConsistencyJson);
  cons.replace(cons.find("\"sharpe\": 1.3"), 13, "\"sharpe\": \"a\"");
  WriteText(dir / "consistency.json", cons);
  expect("a string for a number", dir / "consistency.json",
         "field 'rows[1].fast.sharpe': expected a number or null, got \"a\"");
  cons = kConsistencyJson;
  cons.replace(cons.find("\"pass\": false"), 13, "\"pass\": 0");
  WriteText(dir / "consistency.json", cons);
  expect("a number for a flag", dir / "consistency.json", "field 'pass': expected true or false");
  WriteText(dir / "consistency.json", "[]");
  expect("not an object", dir / "consistency.json", "field '(top level)': expected an object");
  WriteText(dir / "consistency.json", kConsistencyJson);
  EXPECT_EQ(error(), "ok");

  const std::string good = GatesJson(o);
  auto gates_with = [&](std::string_view from, std::string_view to) {
    std::string text = good;
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    WriteText(dir / "gates.json", text);
  };
  gates_with("\"value\": 0.81", "\"value\": \"x\"");
  expect("a string for a gate's value", dir / "gates.json",
         "field 'candidates[1].gates[0].value': expected a number or null, got \"x\"");
  gates_with("\"qraft-gates-v1\"", "\"qraft-gates-v0\"");
  expect("another format", dir / "gates.json",
         "field 'format': expected \"qraft-gates-v1\", got \"qraft-gates-v0\"");
  gates_with("-0.2, 0.0", "-0.2, \"0\"");
  expect("a string for a logit", dir / "gates.json",
         "field 'pbo.logits[3]': expected a number or null, got \"0\"");
  gates_with("\"stepm\": [3, 7]", "\"stepm\": [-3, 7]");
  expect("a negative index", dir / "gates.json",
         "field 'search.stepm[0]': expected a count, got -3");
  gates_with("{\"trials\": 2,", "{\"trials\": 2.5,");
  expect("a fractional number of trials", dir / "gates.json",
         "field 'dsr_curve[1].trials': expected a count, got 2.5");
  gates_with(", \"last\": \"2016-06-17\"", "");
  expect("a missing field", dir / "gates.json", "field 'windows.holdout.last': missing");
  gates_with("\"pass\": false, \"objective\"", "\"pass\": \"no\", \"objective\"");
  expect("a string for a flag", dir / "gates.json",
         "field 'candidates[1].pass': expected true or false, got \"no\"");
  gates_with("\"fast\": 30.0", "\"fast\": null");
  expect("a null parameter", dir / "gates.json",
         "field 'candidates[1].params.fast': expected a number, got null");
  WriteText(dir / "gates.json", "{\"format\": \"qraft-gates-v1\",\n \"config\": ");
  expect("bad JSON", dir / "gates.json", "invalid JSON");
  WriteText(dir / "gates.json", good);
  EXPECT_EQ(error(), "ok");
}

}  // namespace
}  // namespace qraft::report
