// Progress reporting for long work (ingest, sweeps, searches).
//
// Library code reports through the Progress interface and never prints; the CLI passes a
// TerminalProgress, tests and services pass their own or NullProgress(). Calls are per unit of
// work (a file, a combination), never per element.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace qraft {

/// Implementations are thread-safe: Advance() may be called from worker threads.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void Start(std::string_view label, std::uint64_t total) = 0;
  virtual void Advance(std::uint64_t n = 1) = 0;
  virtual void Finish() = 0;
};

/// Ignores everything.
Progress& NullProgress();

/// One self-redrawing line on a terminal: "ingest  [#######.....]  312/505  2.1s".
/// Silent unless the stream is a terminal and $CI is unset, so logs and CI stay clean.
/// Redraws at most 10 times a second.
class TerminalProgress final : public Progress {
 public:
  explicit TerminalProgress(std::FILE* stream = stderr);
  /// Whether this bar draws anything.
  bool enabled() const { return enabled_; }

  void Start(std::string_view label, std::uint64_t total) override;
  void Advance(std::uint64_t n = 1) override;
  void Finish() override;

 private:
  void Draw(bool final);

  std::FILE* stream_;
  bool enabled_;
  std::string label_;
  std::uint64_t total_ = 0;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::int64_t> next_draw_ns_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex draw_mu_;
};

}  // namespace qraft
