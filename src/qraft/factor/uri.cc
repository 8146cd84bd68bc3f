#include "qraft/factor/uri.h"

#include <fmt/format.h>

#include <cmath>
#include <regex>

#include "qraft/core/status.h"

namespace qraft::factor {

bool IsFactorUri(std::string_view text) {
  return text.starts_with("factor://");
}

std::string FactorUri::ToString() const {
  std::string out = fmt::format("factor://{}/{}", library, name);
  if (version) out += "@" + version->ToString();
  char sep = '?';
  for (const auto& [k, v] : params) {
    out += fmt::format("{}{}={}", sep, k, v);
    sep = '&';
  }
  return out;
}

Result<FactorUri> ParseFactorUri(std::string_view text) {
  static const std::regex kUri(
      R"(^factor://([A-Za-z_][A-Za-z0-9_]*)/([A-Za-z_][A-Za-z0-9_]*)(@([0-9.]+))?(\?(.*))?$)");
  std::cmatch m;
  if (!std::regex_match(text.begin(), text.end(), m, kUri)) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a factor URI: expected factor://library/name[@1.2.0][?param=value&...]",
        text));
  }
  FactorUri uri;
  uri.library = m[1].str();
  uri.name = m[2].str();
  if (m[3].matched) {
    Result<Version> v = Version::Parse(m[4].str());
    if (!v.ok()) return Status::InvalidArgument(fmt::format("{}: {}", text, v.status().message()));
    uri.version = *v;
  }
  if (m[5].matched) {
    const std::string query = m[6].str();
    std::size_t p = 0;
    while (p <= query.size()) {
      const std::size_t amp = std::min(query.find('&', p), query.size());
      const std::string item = query.substr(p, amp - p);
      const std::size_t eq = item.find('=');
      double value = 0;
      std::size_t used = 0;
      bool ok = eq != std::string::npos && eq > 0 && eq + 1 < item.size();
      if (ok) {
        try {
          value = std::stod(item.substr(eq + 1), &used);
        } catch (const std::exception&) {
          ok = false;
        }
        ok = ok && used == item.size() - eq - 1 && std::isfinite(value);
      }
      if (!ok) {
        return Status::InvalidArgument(
            fmt::format("{}: parameter '{}' must be name=number", text, item));
      }
      if (!uri.params.emplace(item.substr(0, eq), value).second) {
        return Status::InvalidArgument(
            fmt::format("{}: parameter '{}' given twice", text, item.substr(0, eq)));
      }
      p = amp + 1;
    }
  }
  return uri;
}

}  // namespace qraft::factor
