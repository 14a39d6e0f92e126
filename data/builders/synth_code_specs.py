"""The catalogue of synthetic small-function specs (`SPECS`, in a fixed order: tasks draw from it by
index, so reordering it changes every seeded task).

Each spec carries hand-written plausible bugs: substring edits of its source (an off-by-one, a wrong
comparison, a dropped case, ... some make the code longer, some shorter, some keep its length), and
edge cases that expose them.
"""

from __future__ import annotations

import textwrap

from data.builders.synth_code import Spec
from data.builders.synth_code_refs import (
    dedupe,
    factorial,
    fizz,
    freq,
    gcd,
    is_prime,
    max_ones,
    random_ints,
    random_text,
    running_max,
    second_largest,
)


def _body(text: str) -> str:
    """A function body written as an indented block in this file -> 4-space indented lines."""
    lines = textwrap.dedent(text).strip("\n").splitlines()
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in lines)


SPECS: tuple[Spec, ...] = (
    Spec(
        "sum_of_evens",
        "nums",
        "Return the sum of the even numbers in the list nums.",
        _body(
            """
            total = 0
            for n in nums:
                if n % 2 == 0:
                    total += n
            return total
            """
        ),
        (
            ("n % 2 == 0", "n % 2 == 1", "sums the odd numbers instead"),
            ("total += n", "total += 1", "counts the even numbers instead of adding them"),
            ("if n % 2 == 0:", "if n % 2 == 0 and n > 0:", "skips negative even numbers"),
        ),
        (([1, 2, 3, 4],), ([-2, 3, -4],), ([],), ([5, 7],), ([0, 1, 6],)),
        lambda r: (random_ints(r),),
        lambda nums: sum(n for n in nums if n % 2 == 0),
    ),
    Spec(
        "count_vowels",
        "s",
        "Return how many vowels (a, e, i, o, u in either case) the string s contains.",
        _body(
            """
            count = 0
            for ch in s.lower():
                if ch in "aeiou":
                    count += 1
            return count
            """
        ),
        (("s.lower()", "s", "ignores upper-case vowels"), ('"aeiou"', '"aeiouy"', "counts y as a vowel")),
        (("Hello World",), ("AEIOU",), ("rhythm",), ("yay",), ("",)),
        lambda r: (random_text(r),),
        lambda s: sum(ch in "aeiou" for ch in s.lower()),
    ),
    Spec(
        "reverse_words",
        "s",
        "Return the words of s in reverse order, separated by single spaces.",
        _body(
            """
            words = s.split()
            return " ".join(reversed(words))
            """
        ),
        (
            ("s.split()", 's.split(" ")', "keeps empty words where spaces repeat"),
            ('" ".join(reversed(words))', '" ".join(sorted(words, reverse=True))', "sorts the words instead"),
            ('return " ".join(reversed(words))', "return s[::-1]", "reverses the characters, not the words"),
        ),
        (("hello world",), ("one",), ("a  b  c",), ("  lead and trail ",), ("the quick brown fox",)),
        lambda r: (random_text(r),),
        lambda s: " ".join(reversed(s.split())),
    ),
    Spec(
        "running_max",
        "nums",
        "Return a list whose i-th element is the largest of nums[0], ..., nums[i].",
        _body(
            """
            result = []
            best = None
            for n in nums:
                if best is None or n > best:
                    best = n
                result.append(best)
            return result
            """
        ),
        (
            ("best = None", "best = 0", "starts from 0, which is wrong for negative numbers"),
            ("result.append(best)", "result.append(n)", "appends the current element"),
            ("n > best", "n < best", "keeps the running minimum"),
        ),
        (([1, 3, 2, 5, 4],), ([-3, -1, -2],), ([],), ([2, 2, 1],), ([5],)),
        lambda r: (random_ints(r, -20, 20),),
        running_max,
    ),
    Spec(
        "fizzbuzz_value",
        "n",
        "Return 'FizzBuzz' if n is divisible by 3 and by 5, 'Fizz' if only by 3, "
        "'Buzz' if only by 5, and otherwise n as a string.",
        _body(
            """
            if n % 15 == 0:
                return "FizzBuzz"
            if n % 3 == 0:
                return "Fizz"
            if n % 5 == 0:
                return "Buzz"
            return str(n)
            """
        ),
        (
            ('    if n % 15 == 0:\n        return "FizzBuzz"\n', "", "never returns FizzBuzz"),
            ("return str(n)", "return n", "returns the number itself instead of a string"),
            ("if n % 5 == 0:", "if n % 10 == 0:", "only says Buzz for multiples of 10"),
        ),
        ((15,), (3,), (5,), (7,), (30,), (25,), (1,)),
        lambda r: (r.randint(1, 100),),
        fizz,
    ),
    Spec(
        "is_palindrome",
        "s",
        "Return True if s reads the same forwards and backwards, ignoring case and "
        "any character that is not a letter or digit.",
        _body(
            """
            cleaned = [ch.lower() for ch in s if ch.isalnum()]
            return cleaned == cleaned[::-1]
            """
        ),
        (
            ("ch.lower() for ch", "ch for ch", "compares case-sensitively"),
            (" if ch.isalnum()", "", "keeps spaces and punctuation"),
            (
                "return cleaned == cleaned[::-1]",
                "return len(cleaned) > 1 and cleaned == cleaned[::-1]",
                "says empty and one-character strings are not palindromes",
            ),
        ),
        (
            ("Racecar",),
            ("A man, a plan, a canal: Panama",),
            ("hello",),
            ("",),
            ("x",),
            ("No lemon, no melon",),
        ),
        lambda r: (r.choice(("abba", "abc", "Level", "step on no pets", "ab,a")),),
        lambda s: [c.lower() for c in s if c.isalnum()] == [c.lower() for c in s if c.isalnum()][::-1],
    ),
    Spec(
        "second_largest",
        "nums",
        "Return the second largest distinct value in nums, or None if there is none.",
        _body(
            """
            values = sorted(set(nums))
            if len(values) < 2:
                return None
            return values[-2]
            """
        ),
        (
            ("sorted(set(nums))", "sorted(nums)", "does not ignore duplicates"),
            ("values[-2]", "values[1]", "returns the second smallest value"),
            ("len(values) < 2", "len(values) <= 2", "gives None when there are exactly two values"),
        ),
        (([3, 1, 4, 1, 5],), ([5, 5, 4],), ([7],), ([2, 2],), ([10, 20, 30, 40],), ([1, 9],)),
        lambda r: (random_ints(r, 0, 9, 7),),
        second_largest,
    ),
    Spec(
        "char_frequency",
        "s",
        "Return a dict that maps every character of s to the number of times it occurs.",
        _body(
            """
            counts = {}
            for ch in s:
                counts[ch] = counts.get(ch, 0) + 1
            return counts
            """
        ),
        (
            ("counts.get(ch, 0)", "counts.get(ch, 1)", "starts every count at 1 instead of 0"),
            ("for ch in s:", "for ch in set(s):", "counts every character once"),
            ("for ch in s:", "for ch in s.strip():", "ignores leading and trailing spaces"),
        ),
        (("hello",), ("",), ("aaa",), (" a b ",), ("abcab",)),
        lambda r: (random_text(r),),
        freq,
    ),
    Spec(
        "flatten",
        "lists",
        "Flatten a list of lists into a single list, keeping the order of the items.",
        _body(
            """
            result = []
            for inner in lists:
                result.extend(inner)
            return result
            """
        ),
        (
            ("result.extend(inner)", "result.append(inner)", "appends the inner lists themselves"),
            ("for inner in lists:", "for inner in lists[1:]:", "skips the first inner list"),
            ("result.extend(inner)", "result.extend(inner[:1])", "keeps only the first item of each list"),
        ),
        (([[1, 2], [3], []],), ([],), ([[], [4, 5]],), ([["a"], ["b", "c"]],)),
        lambda r: ([random_ints(r, 0, 9, 3) for _ in range(r.randint(0, 4))],),
        lambda ls: [x for inner in ls for x in inner],
    ),
    Spec(
        "count_words",
        "s",
        "Return the number of words in s, where words are separated by any whitespace.",
        _body(
            """
            return len(s.split())
            """
        ),
        (
            ("s.split()", 's.split(" ")', "splits on single spaces only"),
            ("len(s.split())", "s.count(' ') + 1", "counts the spaces plus one"),
        ),
        (("hello world",), ("",), ("  spaced   out  ",), ("one",), ("a\tb\nc",)),
        lambda r: (random_text(r),),
        lambda s: len(s.split()),
    ),
    Spec(
        "capitalize_words",
        "s",
        "Return s with the first letter of every space-separated word in upper case "
        "and every other character unchanged.",
        _body(
            """
            return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))
            """
        ),
        (
            ("w[:1].upper() + w[1:]", "w.capitalize()", "also lower-cases the rest of each word"),
            ('s.split(" ")', "s.split()", "collapses repeated spaces"),
            ("w[1:]", "w[1:].lower()", "lower-cases the rest of each word"),
        ),
        (("hello world",), ("mIxEd case",), ("a  b",), ("",), ("already Done",)),
        lambda r: (random_text(r),),
        lambda s: " ".join(w[:1].upper() + w[1:] for w in s.split(" ")),
    ),
    Spec(
        "digit_sum",
        "n",
        "Return the sum of the decimal digits of the integer n (its sign is ignored).",
        _body(
            """
            n = abs(n)
            total = 0
            while n > 0:
                total += n % 10
                n //= 10
            return total
            """
        ),
        (
            ("    n = abs(n)\n", "", "returns 0 for negative numbers"),
            ("n //= 10", "n //= 100", "skips every other digit"),
            ("while n > 0:", "while n > 9:", "drops the leading digit"),
        ),
        ((123,), (0,), (-45,), (9999,), (1000,), (7,)),
        lambda r: (r.randint(-5000, 5000),),
        lambda n: sum(int(d) for d in str(abs(n))),
    ),
    Spec(
        "factorial",
        "n",
        "Return n! for a non-negative integer n (0! is 1).",
        _body(
            """
            result = 1
            for i in range(2, n + 1):
                result *= i
            return result
            """
        ),
        (
            ("range(2, n + 1)", "range(2, n)", "stops one factor too early"),
            ("range(2, n + 1)", "range(1, n + 2)", "multiplies one factor too many"),
            ("result = 1", "result = n", "starts from n instead of 1"),
        ),
        ((0,), (1,), (5,), (6,), (3,)),
        lambda r: (r.randint(0, 12),),
        lambda n: 1 if n < 2 else n * factorial(n - 1),
    ),
    Spec(
        "gcd",
        "a, b",
        "Return the greatest common divisor of the integers a and b (always non-negative).",
        _body(
            """
            while b:
                a, b = b, a % b
            return abs(a)
            """
        ),
        (
            ("return abs(a)", "return a", "can return a negative divisor"),
            ("while b:", "while b > 1:", "stops too early when the remainder is 1"),
        ),
        ((12, 8), (7, 3), (0, 5), (4, -6), (-5, 0), (9, 9), (100, 75)),
        lambda r: (r.randint(-50, 100), r.randint(1, 100)),
        gcd,
    ),
    Spec(
        "remove_duplicates",
        "items",
        "Return the items without duplicates, keeping the order of first occurrence.",
        _body(
            """
            seen = set()
            result = []
            for item in items:
                if item not in seen:
                    seen.add(item)
                    result.append(item)
            return result
            """
        ),
        (
            ("            seen.add(item)\n", "", "never remembers what it has seen"),
            ("return result", "return sorted(result)", "sorts the result"),
            ("if item not in seen:", "if item not in result[-1:]:", "only removes consecutive duplicates"),
        ),
        (([1, 2, 1, 3, 2],), ([],), (["b", "a", "b"],), ([3, 3, 3],), ([2, 1, 2],)),
        lambda r: (random_ints(r, 0, 5),),
        dedupe,
    ),
    Spec(
        "max_consecutive_ones",
        "bits",
        "Return the length of the longest run of consecutive 1s in the list bits.",
        _body(
            """
            best = current = 0
            for b in bits:
                if b == 1:
                    current += 1
                    best = max(best, current)
                else:
                    current = 0
            return best
            """
        ),
        (
            ("        else:\n            current = 0\n", "", "counts all the ones, not the longest run"),
            ("best = max(best, current)", "best = current", "returns the last run"),
            ("if b == 1:", "if b == 1 and current < 3:", "caps the run at 3"),
        ),
        (([1, 1, 0, 1, 1, 1],), ([],), ([0, 0],), ([1, 1, 1, 0, 1],), ([1, 1, 1, 1, 0],)),
        lambda r: ([r.randint(0, 1) for _ in range(r.randint(0, 12))],),
        max_ones,
    ),
    Spec(
        "chunk",
        "items, size",
        "Split the list items into consecutive chunks of length size (the last may be shorter).",
        _body(
            """
            return [items[i:i + size] for i in range(0, len(items), size)]
            """
        ),
        (
            ("items[i:i + size]", "items[i:i + size - 1]", "makes every chunk one item short"),
            (
                "range(0, len(items), size)",
                "range(0, len(items) - size + 1, size)",
                "drops a shorter last chunk",
            ),
            ("range(0, len(items), size)", "range(len(items) // size)", "steps by one instead of by size"),
        ),
        (([1, 2, 3, 4, 5], 2), ([], 3), ([1, 2, 3], 3), ([1, 2, 3, 4], 1), (["a", "b", "c"], 5)),
        lambda r: (random_ints(r, 0, 9, 9), r.randint(1, 4)),
        lambda items, size: [items[i : i + size] for i in range(0, len(items), size)],
    ),
    Spec(
        "is_prime",
        "n",
        "Return True if the integer n is a prime number, else False.",
        _body(
            """
            if n < 2:
                return False
            i = 2
            while i * i <= n:
                if n % i == 0:
                    return False
                i += 1
            return True
            """
        ),
        (
            ("i * i <= n", "i * i < n", "misses squares of primes"),
            ("if n < 2:", "if n < 1:", "says 1 is prime"),
            ("i += 1", "i += 2", "skips odd divisors"),
        ),
        ((0,), (1,), (2,), (3,), (4,), (9,), (25,), (29,), (97,)),
        lambda r: (r.randint(0, 200),),
        is_prime,
    ),
)
