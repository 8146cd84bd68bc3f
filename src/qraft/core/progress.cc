#include "qraft/core/progress.h"

#include <unistd.h>

#include <cstdlib>

namespace qraft {
namespace {
class Null final : public Progress {
 public:
  void Start(std::string_view, std::uint64_t) override {}
  void Advance(std::uint64_t) override {}
  void Finish() override {}
};

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Progress& NullProgress() {
  static Null null;
  return null;
}

TerminalProgress::TerminalProgress(std::FILE* stream)
    : stream_(stream), enabled_(isatty(fileno(stream)) == 1 && std::getenv("CI") == nullptr) {}

void TerminalProgress::Start(std::string_view label, std::uint64_t total) {
  label_ = std::string(label);
  total_ = total;
  done_ = 0;
  start_ = std::chrono::steady_clock::now();
  next_draw_ns_ = 0;
  Draw(false);
}

void TerminalProgress::Advance(std::uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  if (!enabled_) return;
  const std::int64_t now = NowNs();
  std::int64_t next = next_draw_ns_.load(std::memory_order_relaxed);
  if (now >= next && next_draw_ns_.compare_exchange_strong(next, now + 100'000'000)) Draw(false);
}

void TerminalProgress::Finish() {
  Draw(true);
}

void TerminalProgress::Draw(bool final) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(draw_mu_);
  const std::uint64_t done = done_.load(std::memory_order_relaxed);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  constexpr int kWidth = 30;
  const int filled =
      total_ == 0
          ? kWidth
          : static_cast<int>(kWidth * static_cast<double>(done) / static_cast<double>(total_));
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i)
    bar[i] = i < filled ? '#' : '.';
  bar[kWidth] = '\0';
  // ETA from the average rate so far, once there is something to average.
  char eta[32] = "";
  if (!final && done > 0 && done < total_) {
    const double left = secs * static_cast<double>(total_ - done) / static_cast<double>(done);
    std::snprintf(eta, sizeof eta, "  ETA %.0fs", left);
  }
  std::fprintf(stream_, "\r%-10s [%s] %llu/%llu  %.1fs%s%s", label_.c_str(), bar,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), secs,
               eta, final ? "\n" : "");
  std::fflush(stream_);
}

}  // namespace qraft
