#include "qraft/cli/cli_common.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace qraft::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "qraft: error: %s\n", std::string(status.message()).c_str());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kDataError:
    case StatusCode::kUnimplemented:  // the input asks for what this version cannot do yet
      return kExitBadInput;
    default:
      return kExitInternal;
  }
}

void StoreOptions::Add(CLI::App& app) {
  app.add_option("--store", store, "Snapshot store directory (default: $QRAFT_HOME or ~/.qraft)");
  app.add_option("--threads", threads, "Worker threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
}

std::filesystem::path StoreOptions::Root() const {
  return store.empty() ? data::DefaultStoreRoot() : std::filesystem::path(store);
}

Result<std::unique_ptr<data::SnapshotStore>> StoreOptions::Open() const {
  return data::OpenLocalStore(Root());
}

Result<std::map<std::string, double>> ParseNumberAssignments(const std::vector<std::string>& items,
                                                             std::string_view option) {
  std::map<std::string, double> out;
  for (const std::string& p : items) {
    const std::size_t eq = p.find('=');
    char* stop = nullptr;
    const double v = eq == std::string::npos ? 0 : std::strtod(p.c_str() + eq + 1, &stop);
    if (eq == std::string::npos || eq == 0 || stop == p.c_str() + eq + 1 || *stop != '\0') {
      return Status::InvalidArgument(
          fmt::format("{} '{}': expected NAME=NUMBER, e.g. fast=10", option, p));
    }
    out[p.substr(0, eq)] = v;
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p <= text.size() && !text.empty()) {
    const std::size_t q = text.find(',', p);
    std::string item = text.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (!item.empty()) out.push_back(item);
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return out;
}

}  // namespace qraft::cli
