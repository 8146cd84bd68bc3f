#include "qraft/engines/results.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "qraft/data/testing.h"

namespace qraft::engines {
namespace {

namespace fs = std::filesystem;
using data::testing::TempDir;

bool Same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Three combinations, two kept curves; NaN in metrics, curves and trades; a symbol that needs
// CSV quoting; an open trade; sub-second intraday times.
SweepOutput Sample(bool daily) {
  SweepOutput o;
  o.kind = "sweep";
  o.name = "ma_cross";
  o.dsl_hash = std::string(64, 'a');
  o.snapshot_id = std::string(64, 'b');
  o.code_version = "0.1.0+g0123456789ab-dirty";
  o.objective = "sharpe";
  o.strategy = {{"version", 1}, {"name", "ma_cross"}, {"signals", {{"long", "close > 1"}}}};
  o.param_names = {"fast", "slow"};
  o.daily = daily;
  o.periods_per_year = daily ? 252 : 252 * 390;
  o.initial_capital = 1000;
  for (int i = 0; i < 3; ++i) {
    CombinationResult r;
    r.params = {{"fast", 5.0 * (i + 1)}, {"slow", 30}};
    std::vector<double> rets;
    for (int k = 0; k < 50; ++k)
      rets.push_back(0.001 * std::sin(k * (i + 1.3)) + 1.0 / 3e4);
    MetricsOptions mo;
    mo.initial_capital = 1000;
    r.metrics = ComputeMetrics(rets, {}, mo);
    r.metrics.trades = i;
    r.orders = 2 * i + 1;
    r.final_value = 1000.0 + i / 3.0;
    o.results.push_back(r);
  }
  o.results[2].metrics.sharpe = kNaN;
  o.results[0].metrics.fees = 0.1 + 0.2;
  o.top = {1, 0, 2};
  o.pareto = {1, 2};
  o.pareto_objectives = {"sharpe", "max_drawdown"};
  const Timestamp t0 = daily ? DateTimestamp(2020, 1, 2)
                             : DateTimestamp(2020, 1, 2) + 14 * kNanosPerHour + 123'456'789;
  const Timestamp step = daily ? kNanosPerDay : kNanosPerMinute;
  for (std::size_t index : {2u, 1u}) {
    CandidateDetail d;
    d.index = index;
    for (int k = 0; k < 20; ++k) {
      d.curve.push_back(CurvePoint{.time = t0 + k * step,
                                   .equity = 1000 * (1 + 0.01 * std::sin(k)) + 1.0 / 3,
                                   .exposure = k % 3 == 0 ? 0 : 0.95,
                                   .turnover = k % 5 == 0 ? 0.5 : 0,
                                   .fees = k % 5 == 0 ? 0.0375 : 0,
                                   .benchmark = k % 4 == 0 ? kNaN : 0.001 * k});
    }
    d.trades.push_back(TradeRow{.symbol = "BRK,\"B\"",
                                .entry_time = t0 + step,
                                .exit_time = t0 + 6 * step,
                                .entry_price = 101.25,
                                .exit_price = 99.125,
                                .size = 3.5,
                                .pnl = -7.4375,
                                .ret = -0.021,
                                .holding_bars = 5,
                                .exit_reason = "stop_loss"});
    d.trades.push_back(TradeRow{.symbol = "AAPL",
                                .entry_time = t0 + 10 * step,
                                .entry_price = 50,
                                .size = 2,
                                .pnl = 1.0 / 7,
                                .ret = 0.1 / 7,
                                .holding_bars = 9,
                                .exit_reason = "end"});
    o.details.push_back(std::move(d));
  }
  return o;
}

void ExpectEqual(const SweepOutput& a, const SweepOutput& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.dsl_hash, b.dsl_hash);
  EXPECT_EQ(a.snapshot_id, b.snapshot_id);
  EXPECT_EQ(a.code_version, b.code_version);
  EXPECT_EQ(a.objective, b.objective);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.param_names, b.param_names);
  EXPECT_EQ(a.daily, b.daily);
  EXPECT_EQ(a.periods_per_year, b.periods_per_year);
  EXPECT_EQ(a.initial_capital, b.initial_capital);
  EXPECT_EQ(a.top, b.top);
  EXPECT_EQ(a.pareto, b.pareto);
  EXPECT_EQ(a.pareto_objectives, b.pareto_objectives);
  ASSERT_EQ(a.results.size(), b.results.size());
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    EXPECT_EQ(a.results[i].params, b.results[i].params);
    EXPECT_EQ(a.results[i].orders, b.results[i].orders);
    EXPECT_EQ(a.results[i].stopped, b.results[i].stopped);
    EXPECT_TRUE(Same(a.results[i].final_value, b.results[i].final_value));
    for (const MetricField& f : MetricFields()) {
      EXPECT_TRUE(Same(MetricValue(a.results[i].metrics, f), MetricValue(b.results[i].metrics, f)))
          << i << " " << f.name;
    }
  }
  ASSERT_EQ(a.details.size(), b.details.size());
  for (std::size_t k = 0; k < a.details.size(); ++k) {
    const CandidateDetail &x = a.details[k], &y = b.details[k];
    EXPECT_EQ(x.index, y.index);
    ASSERT_EQ(x.curve.size(), y.curve.size());
    for (std::size_t t = 0; t < x.curve.size(); ++t) {
      EXPECT_EQ(x.curve[t].time, y.curve[t].time) << t;
      EXPECT_TRUE(Same(x.curve[t].equity, y.curve[t].equity)) << t;
      EXPECT_TRUE(Same(x.curve[t].exposure, y.curve[t].exposure)) << t;
      EXPECT_TRUE(Same(x.curve[t].turnover, y.curve[t].turnover)) << t;
      EXPECT_TRUE(Same(x.curve[t].fees, y.curve[t].fees)) << t;
      EXPECT_TRUE(Same(x.curve[t].benchmark, y.curve[t].benchmark)) << t;
    }
    ASSERT_EQ(x.trades.size(), y.trades.size());
    for (std::size_t t = 0; t < x.trades.size(); ++t) {
      const TradeRow &p = x.trades[t], &q = y.trades[t];
      EXPECT_EQ(p.symbol, q.symbol);
      EXPECT_EQ(p.is_short, q.is_short);
      EXPECT_EQ(p.entry_time, q.entry_time);
      EXPECT_EQ(p.exit_time, q.exit_time);
      EXPECT_TRUE(Same(p.entry_price, q.entry_price));
      EXPECT_TRUE(Same(p.exit_price, q.exit_price));
      EXPECT_TRUE(Same(p.size, q.size));
      EXPECT_TRUE(Same(p.pnl, q.pnl));
      EXPECT_TRUE(Same(p.ret, q.ret));
      EXPECT_EQ(p.holding_bars, q.holding_bars);
      EXPECT_EQ(p.exit_reason, q.exit_reason);
    }
  }
}

