#include "qraft/engines/precise/orders.h"

namespace qraft::precise {

std::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kNone:
      return "";
    case RejectReason::kInvalid:
      return "invalid";
    case RejectReason::kLotSize:
      return "lot_size";
    case RejectReason::kInsufficientCash:
      return "insufficient_cash";
    case RejectReason::kInsufficientMargin:
      return "insufficient_margin";
    case RejectReason::kNoPosition:
      return "no_position";
    case RejectReason::kNotSellableT1:
      return "t1_not_sellable";
    case RejectReason::kPriceLimit:
      return "price_limit";
    case RejectReason::kSuspended:
      return "suspended";
    case RejectReason::kReduceOnly:
      return "reduce_only";
    case RejectReason::kExchange:
      return "exchange";
  }
  return "?";
}

std::string_view OrderTypeName(OrderType t) {
  switch (t) {
    case OrderType::kMarket:
      return "market";
    case OrderType::kLimit:
      return "limit";
    case OrderType::kStopMarket:
      return "stop_market";
    case OrderType::kStopLimit:
      return "stop_limit";
    case OrderType::kMarketOnOpen:
      return "market_on_open";
    case OrderType::kMarketOnClose:
      return "market_on_close";
    case OrderType::kTrailingStop:
      return "trailing_stop";
    case OrderType::kTwap:
      return "twap";
    case OrderType::kVwap:
      return "vwap";
  }
  return "?";
}

std::string_view TimeInForceName(TimeInForce t) {
  switch (t) {
    case TimeInForce::kGtc:
      return "gtc";
    case TimeInForce::kDay:
      return "day";
    case TimeInForce::kIoc:
      return "ioc";
    case TimeInForce::kFok:
      return "fok";
  }
  return "?";
}

std::string_view OrderStatusName(OrderStatus s) {
  switch (s) {
    case OrderStatus::kPending:
      return "pending";
    case OrderStatus::kWorking:
      return "working";
    case OrderStatus::kFilled:
      return "filled";
    case OrderStatus::kCancelled:
      return "cancelled";
    case OrderStatus::kRejected:
      return "rejected";
  }
  return "?";
}

}  // namespace qraft::precise
