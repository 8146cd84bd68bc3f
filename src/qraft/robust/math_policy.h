// Boost.Math's policy for the robust statistics: never throw. Boost's default policy throws on
// domain errors and overflow; the library reports those in-band (NaN, +inf) as its headers say.
// Every argument is checked before the call; this policy is the belt to those braces (a
// quantile of 1 gives +inf, a domain error NaN).
#pragma once

#include <boost/math/policies/policy.hpp>

namespace qraft::robust {

using NoThrowPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::underflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>>;

}  // namespace qraft::robust
