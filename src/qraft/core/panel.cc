#include "qraft/core/panel.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "qraft/core/parallel.h"

namespace qraft {

SymbolIndex::SymbolIndex(std::vector<std::string> names) : names_(std::move(names)) {
  index_.reserve(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const bool inserted = index_.emplace(names_[i], i).second;
    QRAFT_CHECK(inserted);
  }
}

std::optional<std::size_t> SymbolIndex::Find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> Panel::FindField(std::string_view name) const {
  for (std::size_t i = 0; i < field_names_.size(); ++i) {
    if (field_names_[i] == name) return i;
  }
  return std::nullopt;
}

bool Panel::HasBar(std::size_t s, std::size_t t) const {
  for (std::size_t f = 0; f < num_fields(); ++f) {
    if (!std::isnan(at(f, s, t))) return true;
  }
  return false;
}

std::optional<std::pair<std::size_t, std::size_t>> Panel::BarSpan(std::size_t s) const {
  const std::size_t T = num_times();
  std::size_t first = T, last = 0;
  for (std::size_t f = 0; f < num_fields(); ++f) {
    auto x = series(f, s);
    for (std::size_t t = 0; t < first; ++t) {
      if (!std::isnan(x[t])) {
        first = t;
        break;
      }
    }
    for (std::size_t t = T; t-- > last;) {
      if (!std::isnan(x[t])) {
        last = t;
        break;
      }
    }
  }
  if (first == T) return std::nullopt;
  return std::make_pair(first, std::max(first, last));
}

Result<Panel> Panel::SelectFields(std::span<const std::string> fields) const {
  Panel out;
  out.calendar_ = calendar_;
  out.symbols_ = symbols_;
  for (const std::string& name : fields) {
    auto f = FindField(name);
    if (!f) {
      return Status::NotFound(fmt::format("field '{}' is not in this panel (it has: {})", name,
                                          fmt::join(field_names_, ", ")));
    }
    out.field_names_.push_back(name);
    out.data_.push_back(data_[*f]);
    out.owners_.push_back(owners_[*f]);
  }
  return out;
}

Result<Panel> Panel::Select(std::span<const std::string> symbols, Timestamp start,
                            Timestamp end) const {
  std::vector<std::size_t> rows;
  rows.reserve(symbols.size());
  for (const std::string& name : symbols) {
    auto s = symbols_->Find(name);
    if (!s) return Status::NotFound(fmt::format("symbol '{}' is not in this panel", name));
    rows.push_back(*s);
  }
  Calendar cal = calendar_->Slice(start, end);
  const std::size_t t0 = cal.empty() ? 0 : calendar_->LowerBound(cal.front());
  PanelBuilder b(std::move(cal), std::vector<std::string>(symbols.begin(), symbols.end()));
  const std::size_t T = b.num_times();
  for (std::size_t f = 0; f < num_fields(); ++f) {
    std::span<double> dst = b.AddField(field_names_[f]);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (T > 0)
        std::memcpy(dst.data() + i * T, series(f, rows[i]).data() + t0, T * sizeof(double));
    }
  }
  return std::move(b).Build();
}

PanelBuilder::PanelBuilder(Calendar calendar, std::vector<std::string> symbols)
    : PanelBuilder(std::make_shared<const Calendar>(std::move(calendar)),
                   std::make_shared<const SymbolIndex>(std::move(symbols))) {}

PanelBuilder::PanelBuilder(std::shared_ptr<const Calendar> calendar,
                           std::shared_ptr<const SymbolIndex> symbols)
    : calendar_(std::move(calendar)), symbols_(std::move(symbols)) {
  panel_.calendar_ = calendar_;
  panel_.symbols_ = symbols_;
}

namespace {

// Field storage: large blocks are 2 MiB-aligned and marked for transparent huge pages, so first
// touching 100 MB costs ~50 page faults instead of ~25,000; they are filled with NaN in parallel.
struct FieldBlock {
  explicit FieldBlock(std::size_t n) : size(n) {
    const std::size_t bytes = std::max<std::size_t>(n, 1) * sizeof(double);
    if (bytes >= kHugeThreshold) {
      const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
      data = static_cast<double*>(std::aligned_alloc(kHuge, rounded));
      if (data != nullptr) ::madvise(data, rounded, MADV_HUGEPAGE);
    } else {
      data = static_cast<double*>(std::malloc(bytes));
    }
    QRAFT_CHECK(data != nullptr);
    ParallelFor(n, 1 << 18, [this](std::size_t b, std::size_t e) {
      std::fill(data + b, data + e, std::numeric_limits<double>::quiet_NaN());
    });
  }
  ~FieldBlock() { std::free(data); }
  FieldBlock(const FieldBlock&) = delete;
  FieldBlock& operator=(const FieldBlock&) = delete;

  static constexpr std::size_t kHuge = 2 << 20;
  static constexpr std::size_t kHugeThreshold = 4 << 20;
  double* data = nullptr;
  std::size_t size = 0;
};

}  // namespace

std::span<double> PanelBuilder::AddField(std::string name) {
  const std::size_t n = num_symbols() * num_times();
  auto storage = std::make_shared<FieldBlock>(n);
  double* data = storage->data;
  AddExternalField(std::move(name), data, std::move(storage));
  return {data, n};
}

void PanelBuilder::AddExternalField(std::string name, const double* data,
                                    std::shared_ptr<const void> owner) {
  QRAFT_CHECK(!panel_.FindField(name).has_value());
  panel_.field_names_.push_back(std::move(name));
  panel_.data_.push_back(data);
  panel_.owners_.push_back(std::move(owner));
}

Panel PanelBuilder::Build() && {
  return std::move(panel_);
}

}  // namespace qraft