TEST(ResultsTest, ParamsHashIsStableAndKeyOrderIndependent) {
  // Golden value computed independently: Python
  //   hashlib.sha256(json.dumps({"fast": 10.0, "slow": 30.0, "stop": 0.05},
  //                  separators=(",", ":"), sort_keys=True).encode()).hexdigest()[:16]
  // over '{"fast":10.0,"slow":30.0,"stop":0.05}'.
  strategy::ParamValues a;
  a["stop"] = 0.05;
  a["slow"] = 30;
  a["fast"] = 10;
  EXPECT_EQ(ParamsHash(a), "a70a8aa1ac679e6d");
  strategy::ParamValues b;
  b["fast"] = 10;
  b["stop"] = 0.05;
  b["slow"] = 30;
  EXPECT_EQ(ParamsHash(b), ParamsHash(a));
  b["slow"] = 31;
  EXPECT_NE(ParamsHash(b), ParamsHash(a));
  EXPECT_EQ(ParamsHash({}), "44136fa355b3678a");  // sha256("{}")
}

TEST(ResultsTest, RoundTripsDailyAndIntraday) {
  for (bool daily : {true, false}) {
    TempDir dir;
    SweepOutput o = Sample(daily);
    o.results[2].stopped = true;  // stopped early: marked in result.json
    ASSERT_TRUE(WriteResultDir(dir / "out", o).ok());
    Result<SweepOutput> back = ReadResultDir(dir / "out");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    // Details come back in combination order.
    SweepOutput want = o;
    std::swap(want.details[0], want.details[1]);
    ExpectEqual(want, *back);
  }
}

