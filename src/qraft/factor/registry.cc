#include "qraft/factor/registry.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "qraft/factor/libraries_embedded.h"

namespace qraft::factor {

Result<std::vector<FactorDef>> BuiltinFactors() {
  static const Result<std::vector<FactorDef>> parsed = []() -> Result<std::vector<FactorDef>> {
    std::vector<FactorDef> all;
    for (const EmbeddedLibrary& lib : EmbeddedLibraries()) {
      QRAFT_ASSIGN_OR_RETURN(std::vector<FactorDef> defs,
                             ParseLibraryYaml(lib.yaml, fmt::format("factors/{}.yaml", lib.name)));
      for (FactorDef& d : defs) {
        d.status = FactorStatus::kApproved;
        all.push_back(std::move(d));
      }
    }
    return all;
  }();
  return parsed;
}

namespace {

bool IsBuiltinLibrary(std::string_view library) {
  for (const EmbeddedLibrary& lib : EmbeddedLibraries()) {
    if (lib.name == library) return true;
  }
  return false;
}

std::string NowUtc() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool SameDefinition(const FactorDef& a, const FactorDef& b) {
  nlohmann::json ja = a.ToJson(), jb = b.ToJson();
  for (auto* j : {&ja, &jb})
    j->erase("status");
  return ja == jb;
}

}  // namespace

// One SQLite connection and its statements.
struct FactorRegistry::Db {
  sqlite3* handle = nullptr;
  ~Db() { sqlite3_close_v2(handle); }

  Status Check(int rc, std::string_view what) const {
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::OK();
    return Status::IOError(fmt::format("factor registry: {}: {}", what, sqlite3_errmsg(handle)));
  }

  Status Exec(const char* sql) const {
    char* err = nullptr;
    const int rc = sqlite3_exec(handle, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      Status st = Status::IOError(fmt::format("factor registry: {}", err ? err : "error"));
      sqlite3_free(err);
      return st;
    }
    return Status::OK();
  }

  // A prepared statement with bound text parameters; Step() until done.
  struct Stmt {
    sqlite3_stmt* s = nullptr;
    ~Stmt() { sqlite3_finalize(s); }
  };

  Result<std::unique_ptr<Stmt>> Prepare(const char* sql,
                                        std::initializer_list<std::string_view> args) const {
    auto st = std::make_unique<Stmt>();
    QRAFT_RETURN_NOT_OK(Check(sqlite3_prepare_v2(handle, sql, -1, &st->s, nullptr), sql));
    int i = 1;
    for (std::string_view a : args) {
      QRAFT_RETURN_NOT_OK(Check(
          sqlite3_bind_text(st->s, i++, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT),
          "bind"));
    }
    return st;
  }

  Result<std::vector<FactorDef>> Query(const char* sql,
                                       std::initializer_list<std::string_view> args) const {
    QRAFT_ASSIGN_OR_RETURN(auto st, Prepare(sql, args));
    std::vector<FactorDef> out;
    int rc;
    while ((rc = sqlite3_step(st->s)) == SQLITE_ROW) {
      const char* text = reinterpret_cast<const char*>(sqlite3_column_text(st->s, 0));
      nlohmann::json j = nlohmann::json::parse(text ? text : "{}", nullptr, false);
      if (j.is_discarded())
        return Status::DataError("factor registry: a stored definition is damaged");
      QRAFT_ASSIGN_OR_RETURN(FactorDef d, FactorDef::FromJson(j));
      out.push_back(std::move(d));
    }
    QRAFT_RETURN_NOT_OK(Check(rc, "query"));
    return out;
  }

