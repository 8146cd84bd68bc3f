// Helpers for data-layer tests: temporary directories and the shared reference data.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

namespace qraft::data::testing {

/// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("qraft_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  /// Writes `text` to a file in this directory and returns its path.
  std::filesystem::path Write(std::string_view name, std::string_view text) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

/// ../shared/data relative to the source tree (tests run from it), or $QRAFT_SHARED_DATA.
inline std::filesystem::path SharedData() {
  if (const char* env = std::getenv("QRAFT_SHARED_DATA")) return env;
  const char* src = std::getenv("QRAFT_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / ".." / "shared" / "data";
}

/// Skips the current test when the shared reference data is absent.
#define QRAFT_REQUIRE_SHARED_DATA()                                                           \
  do {                                                                                        \
    if (!std::filesystem::exists(::qraft::data::testing::SharedData())) {                     \
      GTEST_SKIP() << "reference data not found at " << ::qraft::data::testing::SharedData(); \
    }                                                                                         \
  } while (false)

}  // namespace qraft::data::testing
