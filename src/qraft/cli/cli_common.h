// Shared pieces of the `qraft` command line: exit codes, error printing, common options.
//
// The CLI is a thin shell: it parses arguments into the library's option structs, calls the
// library, and prints. Exit status: 0 success, 2 bad input (message on stderr naming the file,
// line and problem), 1 internal error.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>

#include "qraft/core/status.h"
#include "qraft/data/store.h"

namespace qraft::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

/// Prints "qraft: error: <message>" and returns the exit code for the status.
int Fail(const Status& status);

/// Options every command that touches the store takes.
struct StoreOptions {
  std::string store;  // --store; empty: $QRAFT_HOME or ~/.qraft
  int threads = 0;    // --threads; 0: all cores
  void Add(CLI::App& app);
  /// The store's root directory.
  std::filesystem::path Root() const;
  Result<std::unique_ptr<data::SnapshotStore>> Open() const;
};

/// Parses NAME=NUMBER items (e.g. --param fast=10). Errors name `option` and the item.
Result<std::map<std::string, double>> ParseNumberAssignments(const std::vector<std::string>& items,
                                                             std::string_view option);

/// Splits "a,b,c" (empty -> {}).
std::vector<std::string> SplitList(const std::string& text);

}  // namespace qraft::cli
