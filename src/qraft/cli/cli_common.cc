#include "qraft/cli/cli_common.h"

#include <fmt/format.h>

#include <cstdio>

namespace qraft::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "qraft: error: %s\n", std::string(status.message()).c_str());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kDataError:
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

Result<std::unique_ptr<data::SnapshotStore>> StoreOptions::Open() const {
  return data::OpenLocalStore(store.empty() ? data::DefaultStoreRoot()
                                            : std::filesystem::path(store));
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
