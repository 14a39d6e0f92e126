"""Trusted reference functions and random argument drawers of the synthetic code specs
(synth_code_specs): the project's own code, never a candidate's, so the expected outputs of the tests
are right by construction.
"""

from __future__ import annotations

import random


def random_ints(rng: random.Random, lo: int = -10, hi: int = 20, n: int = 8) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(rng.randint(0, n))]


def random_word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdeiouxyzAEIOU") for _ in range(rng.randint(1, 6)))


def random_text(rng: random.Random) -> str:
    return rng.choice((" ", "  ", " ")).join(random_word(rng) for _ in range(rng.randint(0, 5)))


def second_largest(nums):
    values = sorted(set(nums))
    return values[-2] if len(values) > 1 else None


def running_max(nums):
    out, best = [], None
    for n in nums:
        best = n if best is None else max(best, n)
        out.append(best)
    return out


def fizz(n):
    return "FizzBuzz" if n % 15 == 0 else "Fizz" if n % 3 == 0 else "Buzz" if n % 5 == 0 else str(n)


def max_ones(bits):
    best = cur = 0
    for b in bits:
        cur = cur + 1 if b == 1 else 0
        best = max(best, cur)
    return best


def gcd(a, b):
    while b:
        a, b = b, a % b
    return abs(a)


def is_prime(n):
    return n >= 2 and all(n % i for i in range(2, int(n**0.5) + 1))


def freq(s):
    out: dict[str, int] = {}
    for ch in s:
        out[ch] = out.get(ch, 0) + 1
    return out


def dedupe(items):
    out = []
    for x in items:
        if x not in out:
            out.append(x)
    return out


def factorial(n: int) -> int:
    return 1 if n < 2 else n * factorial(n - 1)
