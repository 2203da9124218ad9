"""Per-variation sufficient statistics (what Redis stores) as frozen dataclasses, gbstats style."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias


def _check_count(n: int) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")


def _sample_variance(n: int, total: float, sum_squares: float) -> float:
    if n <= 1:
        return 0.0
    # Clamped at zero: sums of floats can leave a tiny negative remainder for constant data.
    return max((sum_squares - total * total / n) / (n - 1), 0.0)


def _sample_covariance(n: int, sum_x: float, sum_y: float, sum_products: float) -> float:
    if n <= 1:
        return 0.0
    return (sum_products - sum_x * sum_y / n) / (n - 1)


@dataclass(frozen=True)
class ProportionStatistic:
    """Users (``n``) and how many of them converted (``sum``) — a binomial metric."""

    n: int
    sum: float

    def __post_init__(self) -> None:
        _check_count(self.n)
        if not 0 <= self.sum <= self.n:
            raise ValueError(f"a proportion needs 0 <= sum <= n, got sum={self.sum}, n={self.n}")

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        # p(1 - p), not the n - 1 sample variance: this is what gbstats uses, so its published
        # proportion numbers reproduce exactly.
        return self.mean * (1.0 - self.mean)

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.variance)

    def __add__(self, other: ProportionStatistic) -> ProportionStatistic:
        return ProportionStatistic(n=self.n + other.n, sum=self.sum + other.sum)


@dataclass(frozen=True)
class SampleMeanStatistic:
    """Users, the sum of the per-user metric and the sum of its squares — a mean metric."""

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        _check_count(self.n)
        if self.sum_squares < 0:
            raise ValueError(f"sum_squares must be >= 0, got {self.sum_squares}")

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        return _sample_variance(self.n, self.sum, self.sum_squares)

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.variance)

    def __add__(self, other: SampleMeanStatistic) -> SampleMeanStatistic:
        return SampleMeanStatistic(
            n=self.n + other.n,
            sum=self.sum + other.sum,
            sum_squares=self.sum_squares + other.sum_squares,
        )


@dataclass(frozen=True)
class RegressionAdjustedStatistic:
    """A metric with a pre-period covariate for CUPED: the metric's ``n``, ``sum`` and
    ``sum_squares``, the covariate's ``pre_sum`` and ``pre_sum_squares``, and ``sum_products``
    (the sum over users of metric x covariate)."""

    n: int
    sum: float
    sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    sum_products: float

    def __post_init__(self) -> None:
        _check_count(self.n)
        if self.sum_squares < 0 or self.pre_sum_squares < 0:
            raise ValueError("sum_squares and pre_sum_squares must be >= 0")

    @property
    def mean(self) -> float:
        """The unadjusted mean of the metric (what the analyst sees as the arm's value)."""
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        return _sample_variance(self.n, self.sum, self.sum_squares)

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.variance)

    @property
    def pre_mean(self) -> float:
        return self.pre_sum / self.n if self.n else 0.0

    @property
    def pre_variance(self) -> float:
        return _sample_variance(self.n, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        return _sample_covariance(self.n, self.sum, self.pre_sum, self.sum_products)

    def adjusted_mean(self, theta: float) -> float:
        return self.mean - theta * self.pre_mean

    def adjusted_variance(self, theta: float) -> float:
        """Variance of metric - theta·covariate per user."""
        value = self.variance + theta * theta * self.pre_variance - 2.0 * theta * self.covariance
        return max(value, 0.0)

    def __add__(self, other: RegressionAdjustedStatistic) -> RegressionAdjustedStatistic:
        return RegressionAdjustedStatistic(
            n=self.n + other.n,
            sum=self.sum + other.sum,
            sum_squares=self.sum_squares + other.sum_squares,
            pre_sum=self.pre_sum + other.pre_sum,
            pre_sum_squares=self.pre_sum_squares + other.pre_sum_squares,
            sum_products=self.sum_products + other.sum_products,
        )


Statistic: TypeAlias = ProportionStatistic | SampleMeanStatistic | RegressionAdjustedStatistic


def compute_theta(a: RegressionAdjustedStatistic, b: RegressionAdjustedStatistic) -> float:
    """CUPED's theta = Cov(metric, covariate) / Var(covariate) over control and variation pooled.

    Pooling the pair, as gbstats' ``compute_theta`` does, uses one theta for both arms so the
    adjustment cannot manufacture a difference between them; the pooled covariance ignores the
    arms' mean difference, which randomisation makes negligible. A constant metric or covariate
    gives theta = 0 (no adjustment).
    """
    joint = a + b
    if joint.pre_variance <= 0.0 or joint.variance <= 0.0:
        return 0.0
    return joint.covariance / joint.pre_variance
