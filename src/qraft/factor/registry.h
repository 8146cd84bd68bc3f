// The factor registry: built-in libraries plus user factors in SQLite, with lifecycle history.
//
// Built-in libraries (factors/*.yaml, compiled into the binary: `common`, `alpha158`) are
// approved and immutable; their names are reserved. User factors are proposed into the registry
// (a SQLite file, by default <store root>/factors.db), approved once they pass the look-ahead
// check (leak.h; the caller runs it), and deprecated when retired. Every status change is
// recorded with its time and note. Approved versions are immutable: a changed definition needs a
// new version.
//
// Thread-safety: one registry object per thread (SQLite connection); the database file itself
// may be shared by processes (SQLite locking, writes in transactions).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/factor/definition.h"
#include "qraft/factor/uri.h"

namespace qraft::factor {

/// The built-in libraries, parsed once. Errors only if a shipped file is broken (a bug).
Result<std::vector<FactorDef>> BuiltinFactors();

struct HistoryEntry {
  std::string uri;
  std::string from;  // "" for the first entry
  std::string to;
  std::string at;  // UTC, ISO 8601
  std::string note;
};

class FactorRegistry {
 public:
  /// Opens (creating if needed) the registry at `db`; ":memory:" for a private in-memory one.
  static Result<std::unique_ptr<FactorRegistry>> Open(const std::filesystem::path& db);
  ~FactorRegistry();
  FactorRegistry(const FactorRegistry&) = delete;
  FactorRegistry& operator=(const FactorRegistry&) = delete;

  /// Every factor version (built-in first), or those of one library; sorted by library, name,
  /// version.
  Result<std::vector<FactorDef>> List(std::string_view library = {}) const;
  /// The factor a URI names: its version, else the latest approved (else latest proposed)
  /// version. Errors: NotFound naming the URI (with near names).
  Result<FactorDef> Find(const FactorUri& uri) const;
  Result<FactorDef> Find(std::string_view uri) const;
  /// The expression of `uri` with its parameters bound: what a factor:// reference compiles
  /// to. Errors: the factor is unknown or its semantics differ from `semantics`.
  Result<std::string> ExpressionOf(std::string_view uri, expr::Semantics semantics) const;
  /// ExpressionOf as a CompileOptions::resolve_factor callback. The registry must outlive it.
  std::function<Result<std::string>(std::string_view)> Resolver(expr::Semantics semantics) const;

  /// Adds `def` as proposed (re-proposing a proposed version replaces it). Errors: a built-in
  /// library name, or the version exists and is approved or deprecated with a different
  /// definition (approved versions are immutable).
  Result<FactorDef> Propose(FactorDef def, std::string_view note);
  /// Moves a user factor to `to` (proposed → approved | deprecated, approved → deprecated).
  /// The look-ahead check is the caller's (see leak.h ApproveFactor).
  Status SetStatus(const FactorUri& uri, FactorStatus to, std::string_view note);
  Result<std::vector<HistoryEntry>> History(const FactorUri& uri) const;

 private:
  struct Db;
  explicit FactorRegistry(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

/// <store root>/factors.db
std::filesystem::path DefaultRegistryPath(const std::filesystem::path& store_root);

}  // namespace qraft::factor
