#include "qraft/engines/study.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "qraft/core/time.h"
#include "qraft/core/version.h"
#include "qraft/data/market.h"

namespace qraft::engines {

// ---- ResultCache ------------------------------------------------------------------------------

struct ResultCache::Db {
  sqlite3* handle = nullptr;
  ~Db() { sqlite3_close(handle); }
};

namespace {

Status SqlError(sqlite3* db, std::string_view what) {
  return Status::IOError(fmt::format("result cache: {}: {}", what, sqlite3_errmsg(db)));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError(fmt::format("result cache: {}", msg));
  }
  return Status::OK();
}

// One prepared statement, finalized on scope exit.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

void Bind(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

ResultCache::ResultCache(std::unique_ptr<Db> db, std::string code_version)
    : db_(std::move(db)), code_version_(std::move(code_version)) {}

// A cached result belongs to one build: a "-dirty" or unknown version could be any code.
bool ResultCache::cacheable() const {
  return !code_version_.ends_with("-dirty") && !code_version_.ends_with("+unknown");
}
ResultCache::~ResultCache() = default;

Result<std::unique_ptr<ResultCache>> ResultCache::Open(const std::filesystem::path& db,
                                                       std::string_view code_version) {
  std::error_code ec;
  if (db.has_parent_path()) std::filesystem::create_directories(db.parent_path(), ec);
  auto handle = std::make_unique<Db>();
  if (sqlite3_open_v2(db.c_str(), &handle->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    return Status::IOError(fmt::format("{}: cannot open the result cache: {}", db.string(),
                                       sqlite3_errmsg(handle->handle)));
  }
  sqlite3_busy_timeout(handle->handle, 5000);
  QRAFT_RETURN_NOT_OK(Exec(handle->handle,
                           "PRAGMA journal_mode=WAL;"
                           "CREATE TABLE IF NOT EXISTS results ("
                           " snapshot_id TEXT NOT NULL, dsl_hash TEXT NOT NULL,"
                           " params_hash TEXT NOT NULL, code_version TEXT NOT NULL,"
                           " result TEXT NOT NULL,"
                           " PRIMARY KEY (snapshot_id, dsl_hash, params_hash, code_version));"));
  return std::unique_ptr<ResultCache>(new ResultCache(
      std::move(handle), std::string(code_version.empty() ? CodeVersion() : code_version)));
}

Result<std::vector<std::optional<CombinationResult>>> ResultCache::Lookup(
    std::string_view snapshot_id, std::string_view dsl_hash,
    std::span<const strategy::ParamValues> params) const {
  std::vector<std::optional<CombinationResult>> out(params.size());
  if (!cacheable()) return out;
  Statement q;
  if (sqlite3_prepare_v2(db_->handle,
                         "SELECT result FROM results WHERE snapshot_id = ?1 AND dsl_hash = ?2 "
                         "AND params_hash = ?3 AND code_version = ?4",
                         -1, &q.stmt, nullptr) != SQLITE_OK) {
    return SqlError(db_->handle, "lookup");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    sqlite3_reset(q.stmt);
    Bind(q.stmt, 1, snapshot_id);
    Bind(q.stmt, 2, dsl_hash);
    Bind(q.stmt, 3, ParamsHash(params[i]));
    Bind(q.stmt, 4, code_version_);
    const int rc = sqlite3_step(q.stmt);
    if (rc == SQLITE_DONE) continue;
    if (rc != SQLITE_ROW) return SqlError(db_->handle, "lookup");
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(q.stmt, 0));
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("metrics")) continue;  // unreadable: recompute
    Result<Metrics> metrics = MetricsFromJson(j["metrics"]);
    if (!metrics.ok()) continue;
    CombinationResult r;
    r.params = params[i];
    r.metrics = *metrics;
    r.orders = j.value("orders", std::int64_t{0});
    r.final_value = j.value("final_value", 0.0);
    r.stopped = j.value("stopped", false);
    out[i] = std::move(r);
  }
  return out;
}

Status ResultCache::Store(std::string_view snapshot_id, std::string_view dsl_hash,
                          std::span<const CombinationResult> results) {
  if (!cacheable() || results.empty()) return Status::OK();
  QRAFT_RETURN_NOT_OK(Exec(db_->handle, "BEGIN IMMEDIATE"));
  Statement q;
  if (sqlite3_prepare_v2(db_->handle, "INSERT OR REPLACE INTO results VALUES (?1, ?2, ?3, ?4, ?5)",
                         -1, &q.stmt, nullptr) != SQLITE_OK) {
    Status st = SqlError(db_->handle, "store");
    (void)Exec(db_->handle, "ROLLBACK");
    return st;
  }
  for (const CombinationResult& r : results) {
    sqlite3_reset(q.stmt);
    const std::string text = nlohmann::json{
        {"metrics", ToJson(r.metrics)},
        {"orders", r.orders},
        {"final_value", r.final_value},
        {"stopped", r.stopped}}.dump();
    Bind(q.stmt, 1, snapshot_id);
    Bind(q.stmt, 2, dsl_hash);
    Bind(q.stmt, 3, ParamsHash(r.params));
    Bind(q.stmt, 4, code_version_);
    Bind(q.stmt, 5, text);
    if (sqlite3_step(q.stmt) != SQLITE_DONE) {
      Status st = SqlError(db_->handle, "store");
      (void)Exec(db_->handle, "ROLLBACK");
      return st;
    }
  }
  return Exec(db_->handle, "COMMIT");
}

std::string ResultCacheKey(std::string_view dsl_hash, const BacktestOptions& options) {
  return fmt::format("{}/{}/{}/{}", dsl_hash, options.metrics.periods_per_year,
                     options.initial_capital, options.metrics.risk_free);
}

// ---- Pareto front -----------------------------------------------------------------------------

Result<std::vector<std::size_t>> ParetoFront(std::span<const CombinationResult> results,
                                             std::span<const std::string> objectives) {
  struct Objective {
    const MetricField* field;
    double sign;
  };
  std::vector<Objective> objs;
  for (const std::string& name : objectives) {
    const bool minimise = name.starts_with('-');
    const std::string_view metric = std::string_view(name).substr(minimise ? 1 : 0);
    const MetricField* field = FindMetricField(metric);
    if (field == nullptr) {
      return Status::InvalidArgument(fmt::format("unknown Pareto objective '{}'", name));
    }
    objs.push_back({field, minimise ? -1.0 : 1.0});
  }
  std::vector<std::size_t> front;
  if (objs.empty()) return front;
  const std::size_t n = results.size(), k = objs.size();
  std::vector<double> v(n * k);
  std::vector<std::size_t> valid;
  for (std::size_t i = 0; i < n; ++i) {
    bool ok = true;
    for (std::size_t j = 0; j < k; ++j) {
      v[i * k + j] = objs[j].sign * MetricValue(results[i].metrics, *objs[j].field);
      ok = ok && !std::isnan(v[i * k + j]);
    }
    if (ok) valid.push_back(i);
  }
  // Sort by the first objective (best first, ties by the others, then index); a point is on the
  // front unless an earlier-sorted point dominates it. O(front x n).
  std::sort(valid.begin(), valid.end(), [&](std::size_t a, std::size_t b) {
    for (std::size_t j = 0; j < k; ++j)
      if (v[a * k + j] != v[b * k + j]) return v[a * k + j] > v[b * k + j];
    return a < b;
  });
  auto dominates = [&](std::size_t a, std::size_t b) {
    bool strictly = false;
    for (std::size_t j = 0; j < k; ++j) {
      if (v[a * k + j] < v[b * k + j]) return false;
      strictly = strictly || v[a * k + j] > v[b * k + j];
    }
    return strictly;
  };
  for (const std::size_t i : valid) {
    bool dominated = false;
    for (const std::size_t f : front)
      if (dominates(f, i)) {
        dominated = true;
        break;
      }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

// ---- RunStudy ---------------------------------------------------------------------------------

double PeriodsPerYear(const data::Snapshot& snapshot) {
  const data::MarketSpec market = data::FindMarket(snapshot.market());
  const double days =
      market.sessions.empty() && market.from_pack ? kCalendarDaysPerYear : kTradingDaysPerYear;
  if (snapshot.date_only()) return days;
  // Bars per calendar day, median over the days of the calendar.
  const Calendar& cal = snapshot.panel().calendar();
  std::vector<double> per_day;
  std::int64_t day = std::numeric_limits<std::int64_t>::min();
  for (std::size_t t = 0; t < cal.size(); ++t) {
    const std::int64_t d = DayNumber(cal[t]);
    if (d != day) per_day.push_back(0);
    per_day.back() += 1;
    day = d;
  }
  if (per_day.empty()) return days;
  std::nth_element(per_day.begin(),
                   per_day.begin() + static_cast<std::ptrdiff_t>(per_day.size() / 2),
                   per_day.end());
  return per_day[per_day.size() / 2] * days;
}

namespace {

// RunSweep over the subset `which` of `combinations`, results placed at their indices.
Status SweepSubset(const strategy::StrategySpec& spec, const Panel& panel,
                   std::span<const strategy::ParamValues> combinations,
                   const std::vector<std::size_t>& which, const BacktestOptions& options,
                   Progress& progress, std::vector<CombinationResult>* results,
                   std::vector<CandidateDetail>* details = nullptr) {
  if (which.empty()) return Status::OK();
  std::vector<strategy::ParamValues> subset;
  subset.reserve(which.size());
  for (const std::size_t i : which)
    subset.push_back(combinations[i]);
  QRAFT_ASSIGN_OR_RETURN(SweepResult sweep, RunSweep(spec, panel, subset, options, progress));
  for (std::size_t k = 0; k < which.size(); ++k) {
    (*results)[which[k]] = std::move(sweep.results[k]);
    if (details != nullptr && k < sweep.details.size()) {
      sweep.details[k].index = which[k];
      details->push_back(std::move(sweep.details[k]));
    }
  }
  return Status::OK();
}

}  // namespace

Result<SweepOutput> RunStudy(const data::SnapshotStore& store, std::string_view snapshot,
                             const strategy::StrategySpec& spec,
                             std::span<const strategy::ParamValues> combinations,
                             const StudyOptions& options, Progress& progress) {
  if (combinations.empty()) return Status::InvalidArgument("no parameter combinations to run");
  QRAFT_ASSIGN_OR_RETURN(data::Snapshot snap, store.Open(snapshot));
  if (spec.universe.kind == strategy::Universe::Kind::kMarket &&
      spec.universe.market != snap.market()) {
    return Status::InvalidArgument(
        fmt::format("the strategy's universe is market '{}' but snapshot {} is market '{}'",
                    spec.universe.market, snap.id().substr(0, 12), snap.market()));
  }
  const Panel& panel = snap.panel();
  SweepOutput out;
  out.kind = combinations.size() == 1 ? "backtest" : "sweep";
  out.name = spec.name;
  out.dsl_hash = spec.DslHash();
  out.snapshot_id = snap.id();
  out.code_version = std::string(CodeVersion());
  out.objective = options.objective;
  out.strategy = spec.Canonical();
  for (const auto& [name, value] : combinations[0])
    out.param_names.push_back(name);
  out.daily = snap.date_only();
  BacktestOptions run = options.backtest;
  if (!(run.metrics.periods_per_year > 0)) run.metrics.periods_per_year = PeriodsPerYear(snap);
  out.periods_per_year = run.metrics.periods_per_year;
  out.initial_capital = options.backtest.initial_capital;
  out.pareto_objectives = options.pareto;

  // 1. The cache. Metrics also depend on the run's options (annualisation, capital, risk-free
  // rate), so they join the DSL hash in the key.
  const std::string cache_key = ResultCacheKey(out.dsl_hash, run);
  out.results.resize(combinations.size());
  std::vector<std::size_t> missing;
  if (options.cache != nullptr) {
    QRAFT_ASSIGN_OR_RETURN(auto cached,
                           options.cache->Lookup(out.snapshot_id, cache_key, combinations));
    for (std::size_t i = 0; i < cached.size(); ++i) {
      if (cached[i]) {
        out.results[i] = std::move(*cached[i]);
      } else {
        missing.push_back(i);
      }
    }
  } else {
    for (std::size_t i = 0; i < combinations.size(); ++i)
      missing.push_back(i);
  }

  // 2. Early stop on the warm-up prefix, then the survivors on the whole panel.
  run.keep_details = false;
  const EarlyStop* early = options.early_stop ? &*options.early_stop : nullptr;
  if (early != nullptr && early->stop && early->warmup_bars > 0 &&
      early->warmup_bars < panel.num_times() && !missing.empty()) {
    QRAFT_ASSIGN_OR_RETURN(Panel prefix, panel.Select(panel.symbols().names(), kNoTimestamp,
                                                      panel.calendar()[early->warmup_bars - 1]));
    std::vector<CombinationResult> warm(combinations.size());
    QRAFT_RETURN_NOT_OK(
        SweepSubset(spec, prefix, combinations, missing, run, NullProgress(), &warm));
    std::vector<std::size_t> survivors;
    for (const std::size_t i : missing) {
      if (early->stop(warm[i], i)) {
        out.results[i] = std::move(warm[i]);
        out.results[i].stopped = true;
      } else {
        survivors.push_back(i);
      }
    }
    missing = std::move(survivors);
  }
  QRAFT_RETURN_NOT_OK(SweepSubset(spec, panel, combinations, missing, run, progress, &out.results));
  if (options.cache != nullptr) {
    std::vector<CombinationResult> fresh;
    for (const std::size_t i : missing)
      fresh.push_back(out.results[i]);
    QRAFT_RETURN_NOT_OK(options.cache->Store(out.snapshot_id, cache_key, fresh));
  }

  // 3. Rank (stopped combinations last), Pareto front, details of the best.
  QRAFT_ASSIGN_OR_RETURN(std::vector<std::size_t> order,
                         RankResults(out.results, options.objective, 0));
  std::stable_partition(order.begin(), order.end(),
                        [&](std::size_t i) { return !out.results[i].stopped; });
  std::vector<CombinationResult> finished;
  std::vector<std::size_t> finished_index;
  for (std::size_t i = 0; i < out.results.size(); ++i) {
    if (out.results[i].stopped) continue;
    finished.push_back(out.results[i]);
    finished_index.push_back(i);
  }
  QRAFT_ASSIGN_OR_RETURN(std::vector<std::size_t> front, ParetoFront(finished, options.pareto));
  for (const std::size_t f : front)
    out.pareto.push_back(finished_index[f]);
  std::vector<std::size_t> keep;
  for (const std::size_t i : order) {
    if (keep.size() >= options.keep || out.results[i].stopped) break;
    keep.push_back(i);
  }
  std::size_t extra = 0;
  for (const std::size_t i : order) {  // the Pareto front's members, best first
    if (extra >= options.keep) break;
    if (std::binary_search(out.pareto.begin(), out.pareto.end(), i) &&
        std::find(keep.begin(), keep.end(), i) == keep.end()) {
      keep.push_back(i);
      ++extra;
    }
  }
  out.top = order;
  if (options.top > 0 && out.top.size() > options.top) out.top.resize(options.top);
  std::sort(keep.begin(), keep.end());
  run.keep_details = true;
  std::vector<CombinationResult> rerun(combinations.size());
  QRAFT_RETURN_NOT_OK(
      SweepSubset(spec, panel, combinations, keep, run, NullProgress(), &rerun, &out.details));
  // Details follow the ranking, best first.
  std::vector<std::size_t> rank_of(combinations.size(), 0);
  for (std::size_t r = 0; r < order.size(); ++r)
    rank_of[order[r]] = r;
  std::sort(out.details.begin(), out.details.end(),
            [&](const CandidateDetail& a, const CandidateDetail& b) {
              return rank_of[a.index] < rank_of[b.index];
            });
  return out;
}

}  // namespace qraft::engines
