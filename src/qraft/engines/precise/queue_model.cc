#include "qraft/engines/precise/queue_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace qraft::precise {

Result<QueueModel> QueueModel::PowerProb(double n) {
  if (!(n > 0 && n <= 64)) {
    return Status::InvalidArgument(
        fmt::format("queue model power {} must be in (0, 64] (f(x) = x^n)", n));
  }
  return QueueModel(Kind::kPowerProb, n);
}

Result<QueueModel> QueueModel::Parse(std::string_view text) {
  if (text == "risk-averse") return RiskAverse();
  if (text.starts_with("power:")) {
    const std::string n(text.substr(6));
    char* end = nullptr;
    const double v = std::strtod(n.c_str(), &end);
    if (!n.empty() && end == n.c_str() + n.size()) return PowerProb(v);
  }
  return Status::InvalidArgument(
      fmt::format("queue model '{}': expected risk-averse or power:N (e.g. power:2)", text));
}

Quantity QueueModel::OnTrade(QueuePosition& q, Quantity trade_qty) const {
  if (trade_qty <= 0) return 0;
  q.traded += trade_qty;
  const double t = static_cast<double>(trade_qty);
  if (t <= q.ahead) {
    q.ahead -= t;
    return 0;
  }
  // The trade reached us. The small epsilon keeps 2.9999999999 (a fractional ahead subtracted
  // from an integer) from losing a whole increment.
  const double through = t - q.ahead;
  q.ahead = 0;
  const auto fill = std::min(q.remaining, static_cast<Quantity>(std::floor(through + 1e-9)));
  q.remaining -= fill;
  return fill;
}

void QueueModel::OnLevelChange(QueuePosition& q, Quantity prev_qty, Quantity new_qty) const {
  const double next = static_cast<double>(std::max<Quantity>(new_qty, 0));
  if (kind_ == Kind::kRiskAverse) {
    q.ahead = std::min(q.ahead, next);
    q.traded = 0;
    return;
  }
  // The level after the trades it has seen (the feed has not shown their removal yet).
  const double after_trades = static_cast<double>(prev_qty - q.traded);
  const double chg = static_cast<double>(prev_qty - new_qty - q.traded);
  q.traded = 0;
  if (chg <= 0 || q.ahead <= 0) {
    q.ahead = std::min(q.ahead, next);
    return;
  }
  const double front = q.ahead;
  const double back = std::max(after_trades - front, 0.0);
  const double fb = std::pow(back, power_), ff = std::pow(front, power_);
  // front > 0 here, so ff > 0 and the ratio is defined (it underflows to 0 only for absurd n).
  const double p_back = ff + fb > 0 ? fb / (ff + fb) : 0.0;
  const double est = front - (1 - p_back) * chg + std::min(back - p_back * chg, 0.0);
  q.ahead = std::clamp(est, 0.0, next);
}

}  // namespace qraft::precise
