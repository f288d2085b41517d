"""Uplift: rates, the Newcombe interval (the paper's own figures), revenue per member, verdicts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asusual.campaigns.uplift import GroupCounts, Verdict, newcombe, uplift, wilson


def rounded(interval: tuple[float, float]) -> tuple[float, float]:
    return round(interval[0], 4), round(interval[1], 4)


# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score)
@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "expected"),
    [
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (6, 7, 2, 7, (0.0582, 0.8062)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
        (0, 10, 0, 20, (-0.1611, 0.2775)),
        (0, 10, 0, 10, (-0.2775, 0.2775)),
        (10, 10, 0, 20, (0.6791, 1.0)),
        (10, 10, 0, 10, (0.6075, 1.0)),
    ],
)
def test_newcombe_of_the_papers_examples_gives_its_published_limits(x1, n1, x2, n2, expected):
    assert rounded(newcombe(x1, n1, x2, n2)) == expected


def test_wilson_of_81_in_263_gives_the_textbook_interval():
    # Wilson (1927) via Newcombe (1998) Table I, method 3: 81/263 → 0.2553 to 0.3662
    assert rounded(wilson(81, 263)) == (0.2553, 0.3662)


def test_wilson_of_an_empty_group_is_refused():
    with pytest.raises(ValueError, match="0 of 0"):
        wilson(0, 0)


def test_uplift_of_clearly_better_recipients_is_positive_with_rates_revenue_and_sentences():
    result = uplift(
        GroupCounts(size=1000, customers=120, orders=150, revenue=Decimal("151234.50")),
        GroupCounts(size=1000, customers=80, orders=90, revenue=Decimal("90000")),
    )

    assert result.verdict is Verdict.POSITIVE
    assert result.recipients.conversion_rate == 0.12
    assert result.holdout.conversion_rate == 0.08
    assert result.difference == 0.04
    assert result.interval == (0.0137, 0.0664)  # 0.013718…, 0.066449… (Decimal, 40 digits)
    assert result.recipients.revenue_per_member == Decimal("151.23")
    assert result.holdout.revenue_per_member == Decimal("90.00")
    assert result.says == {
        "en": "The message works: 12.0 % of recipients ordered against 8.0 % of the holdout "
        "(95 % interval of the difference +1.4 to +6.6 points).",
        "ru": "Рассылка работает: заказали 12,0 % получателей против 8,0 % контрольной группы "
        "(95-процентный интервал разницы от +1,4 до +6,6 п. п.).",
    }


def test_uplift_of_worse_recipients_is_negative():
    result = uplift(GroupCounts(size=1000, customers=80), GroupCounts(size=1000, customers=120))

    assert result.verdict is Verdict.NEGATIVE
    assert result.difference == -0.04
    assert result.interval == (-0.0664, -0.0137)
    assert result.says["en"] == (
        "The message seems to cost orders: 8.0 % of recipients ordered against 12.0 % of the holdout "
        "(95 % interval of the difference -6.6 to -1.4 points)."
    )


def test_uplift_of_a_small_difference_is_inconclusive_and_says_the_range():
    result = uplift(GroupCounts(size=100, customers=12), GroupCounts(size=100, customers=10))

    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.interval == (-0.0696, 0.11)  # -0.069614…, 0.110040…
    assert result.says["en"] == (
        "No clear difference yet: 12.0 % of recipients ordered against 10.0 % of the holdout; "
        "the true difference may be anywhere from -7.0 to +11.0 points."
    )
    assert result.says["ru"] == (
        "Явной разницы пока нет: заказали 12,0 % получателей против 10,0 % контрольной группы; "
        "истинная разница может быть от -7,0 до +11,0 п. п."
    )


@pytest.mark.parametrize(
    ("recipients", "holdout"),
    [
        (GroupCounts(size=29, customers=20), GroupCounts(size=1000, customers=10)),  # a group under 30
        (GroupCounts(size=1000, customers=200), GroupCounts(size=29, customers=1)),
        (GroupCounts(size=1000, customers=4), GroupCounts(size=1000, customers=0)),  # under 5 in both
    ],
)
def test_uplift_of_small_groups_or_few_conversions_is_too_small_to_tell(recipients, holdout):
    assert uplift(recipients, holdout).verdict is Verdict.TOO_SMALL_TO_TELL


def test_uplift_with_five_conversions_in_one_group_gives_a_verdict():
    result = uplift(GroupCounts(size=30, customers=5), GroupCounts(size=30, customers=0))

    assert result.verdict is Verdict.POSITIVE
    assert result.interval == (0.0197, 0.3356)  # 0.019729…, 0.335643…


def test_uplift_of_an_empty_holdout_has_no_rate_no_interval_and_says_so():
    result = uplift(
        GroupCounts(size=12, customers=3, orders=4, revenue=Decimal("400")), GroupCounts(size=0, customers=0)
    )

    assert result.verdict is Verdict.TOO_SMALL_TO_TELL
    assert result.holdout.conversion_rate is None and result.holdout.revenue_per_member is None
    assert result.recipients.revenue_per_member == Decimal("33.33")
    assert result.difference is None and result.interval is None
    assert result.says == {
        "en": "Too early to tell: 12 recipients and 0 in the holdout, of whom 3 and 0 ordered; each group "
        "needs at least 30 people and one of them at least 5 who ordered.",
        "ru": "Пока рано судить: 12 получателей и 0 в контрольной группе, заказали 3 и 0; нужно не меньше "
        "30 человек в каждой группе и хотя бы в одной — 5 заказавших.",
    }


def test_uplift_of_more_converted_than_members_is_refused():
    with pytest.raises(ValueError, match="holdout: 3 converted of 2"):
        uplift(GroupCounts(size=10, customers=1), GroupCounts(size=2, customers=3))