TEST(ResultsTest, FilesFollowTheDocumentedLayout) {
  TempDir dir;
  const SweepOutput o = Sample(true);
  ASSERT_TRUE(WriteResultDir(dir / "out", o).ok());
  const std::string h1 = ParamsHash(o.results[1].params);
  const fs::path cand = dir / "out" / "candidates" / h1;
  ASSERT_TRUE(fs::exists(cand / "equity.csv"));
  ASSERT_TRUE(fs::exists(cand / "trades.csv"));
  EXPECT_TRUE(fs::exists(dir / "out" / "metrics.parquet"));
  EXPECT_FALSE(fs::exists(dir / "out" / "candidates" / ParamsHash(o.results[0].params)));

  const std::string json = Slurp(dir / "out" / "result.json");
  EXPECT_LT(json.find("\"format\": \"qraft-result-v1\""), json.find("\"kind\""));
  EXPECT_LT(json.find("\"top\": [1,0,2]"), json.find("\"results\""));
  const nlohmann::json doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["combinations"], 3);
  EXPECT_TRUE(doc["results"][2]["metrics"]["sharpe"].is_null());
  EXPECT_EQ(doc["results"][1]["params_hash"], h1);

  std::istringstream csv(Slurp(dir / "out" / "metrics.csv"));
  std::string header, row0;
  std::getline(csv, header);
  std::getline(csv, row0);
  EXPECT_EQ(header.rfind("index,params_hash,fast,slow,bars,total_return,", 0), 0u) << header;
  EXPECT_EQ(row0.rfind("0," + ParamsHash(o.results[0].params) + ",5,30,50,", 0), 0u) << row0;
  std::string row2;
  std::getline(csv, row2);
  EXPECT_NE(row2.find(",,"), std::string::npos) << "NaN sharpe is an empty cell: " << row2;

  std::istringstream eq(Slurp(cand / "equity.csv"));
  std::string line;
  std::getline(eq, line);
  EXPECT_EQ(line, "time,equity,drawdown,exposure,turnover,fees,benchmark");
  std::getline(eq, line);
  EXPECT_EQ(line.rfind("2020-01-02,1000.3333333333334,0,0,0.5,0.0375,", 0), 0u) << line;
  while (std::getline(eq, line)) {  // drawdown <= 0 on every row
    const std::size_t a = line.find(',', line.find(',') + 1);
    EXPECT_LE(std::stod(line.substr(a + 1)), 0.0) << line;
  }
  const std::string trades = Slurp(cand / "trades.csv");
  EXPECT_NE(trades.find("\"BRK,\"\"B\"\"\",long,2020-01-03,2020-01-08,101.25,99.125,"),
            std::string::npos)
      << trades;
  EXPECT_NE(trades.find("AAPL,long,2020-01-12,,50,,2,"), std::string::npos) << trades;

  const SweepOutput intraday = Sample(false);
  ASSERT_TRUE(WriteResultDir(dir / "intra", intraday).ok());
  EXPECT_NE(Slurp(dir / "intra" / "candidates" / h1 / "equity.csv")
                .find("\n2020-01-02T14:00:00.123456789Z,"),
            std::string::npos);
}

TEST(ResultsTest, RewritingReplacesFilesAndDropsStaleCandidates) {
  TempDir dir;
  SweepOutput o = Sample(true);
  ASSERT_TRUE(WriteResultDir(dir.path(), o).ok());
  o.details.pop_back();  // keep only combination 2 this time
  o.results[0].orders = 99;
  ASSERT_TRUE(WriteResultDir(dir.path(), o).ok());
  Result<SweepOutput> back = ReadResultDir(dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->details.size(), 1u);
  EXPECT_EQ(back->details[0].index, 2u);
  EXPECT_EQ(back->results[0].orders, 99);
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST(ResultsTest, EmptyRunRoundTrips) {
  TempDir dir;
  SweepOutput o;
  o.kind = "backtest";
  ASSERT_TRUE(WriteResultDir(dir.path(), o).ok());
  Result<SweepOutput> back = ReadResultDir(dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectEqual(o, *back);
}

TEST(ResultsTest, RejectsInconsistentOutputBeforeWriting) {
  TempDir dir;
  SweepOutput o = Sample(true);
  o.top = {7};
  Status st = WriteResultDir(dir / "a", o);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("index 7 is out of range"), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(dir / "a"));
  o = Sample(true);
  o.param_names.push_back("sharpe");
  st = WriteResultDir(dir / "b", o);
  EXPECT_NE(st.message().find("parameter 'sharpe'"), std::string::npos) << st.ToString();
  o = Sample(true);
  o.kind = "paper";
  EXPECT_EQ(WriteResultDir(dir / "c", o).code(), StatusCode::kInvalidArgument);
}

// Rewrites result.json through `edit` and expects ReadResultDir to fail with `want` in the
// message (which always names the file).
void ExpectMalformed(const std::function<void(nlohmann::json&)>& edit, std::string_view want) {
  TempDir dir;
  ASSERT_TRUE(WriteResultDir(dir.path(), Sample(true)).ok());
  nlohmann::json doc = nlohmann::json::parse(Slurp(dir / "result.json"));
  edit(doc);
  std::ofstream(dir / "result.json") << doc.dump();
  Result<SweepOutput> r = ReadResultDir(dir.path());
  ASSERT_FALSE(r.ok()) << want;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find((dir / "result.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find(want), std::string::npos) << msg;
}

TEST(ResultsTest, MalformedResultJsonNamesFileAndField) {
  ExpectMalformed([](nlohmann::json& d) { d.erase("dsl_hash"); }, "field 'dsl_hash': missing");
  ExpectMalformed([](nlohmann::json& d) { d["format"] = "qraft-result-v0"; },
                  "field 'format': expected 'qraft-result-v1'");
  ExpectMalformed([](nlohmann::json& d) { d["kind"] = 3; }, "field 'kind': expected a string");
  ExpectMalformed([](nlohmann::json& d) { d["results"][1]["metrics"]["sharpe"] = "high"; },
                  "field 'results[1].metrics.sharpe': expected a number or null");
  ExpectMalformed([](nlohmann::json& d) { d["results"][0]["metrics"]["trades"] = 1.5; },
                  "field 'results[0].metrics.trades': expected an integer");
  ExpectMalformed([](nlohmann::json& d) { d["results"][2]["metrics"].erase("calmar"); },
                  "field 'results[2].metrics.calmar': missing");
  ExpectMalformed([](nlohmann::json& d) { d["results"][1]["params"]["fast"] = 11; },
                  "field 'results[1].params_hash'");
  ExpectMalformed([](nlohmann::json& d) { d["top"] = {0, 3}; }, "field 'top[1]'");
  ExpectMalformed([](nlohmann::json& d) { d["combinations"] = 4; }, "field 'combinations'");
  ExpectMalformed([](nlohmann::json& d) { d["results"][1]["index"] = 0; },
                  "field 'results[1].index'");
  ExpectMalformed([](nlohmann::json& d) { d["results"][0]["stopped"] = 1; },
                  "field 'results[0].stopped': expected true or false");
}

TEST(ResultsTest, MalformedFilesAreClearErrors) {
  TempDir dir;
  Result<SweepOutput> r = ReadResultDir(dir / "nowhere");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nowhere"), std::string::npos);
  r = ReadResultDir(dir.path());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("result.json: missing"), std::string::npos);

  dir.Write("result.json", "{\"format\": ");
  r = ReadResultDir(dir.path());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("result.json: invalid JSON"), std::string::npos);

  const SweepOutput o = Sample(true);
  ASSERT_TRUE(WriteResultDir(dir.path(), o).ok());
  const fs::path eq = dir / "candidates" / ParamsHash(o.results[1].params) / "equity.csv";
  std::string text = Slurp(eq);
  text.replace(text.find("\n2020-01-04,") + 12, 4, "x1.5");
  std::ofstream(eq) << text;
  r = ReadResultDir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(eq.string() + ":4: field 'equity': expected a number"),
            std::string::npos)
      << r.status().ToString();
  fs::remove(eq);
  r = ReadResultDir(dir.path());
  EXPECT_NE(r.status().message().find(eq.string() + ": missing"), std::string::npos)
      << r.status().ToString();
}

