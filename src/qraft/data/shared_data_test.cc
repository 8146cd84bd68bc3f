// Integration tests on the real market data in ../shared/data (skipped when it is absent).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "qraft/core/parallel.h"
#include "qraft/data/adjust.h"
#include "qraft/data/ingest.h"
#include "qraft/data/io/csv_reader.h"
#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

namespace fs = std::filesystem;
using testing::SharedData;

TEST(SharedDataTest, Sp500FiveYears) {
  QRAFT_REQUIRE_SHARED_DATA();
  IngestOptions o;
  o.paths = {SharedData() / "sp500-5yr" / "stock_data" / "individual_stocks_5yr"};
  o.market = "us_stock";
  auto r = Ingest(o, nullptr, NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SnapshotContent& c = r->content;
  EXPECT_EQ(c.panel.num_symbols(), 505u);
  EXPECT_EQ(c.source_rows, 619040u);
  EXPECT_EQ(c.panel.num_times(), 1259u);
  EXPECT_EQ(FormatDate(c.panel.calendar().front()), "2013-02-08");
  EXPECT_EQ(FormatDate(c.panel.calendar().back()), "2018-02-07");
  const nlohmann::json meta = BuildMeta(c, ComputeHashes(c));
  EXPECT_EQ(meta["bars"], 619040);
  // 35 symbols have fewer than 1,259 rows (PROVENANCE.md): 29 list after the first day, and 6
  // (BMY, DHR, ES, ICE, O, ORCL) have gaps, which stay NaN and are reported as calendar gaps.
  std::size_t late = 0;
  for (const InstrumentSpan& s : c.instruments)
    late += s.start > c.panel.calendar().front();
  EXPECT_EQ(late, 29u);
  std::size_t short_rows = 0;
  for (const auto& [symbol, cov] : meta["coverage"].items())
    short_rows += cov["bars"].get<std::size_t>() < 1259;
  EXPECT_EQ(short_rows, 35u);
  std::vector<std::string> gapped;
  for (const QualityIssue& i : c.quality.issues) {
    if (i.check == "calendar_gap") gapped.push_back(i.symbol);
  }
  EXPECT_EQ(gapped, (std::vector<std::string>{"BMY", "DHR", "ES", "ICE", "O", "ORCL"}));
  // 11 rows have blank OHLC: each is a missing 'open' (the close is always there).
  std::size_t missing_open = 0;
  for (const QualityIssue& i : c.quality.issues) {
    if (i.check == "missing_values" && i.field == "open") missing_open += i.count;
  }
  EXPECT_EQ(missing_open, 11u);
  // A known value: AAPL on its first day.
  const std::size_t aapl = *c.panel.symbols().Find("AAPL");
  EXPECT_EQ(c.panel.at(*c.panel.FindField("close"), aapl, 0), 67.8542);
  // The id does not depend on the thread count.
  std::string one;
  {
    ThreadLimit limit(1);
    auto single = Ingest(o, nullptr, NullProgress());
    ASSERT_TRUE(single.ok());
    one = ComputeHashes(single->content).id;
  }
  EXPECT_EQ(one, ComputeHashes(c).id);
}

// Quandl's WIKI table (zipline's test resource) carries ex-dividend and split_ratio columns and
// Quandl's own adjusted prices. Our forward-adjusted view must reproduce them up to one constant
// per symbol (Quandl's figures also include dividends paid after the sample ends).
TEST(SharedDataTest, QuandlAdjustedClosesFromSplitsAndDividends) {
  QRAFT_REQUIRE_SHARED_DATA();
  const fs::path zip =
      SharedData() / "zipline-resources/tests/resources/quandl_samples/QUANDL_ARCHIVE.zip";
  for (const auto& [method, tolerance] :
       {std::pair{DividendMethod::kExClose, 1e-12}, std::pair{DividendMethod::kPrevClose, 3e-4}}) {
    IngestOptions o;
    o.paths = {zip};
    o.market = "us_stock";
    o.dividend_method = method;
    auto r = Ingest(o, nullptr, NullProgress());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Panel& p = r->content.panel;
    EXPECT_EQ(p.symbols().names(), (std::vector<std::string>{"AAPL", "BRK_A", "MSFT", "ZEN"}));
    auto fwd = ApplyAdjustment(p, Adjust::kForward);
    ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
    const std::size_t close = *fwd->FindField("close"), adj = *fwd->FindField("adj_close"),
                      open = *fwd->FindField("open"), adj_open = *fwd->FindField("adj_open");
    std::size_t compared = 0;
    for (std::size_t s = 0; s < p.num_symbols(); ++s) {
      double k = std::nan("");
      double worst = 0;
      for (std::size_t t = 0; t < p.num_times(); ++t) {
        const double ours = fwd->at(close, s, t), theirs = fwd->at(adj, s, t);
        if (std::isnan(ours) || std::isnan(theirs)) continue;
        if (std::isnan(k)) k = theirs / ours;
        worst = std::max({worst, std::fabs(ours * k / theirs - 1),
                          std::fabs(fwd->at(open, s, t) * k / fwd->at(adj_open, s, t) - 1)});
        ++compared;
      }
      EXPECT_LE(worst, tolerance) << p.symbols()[s] << " method " << static_cast<int>(method);
    }
    EXPECT_EQ(compared, 916u);
    // AAPL's 7:1 split on 2014-06-09 is absorbed: the forward-adjusted series has no -86% day.
    const std::size_t aapl = *p.symbols().Find("AAPL");
    const std::size_t t = *p.calendar().Find(DateTimestamp(2014, 6, 9));
    EXPECT_NEAR(fwd->at(close, aapl, t) / fwd->at(close, aapl, t - 1), 93.7 / (645.57 / 7), 1e-12);
  }
}

// zipline's csvdir samples carry Yahoo's split column on prices that are already split-adjusted;
// the split_mismatch check must say so instead of letting a 7x error through silently.
TEST(SharedDataTest, ZiplineCsvdirSplitsOnAdjustedPricesAreFlagged) {
  QRAFT_REQUIRE_SHARED_DATA();
  IngestOptions o;
  o.paths = {SharedData() / "zipline-resources/tests/resources/csvdir_samples/csvdir/daily"};
  o.market = "us_stock";
  auto r = Ingest(o, nullptr, NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, const QualityIssue*> mismatch;
  for (const QualityIssue& i : r->content.quality.issues) {
    if (i.check == "split_mismatch") mismatch[i.symbol] = &i;
  }
  ASSERT_TRUE(mismatch.count("AAPL"));
  EXPECT_EQ(mismatch["AAPL"]->first, DateTimestamp(2014, 6, 9));
  EXPECT_EQ(r->content.panel.symbols().names(),
            (std::vector<std::string>{"AAPL", "IBM", "KO", "MSFT"}));
  IngestOptions strict = o;
  strict.strict = true;
  EXPECT_FALSE(Ingest(strict, nullptr, NullProgress()).ok());
}

}  // namespace
}  // namespace qraft::data
