"""Math answer extraction and equivalence on hand-made cases."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from model.verifiers.math import answers_match, extract_answer, is_equivalent, looks_like_math_answer


@pytest.mark.parametrize("text, expected", [
    (r"So the result is \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
    (r"First \boxed{3}, corrected: \boxed{\frac{a^{2}}{b_{1}}}", r"\frac{a^{2}}{b_{1}}"),  # nested, last wins
    ("She has 3 + 15 = 18 apples.\n#### 18", "18"),
    ("Total cost:\n#### 1,800", "1800"),
    ("The answer is $42$.", "42"),
    ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", r"\frac{3}{4}"),
    ("**Final answer:** 7", "7"),
    ("The answer is 18 dollars.", "18"),
    ("The answer is: 3.5.", "3.5"),
    ("The temperature fell from 4 to -3.", "-3"),
    ("He paid $1,234.50 in total", "1234.50"),
    (r"\boxed{x = 12 \text{ cm}}", r"x = 12 \text{ cm}"),
    (r"\boxed{12\text{ cm}}", "12"),
    ("x^2 + 2x + 1", "x^2 + 2x + 1"),  # a bare answer is taken whole
    ("The answer is 42. Let me check that the answer is correct.", "42"),
    ("So the answer is not 5, it is 6", "6"),
    ("The answer is A", "A"),
    ("I am not sure about this one.", None),
    ("", None),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("a, b", [
    (r"\frac{1}{2}", "0.5"),
    ("1,000", "1000"),
    ("x^2+2x+1", "(x+1)^2"),
    ("-3", "-3.0"),
    (r"\dfrac{3}{4}", "3/4"),
    (r"\sqrt{8}", r"2\sqrt{2}"),
    ("[1,2)", "[1, 2)"),
    (r"\{1,2,3\}", r"\{3,2,1\}"),
    ("(A)", "A"),
    (r"\$18", "18"),
])
def test_equivalent(a, b):
    assert is_equivalent(a, b)
    assert is_equivalent(b, a)


@pytest.mark.parametrize("a, b", [
    ("3", "4"),
    ("x^2+1", "(x+1)^2"),
    ("-3", "3"),
    ("[1,2)", "[1,2]"),
    ("0.333", "1/3"),
    (None, "1"),
    ("", ""),
    ("99940008", "99940009"),  # large integers compare exactly, not within a relative tolerance
])
def test_not_equivalent(a, b):
    assert not is_equivalent(a, b)


def test_answers_match_extracts_both_sides():
    assert answers_match("Adding them gives \\boxed{\\frac{1}{2}}.", "#### 0.5")
    assert answers_match("The answer is $-7$.", "So we get $\\boxed{-7}$")
    assert not answers_match("The answer is 8.", "#### 18")


def test_works_from_worker_threads():
    """math-verify's signal-based timeout is main-thread only; the verifier must not depend on it."""
    pairs = [(r"\frac{1}{2}", "0.5"), ("x^2+2x+1", "(x+1)^2"), ("3", "4")] * 4
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda p: is_equivalent(*p), pairs))
    assert results == [True, True, False] * 4


def test_looks_like_math_answer():
    assert looks_like_math_answer("#### 72")
    assert looks_like_math_answer(r"\frac{\pi}{4}")
    assert looks_like_math_answer("The solution ... so \\boxed{5}")
    assert not looks_like_math_answer("Paris is the capital of France.")


def test_huge_numbers_do_not_hang_a_worker_thread():
    """Without a signal timeout sympy would try to build 2^(2^100); the size guard refuses it."""
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(lambda: [is_equivalent("2^{2^{100}}", "3"), is_equivalent("1000000!", "5"),
                                   is_equivalent("2^{2^{3}}", "256"), is_equivalent("5!", "120")])
        assert fut.result(timeout=20) == [False, False, True, True]


def test_exclamation_in_prose_is_not_a_factorial():
    assert extract_answer("The answer is 42!") == "42"
    assert extract_answer(r"\boxed{5!}") == "5!"