TEST(CsvTableTest, CellsAreCheckedAndErrorsNameFileLineAndColumn) {
  auto t = CsvTable::Parse(
      "time,x,n\n2020-01-02,1.5,3\n\n2020-01-03T09:30:00Z,,x\n2020-01-0,inf,\n", "f.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows(), 3u);
  EXPECT_TRUE(t->ExpectHeader("time,x,n").ok());
  EXPECT_EQ(t->ExpectHeader("time,x").message(), "f.csv:1: expected the header 'time,x'");
  EXPECT_EQ(*t->Column("n"), 2u);
  EXPECT_EQ(t->Column("y").status().message(), "f.csv:1: missing the column 'y'");

  const CsvRecord &a = t->row(0), &b = t->row(1), &c = t->row(2);
  EXPECT_EQ(b.line, 4u);  // the blank line is skipped, not renumbered
  EXPECT_EQ(*t->Number(a, 1), 1.5);
  EXPECT_TRUE(std::isnan(*t->Number(b, 1)));
  EXPECT_EQ(t->Number(b, 1, true).status().message(),
            "f.csv:4: field 'x': expected a number, got ''");
  EXPECT_TRUE(std::isinf(*t->Number(c, 1)));
  EXPECT_EQ(*t->Integer(a, 2), 3);
  EXPECT_EQ(t->Integer(b, 2).status().message(),
            "f.csv:4: field 'n': expected an integer, got 'x'");
  EXPECT_EQ(t->Time(a, 0)->value, DateTimestamp(2020, 1, 2));
  EXPECT_TRUE(t->Time(b, 0)->has_time);
  EXPECT_EQ(t->Time(c, 0).status().message(),
            "f.csv:5: field 'time': expected an ISO-8601 date or UTC time, got '2020-01-0'");

  auto ragged = CsvTable::Parse("a,b\n1\n", "g.csv");
  ASSERT_TRUE(ragged.ok());
  EXPECT_EQ(ragged->CheckWidth(ragged->row(0)).message(), "g.csv:2: expected 2 fields, got 1");
  EXPECT_EQ(CsvTable::Parse("\n\n", "e.csv").status().message(), "e.csv: empty file");
  EXPECT_EQ(CsvTable::Parse("a\n\"x\n", "q.csv").status().message(),
            "q.csv:2: a quoted field is not closed");
}

}  // namespace
}  // namespace qraft::engines
