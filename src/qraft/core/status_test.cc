#include "qraft/core/status.h"

#include <gtest/gtest.h>

#include <string>

namespace qraft {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  QRAFT_ASSIGN_OR_RETURN(int h, Half(x));
  QRAFT_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckPositive(int x) {
  if (x <= 0) return Status::DataError("not positive");
  return Status::OK();
}

Status Both(int a, int b) {
  QRAFT_RETURN_NOT_OK(CheckPositive(a));
  QRAFT_RETURN_NOT_OK(Half(b));
  return Status::OK();
}

TEST(StatusTest, OkIsCheapAndEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = Status::DataError("a.csv:3: bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.ToString(), "DataError: a.csv:3: bad");
  Status copy = s;
  EXPECT_EQ(copy, s);
  EXPECT_EQ(s.WithContext("ingest").ToString(), "DataError: ingest: a.csv:3: bad");
  EXPECT_TRUE(Status().WithContext("x").ok());
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> r = Quarter(12);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  Result<int> e = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "odd: 3");
  EXPECT_EQ(std::move(e).ValueOr(-1), -1);
}

TEST(StatusTest, ReturnNotOkPropagatesFirstError) {
  EXPECT_TRUE(Both(1, 2).ok());
  EXPECT_EQ(Both(0, 3).code(), StatusCode::kDataError);
  EXPECT_EQ(Both(1, 3).code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, ResultFromOkStatusIsInternalError) {
  Result<int> r{Status::OK()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  Result<int> r = Status::NotFound("nope");
  EXPECT_DEATH((void)r.value(), "nope");
}

}  // namespace
}  // namespace qraft