  Status Run(const char* sql, std::initializer_list<std::string_view> args) const {
    QRAFT_ASSIGN_OR_RETURN(auto st, Prepare(sql, args));
    return Check(sqlite3_step(st->s), sql);
  }
};

FactorRegistry::FactorRegistry(std::unique_ptr<Db> db) : db_(std::move(db)) {}
FactorRegistry::~FactorRegistry() = default;

std::filesystem::path DefaultRegistryPath(const std::filesystem::path& store_root) {
  return store_root / "factors.db";
}

Result<std::unique_ptr<FactorRegistry>> FactorRegistry::Open(const std::filesystem::path& path) {
  QRAFT_RETURN_NOT_OK(BuiltinFactors().status());
  auto db = std::make_unique<Db>();
  const int rc = sqlite3_open_v2(path.c_str(), &db->handle,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    return Status::IOError(fmt::format("{}: cannot open the factor registry: {}", path.string(),
                                       db->handle ? sqlite3_errmsg(db->handle) : "out of memory"));
  }
  sqlite3_busy_timeout(db->handle, 5000);
  QRAFT_RETURN_NOT_OK(
      db->Exec("CREATE TABLE IF NOT EXISTS factor ("
               "  library TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,"
               "  major INTEGER NOT NULL, minor INTEGER NOT NULL, patch INTEGER NOT NULL,"
               "  status TEXT NOT NULL, definition TEXT NOT NULL, signature TEXT NOT NULL,"
               "  PRIMARY KEY (library, name, version));"
               "CREATE TABLE IF NOT EXISTS history ("
               "  id INTEGER PRIMARY KEY AUTOINCREMENT, library TEXT NOT NULL, name TEXT NOT NULL,"
               "  version TEXT NOT NULL, status_from TEXT NOT NULL, status_to TEXT NOT NULL,"
               "  at TEXT NOT NULL, note TEXT NOT NULL);"));
  return std::unique_ptr<FactorRegistry>(new FactorRegistry(std::move(db)));
}

Result<std::vector<FactorDef>> FactorRegistry::List(std::string_view library) const {
  std::vector<FactorDef> out;
  QRAFT_ASSIGN_OR_RETURN(const std::vector<FactorDef>& builtin, BuiltinFactors());
  for (const FactorDef& d : builtin) {
    if (library.empty() || d.library == library) out.push_back(d);
  }
  QRAFT_ASSIGN_OR_RETURN(std::vector<FactorDef> user,
                         db_->Query("SELECT definition FROM factor WHERE ?1 = '' OR library = ?1 "
                                    "ORDER BY library, name, major, minor, patch",
                                    {library}));
  out.insert(out.end(), std::make_move_iterator(user.begin()), std::make_move_iterator(user.end()));
  return out;
}

Result<FactorDef> FactorRegistry::Find(const FactorUri& uri) const {
  std::vector<FactorDef> candidates;
  if (IsBuiltinLibrary(uri.library)) {
    QRAFT_ASSIGN_OR_RETURN(const std::vector<FactorDef>& builtin, BuiltinFactors());
    for (const FactorDef& d : builtin) {
      if (d.library == uri.library && d.name == uri.name) candidates.push_back(d);
    }
  } else {
    QRAFT_ASSIGN_OR_RETURN(candidates,
                           db_->Query("SELECT definition FROM factor WHERE library = ?1 AND "
                                      "name = ?2 ORDER BY major, minor, patch",
                                      {uri.library, uri.name}));
  }
  const FactorDef* pick = nullptr;
  for (const FactorDef& d : candidates) {
    if (uri.version) {
      if (d.version == *uri.version) pick = &d;
    } else if (d.status == FactorStatus::kApproved) {
      pick = &d;  // the latest approved version
    }
  }
  if (pick == nullptr && !uri.version) {
    for (const FactorDef& d : candidates) {
      if (d.status == FactorStatus::kProposed) pick = &d;
    }
  }
  if (pick == nullptr) {
    std::string near;
    QRAFT_ASSIGN_OR_RETURN(std::vector<FactorDef> all, List(uri.library));
    for (const FactorDef& d : all) {
      std::string lower_a = d.name, lower_b = uri.name;
      std::transform(lower_a.begin(), lower_a.end(), lower_a.begin(), ::tolower);
      std::transform(lower_b.begin(), lower_b.end(), lower_b.begin(), ::tolower);
      if (lower_a == lower_b || (candidates.size() > 0 && d.name == uri.name)) {
        near += (near.empty() ? "" : ", ") + d.Uri();
      }
    }
    return Status::NotFound(fmt::format("no factor {}{}", uri.ToString(),
                                        near.empty() ? "" : " (there is " + near + ")"));
  }
  return *pick;
}

Result<FactorDef> FactorRegistry::Find(std::string_view uri) const {
  QRAFT_ASSIGN_OR_RETURN(FactorUri parsed, ParseFactorUri(uri));
  return Find(parsed);
}

Result<std::string> FactorRegistry::ExpressionOf(std::string_view uri,
                                                 expr::Semantics semantics) const {
  QRAFT_ASSIGN_OR_RETURN(FactorUri parsed, ParseFactorUri(uri));
  QRAFT_ASSIGN_OR_RETURN(FactorDef def, Find(parsed));
  if (def.semantics != semantics) {
    return Status::InvalidArgument(
        fmt::format("{} is defined with {} semantics; it cannot be used in a {} expression",
                    def.Uri(), expr::SemanticsName(def.semantics), expr::SemanticsName(semantics)));
  }
  QRAFT_ASSIGN_OR_RETURN(ParamValues bound, def.Bind(parsed.params));
  return "(" + SubstituteParams(def.expression, bound) + ")";
}

std::function<Result<std::string>(std::string_view)> FactorRegistry::Resolver(
    expr::Semantics semantics) const {
  return [this, semantics](std::string_view uri) { return ExpressionOf(uri, semantics); };
}

Result<FactorDef> FactorRegistry::Propose(FactorDef def, std::string_view note) {
  if (IsBuiltinLibrary(def.library)) {
    return Status::InvalidArgument(fmt::format(
        "library '{}' is built in and immutable; propose user factors in another library",
        def.library));
  }
  QRAFT_RETURN_NOT_OK(Analyse(def, Resolver(def.semantics)));
  def.status = FactorStatus::kProposed;
  FactorUri uri{def.library, def.name, def.version, {}};
  Result<FactorDef> existing = Find(uri);
  std::string from;
  if (existing.ok()) {
    if (existing->status != FactorStatus::kProposed) {
      if (SameDefinition(*existing, def)) return *existing;
      return Status::AlreadyExists(
          fmt::format("{} is {} and immutable; give the changed definition a new version",
                      def.Uri(), FactorStatusName(existing->status)));
    }
    if (SameDefinition(*existing, def)) return *existing;
    from = "proposed";
  }
  QRAFT_ASSIGN_OR_RETURN(std::string signature, def.FeatureSignature());
  QRAFT_RETURN_NOT_OK(db_->Exec("BEGIN IMMEDIATE"));
  Status st =
      db_->Run("INSERT OR REPLACE INTO factor VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
               {def.library, def.name, def.version.ToString(), std::to_string(def.version.major),
                std::to_string(def.version.minor), std::to_string(def.version.patch), "proposed",
                def.ToJson().dump(), signature});
  if (st.ok()) {
    st = db_->Run(
        "INSERT INTO history (library, name, version, status_from, status_to, at, note) "
        "VALUES (?1, ?2, ?3, ?4, 'proposed', ?5, ?6)",
        {def.library, def.name, def.version.ToString(), from, NowUtc(), note});
  }
  QRAFT_RETURN_NOT_OK(db_->Exec(st.ok() ? "COMMIT" : "ROLLBACK"));
  QRAFT_RETURN_NOT_OK(st);
  return def;
}

Status FactorRegistry::SetStatus(const FactorUri& uri, FactorStatus to, std::string_view note) {
  if (IsBuiltinLibrary(uri.library)) {
    return Status::InvalidArgument(
        fmt::format("{} is built in; its status cannot change", uri.ToString()));
  }
  QRAFT_ASSIGN_OR_RETURN(FactorDef def, Find(uri));
  const FactorStatus from = def.status;
  const bool allowed = (from == FactorStatus::kProposed && to != FactorStatus::kProposed) ||
                       (from == FactorStatus::kApproved && to == FactorStatus::kDeprecated);
  if (!allowed) {
    return Status::InvalidArgument(fmt::format("{} is {}; it cannot become {}", def.Uri(),
                                               FactorStatusName(from), FactorStatusName(to)));
  }
  def.status = to;
  QRAFT_RETURN_NOT_OK(db_->Exec("BEGIN IMMEDIATE"));
  const std::string version = def.version.ToString();
  Status st = db_->Run(
      "UPDATE factor SET status = ?1, definition = ?2 WHERE library = ?3 AND "
      "name = ?4 AND version = ?5",
      {FactorStatusName(to), def.ToJson().dump(), def.library, def.name, version});
  if (st.ok()) {
    st = db_->Run(
        "INSERT INTO history (library, name, version, status_from, status_to, at, note) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        {def.library, def.name, version, FactorStatusName(from), FactorStatusName(to), NowUtc(),
         note});
  }
  QRAFT_RETURN_NOT_OK(db_->Exec(st.ok() ? "COMMIT" : "ROLLBACK"));
  return st;
}

Result<std::vector<HistoryEntry>> FactorRegistry::History(const FactorUri& uri) const {
  QRAFT_ASSIGN_OR_RETURN(FactorDef def, Find(uri));
  std::vector<HistoryEntry> out;
  if (IsBuiltinLibrary(def.library)) {
    out.push_back({def.Uri(), "", "approved", "", "built in"});
    return out;
  }
  const std::string version = def.version.ToString();
  QRAFT_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT status_from, status_to, at, note FROM "
                                               "history WHERE library = ?1 AND name = ?2 AND "
                                               "version = ?3 ORDER BY id",
                                               {def.library, def.name, version}));
  int rc;
  auto text = [&](int col) {
    const char* t = reinterpret_cast<const char*>(sqlite3_column_text(st->s, col));
    return std::string(t ? t : "");
  };
  while ((rc = sqlite3_step(st->s)) == SQLITE_ROW) {
    out.push_back({def.Uri(), text(0), text(1), text(2), text(3)});
  }
  QRAFT_RETURN_NOT_OK(db_->Check(rc, "history"));
  return out;
}

}  // namespace qraft::factor
