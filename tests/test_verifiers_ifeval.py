"""IFEval instruction checkers: a passing and a failing response per type, the official code's edge
cases, and agreement with the official code (google-research `instruction_following_eval`, as
lm-eval ships it) on every (response, instruction) pair of the public IFEval GPT-4 responses."""
import collections
import json
import random
from pathlib import Path

import pytest

from model.verifiers.ifeval import INSTRUCTIONS, UnknownInstruction, check, describe
from model.verifiers.ifeval_text import count_sentences, count_words, english_punkt_parameters, word_tokenize
from model.verifiers.language import detect_language

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ifeval"

LONG_EN = ("The committee met on Tuesday to review the budget. Everyone agreed that the plan was "
           "sound and that the schedule could be kept if the team stayed focused on the work.")

# (id, kwargs, passing response, failing response)
CASES = [
    ("keywords:existence", {"keywords": ["ocean", "salt"]},
     "The Ocean tastes of salt.", "The ocean is wide."),
    ("keywords:frequency", {"keyword": "tree", "frequency": 3, "relation": "at least"},
     "A tree, another tree, and trees everywhere.", "One tree and a forest."),
    ("keywords:frequency", {"keyword": "tree", "frequency": 2, "relation": "less than"},
     "Only one tree here.", "Tree after tree."),
    ("keywords:forbidden_words", {"forbidden_words": ["bad", "awful"]},
     "A badge and a badger are fine.", "That was an Awful day."),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "at least"},
     "Zebras zigzag.", "Zero."),
    ("keywords:letter_frequency", {"letter": "e", "let_frequency": 3, "let_relation": "less than"},
     "Big cats run.", "Here we see geese."),
    ("language:response_language", {"language": "de"},
     "Der Hund ist nicht groß, aber er ist sehr schnell und wir lieben ihn.", LONG_EN),
    ("language:response_language", {"language": "hi"},
     "यह एक बहुत अच्छी किताब है और मैं इसे पढ़ना चाहता हूं।",
     "हे एक खूप चांगले पुस्तक आहे आणि मला ते वाचायचे आहे."),  # Marathi, same script
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"},
     "Dr. Smith paid $3.50. He left.", "One. Two! Three?"),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"},
     "One. Two! Three?", "Only one sentence here, e.g. this."),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "First part.\n\n***\n\nSecond part.", "First part.\n\nSecond part."),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "First part.\n***\nSecond part.\n***\n", "First.\n***\n\n***\nThird."),  # empty middle paragraph
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"},
     "Short and sweet.", "This sentence clearly has more than five words."),
    ("length_constraints:number_words", {"num_words": 20, "relation": "at least"},
     LONG_EN, "Too short."),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "however"},
     "Intro.\n\nHowever, there is more.\n\nEnd.", "Intro.\n\nBut there is more.\n\nEnd."),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "however"},
     "Intro.\n\n\"However, more.\n\nEnd.", "Intro.\n\nHowever, more."),  # wrong paragraph count
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Dear [name], see you at [address].", "Dear [name], see you soon."),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     "Thanks.\n\nP.S. Bring snacks.", "Thanks. PS bring snacks."),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"},
     "Thanks.\nP.S. one\nP.P.S. two", "Thanks.\nP.S. only one"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "Points:\n* first\n- second\n**Bold line**", "* one\n* two\n* three"),
    ("detectable_format:constrained_response", {},
     "My answer is maybe.", "I think yes."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*Intro* text and **Key point** here.", "*Intro* only, and an empty ** here."),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "SECTION 1\nhello\n\n**SECTION 2**\nworld", "SECTION 1\nhello\nSECTION\nworld"),
    ("detectable_format:json_format", {},
     '```json\n{"a": [1, 2]}\n```', 'Here it is: {"a": 1}'),
    ("detectable_format:title", {},
     "<<Ode to Joy>>\nLa la la.", "<< >> no title, <<broken\ntitle>>"),
    ("combination:two_responses", {},
     "First answer.\n******\nSecond answer.", "Same.\n******\nSame."),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about cats."},
     "  write a poem about CATS.\nCats purr softly.", "Here is a poem: Write a poem about cats."),
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
     "Done. Is there anything else I can help with?  ", "Is there anything else I can help with? Bye."),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "This is VERY IMPORTANT.", "This is Very important, I think."),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "Only ONE shout.", "TWO LOUD words."),
    ("change_case:english_capital", {},
     LONG_EN.upper(), LONG_EN),
    ("change_case:english_capital", {},
     LONG_EN.upper(), "КОШКА СИДИТ НА СТОЛЕ И НЕ ХОЧЕТ СЛЕЗАТЬ."),
    ("change_case:english_lowercase", {},
     LONG_EN.lower(), LONG_EN),
    ("change_case:english_lowercase", {},
     LONG_EN.lower(), "der hund ist nicht gross, aber er ist sehr schnell und wir lieben ihn."),
    ("punctuation:no_comma", {},
     "No commas here.", "Well, one comma."),
    ("startend:quotation", {},
     '  "Wrapped in quotes."\n', 'Not "wrapped".'),
]


@pytest.mark.parametrize("iid, kwargs, good, bad", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_pass_and_fail(iid, kwargs, good, bad):
    assert check(iid, kwargs, good) is True
    assert check(iid, kwargs, bad) is False


def test_every_official_type_has_cases():
    assert {c[0] for c in CASES} == set(INSTRUCTIONS)
    assert len(INSTRUCTIONS) == 25


# (id, kwargs, response, official result): where the official code differs from a natural reading
EDGES = [
    # end_checker strips quotes that wrap the whole response
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Sure. Any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Sure. Any other questions?**", False),
    # keywords are case-insensitive regular expressions matched anywhere, inside words too
    ("keywords:existence", {"keywords": ["salt"]}, "Basalt rocks.", True),
    ("keywords:existence", {"keywords": ["colou?r"]}, "What a color.", True),
    ("keywords:frequency", {"keyword": "tree", "frequency": 3, "relation": "at least"},
     "One tree, a street and trees.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "Badly done.", True),  # \b..\b
    # constrained_response: case and the final period matter
    ("detectable_format:constrained_response", {}, "my answer is yes.", False),
    ("detectable_format:constrained_response", {}, "My answer is yes", False),
    ("detectable_format:constrained_response", {}, "Well... My answer is no. Because.", True),
    # no_comma: only the ASCII comma
    ("punctuation:no_comma", {}, "全角的逗号，可以", True),
    # language: langdetect; text it cannot read ("No features in text") counts as followed
    ("language:response_language", {"language": "de"}, "12345 !!!", True),
    ("language:response_language", {"language": "de"}, LONG_EN, False),
    ("change_case:english_lowercase", {}, "http://example.com", True),  # langdetect drops URLs
    ("change_case:english_lowercase", {}, "12345 !!!", False),  # no cased letter: not islower()
    # langdetect reads upper-case German as English
    ("change_case:english_capital", {},
     "DER HUND IST NICHT GROSS, ABER ER IST SEHR SCHNELL UND WIR LIEBEN IHN.", True),
    # bullets: lines starting with '*' + a non-'*' or with '-' (rules and '-no space' too)
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* one\n---\n-two\n**Bold line**", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "*emphasis* opens this line", True),
    # '***' splits paragraphs wherever it occurs, bold-italic included
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "This is ***very*** important.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 1}, "One.\n***", True),
    # highlights: any *...* on one line (the gap between two stars too); **x** counts once
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "2 * 3 * 4", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "**bold**", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*a* and *b*", True),
    # nth paragraph: n indexes the '\n\n' split, empty pieces included; quotes before the word go
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "b"}, "A\n\n\n\nB", False),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "however"}, "A\n\n\"However, yes.", True),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "however"}, "A\n\n**However**, yes.", False),
    # sections: the splitter is case-sensitive and may sit inside a word
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1 intro. SubSection 2 counts too.", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1 intro. section 2 does not.", False),
    # postscript: the marker may appear mid-line
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye p.s. mid-line", True),
    ("detectable_format:title", {}, "<<>>", False),
    ("detectable_format:title", {}, "<<<Deep>>>", True),
    ("combination:two_responses", {}, "******\nA\n******\nB\n******", True),
    ("combination:two_responses", {}, "A\n******\n******\nB", False),
    ("startend:quotation", {}, "“curly”", False),
    # a letter that is not an ASCII letter is counted as given (the official code draws a random one)
    ("keywords:letter_frequency", {"letter": "#", "let_frequency": 2, "let_relation": "at least"},
     "#one #two", True),
]


@pytest.mark.parametrize("iid, kwargs, response, expected", EDGES,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(EDGES)])
def test_official_edge_cases(iid, kwargs, response, expected):
    assert check(iid, kwargs, response) is expected


@pytest.mark.parametrize("iid, kwargs", [(c[0], c[1]) for c in CASES])
def test_blank_response_follows_nothing(iid, kwargs):
    assert check(iid, kwargs, "  \n ") is False  # official strict mode: `response.strip() and ...`


def test_official_word_sentence_and_token_units():
    assert count_words("don't stop at 3.5") == 6  # nltk RegexpTokenizer(r"\w+")
    assert count_sentences("Dr. Smith paid $3.50. He left.") == 2  # Punkt knows 'dr'
    assert count_sentences("Line one\nLine two") == 1
    assert count_sentences("Mr. Smith went to Washington. He arrived at 3 p.m. yesterday.") == 2
    assert word_tokenize("The U.S.A. is BIG, I think.") == \
        ["The", "U.S.A.", "is", "BIG", ",", "I", "think", "."]


def test_punkt_parameters_are_nltks_punkt_tab():
    """The bundled English Punkt parameters equal nltk_data's punkt_tab/english where one is installed."""
    nltk = pytest.importorskip("nltk")
    from nltk.tokenize.punkt import load_punkt_params

    paths = [p for p in nltk.data.path if p != _OFFICIAL_NLTK_DATA.get("root")]
    try:
        installed = nltk.data.find("tokenizers/punkt_tab/english/", paths=paths)
    except LookupError:
        pytest.skip("no nltk_data punkt_tab/english installed to compare with (nltk.download('punkt_tab'))")
    ref, ours = load_punkt_params(installed), english_punkt_parameters()
    assert ours.abbrev_types == ref.abbrev_types and ours.collocations == ref.collocations
    assert ours.sent_starters == ref.sent_starters and dict(ours.ortho_context) == dict(ref.ortho_context)


def test_none_kwargs_count_as_absent():
    kwargs = {"num_words": 5, "relation": "less than", "keywords": None, "num_bullets": None}
    assert check("length_constraints:number_words", kwargs, "Tiny.")
    assert check("punctuation:no_comma", None, "fine")


def test_extensions_beyond_the_official_kwargs():
    """Kwargs the official code rejects: more relations, and every language langdetect knows."""
    words = {"num_words": 3, "relation": "at most"}
    assert check("length_constraints:number_words", words, "one two three")
    assert not check("length_constraints:number_words", words, "one two three four")
    assert check("keywords:frequency", {"keyword": "a", "frequency": 2, "relation": "Exactly"}, "a a")
    assert check("language:response_language", {"language": "nl"},
                 "De hond is niet groot, maar hij is erg snel en we houden van hem.")


def test_describe_and_errors():
    assert describe("length_constraints:number_words", {"relation": "less than", "num_words": 100}) \
        == "fewer than 100 words"
    assert describe("language:response_language", {"language": "fa"}) == "respond only in Persian"
    with pytest.raises(UnknownInstruction, match="unknown instruction id 'nope:nope'"):
        check("nope:nope", {}, "x")
    with pytest.raises(ValueError, match="num_words"):
        check("length_constraints:number_words", {"relation": "less than"}, "x")
    with pytest.raises(ValueError, match="relation"):
        check("length_constraints:number_words", {"relation": "around", "num_words": 3}, "x")
    with pytest.raises(ValueError, match="language"):
        check("language:response_language", {"language": "zh"}, "x")
    with pytest.raises(ValueError, match="regular expression"):
        check("keywords:existence", {"keywords": ["(unclosed"]}, "x")
    with pytest.raises(ValueError, match="nth_paragraph"):
        check("length_constraints:nth_paragraph_first_word",
              {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"}, "x")
    with pytest.raises(ValueError, match="letter"):
        check("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"}, "x")


@pytest.mark.parametrize("text, lang", [
    ("The cat sat on the mat and it was happy.", "en"),
    ("Il gatto è sulla tavola e non vuole scendere.", "it"),
    ("Кошка сидит на столе и не хочет слезать.", "ru"),
    ("یہ ایک بہت اچھی کتاب ہے اور میں اسے پڑھنا چاہتا ہوں۔", "ur"),
    ("این یک کتاب خوب است و من می خواهم آن را بخوانم.", "fa"),
    ("هذا كتاب جيد جدا وأنا أريد أن أقرأه في البيت.", "ar"),
    ("Con mèo đang ở trên bàn và không muốn xuống.", "vi"),
    ("이것은 좋은 책입니다", "ko"),
    ("यो एउटा राम्रो किताब हो र म यसलाई पढ्न चाहन्छु।", "ne"),
    ("12345 !!!", None),
])
def test_language_detector(text, lang):
    assert detect_language(text) == lang


def test_language_detector_is_reproducible():
    short = "ok cool"  # langdetect's answer on a short text varies from call to call without a seed
    assert len({detect_language(short) for _ in range(20)}) == 1


# --- agreement with the official code -------------------------------------------------------

_OFFICIAL_NLTK_DATA: dict[str, str] = {}


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """lm-eval's copy of google-research instruction_following_eval (instructions.py and its
    registry are Google's, Apache-2.0), run as shipped. nltk finds Punkt in a temporary nltk_data
    folder holding the same punkt_tab/english parameters (lm-eval would download it otherwise), and
    langdetect's global seed is fixed, as the official code leaves it random."""
    nltk = pytest.importorskip("nltk")
    from langdetect import DetectorFactory
    from nltk.tokenize.punkt import save_punkt_params

    root = tmp_path_factory.mktemp("nltk_data")
    (root / "tokenizers" / "punkt_tab").mkdir(parents=True, mode=0o700)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nltk.data, "path", [str(root), *nltk.data.path])
        mp.setattr(DetectorFactory, "seed", 0)
        _OFFICIAL_NLTK_DATA["root"] = str(root)
        save_punkt_params(english_punkt_parameters(), str(root / "tokenizers" / "punkt_tab" / "english"))
        registry = pytest.importorskip("lm_eval.tasks.ifeval.instructions_registry",
                                       reason="lm-eval (requirements-dev.txt) carries the official code")
        from lm_eval.tasks.ifeval import utils

        yield registry, utils
        _OFFICIAL_NLTK_DATA.clear()


def _load_ifeval():
    if not (DATA / "input_data.jsonl").exists():
        pytest.skip(f"IFEval data not found at {DATA} (shared/data is absent in this checkout)")
    inputs = [json.loads(line) for line in open(DATA / "input_data.jsonl", encoding="utf-8")]
    responses = [json.loads(line) for line in
                 open(DATA / "input_response_data_gpt4_20231107_145030.jsonl", encoding="utf-8")]
    by_prompt = {r["prompt"]: r["response"] for r in responses}
    # one prompt differs between the two upstream files; that row is joined by position
    return [(row, by_prompt.get(row["prompt"], responses[i]["response"])) for i, row in enumerate(inputs)]


def _loose_variants(response: str) -> list[str]:
    """The eight responses of the official `test_instruction_following_loose` (the first is the
    response itself): new text for the strict checks to agree on."""
    lines = response.split("\n")
    cut = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return [response, response.replace("*", ""), *cut, *(c.replace("*", "") for c in cut)]


def _randomised(registry, iid: str, kwargs: dict) -> bool:
    """Whether the official code draws a random value for these kwargs (its judgment then is chance)."""
    state, args = random.getstate(), []
    for seed in (1, 2):
        random.seed(seed)
        inst = registry.INSTRUCTION_DICT[iid](iid)
        inst.build_description(**kwargs)
        args.append(inst.get_instruction_args())
    random.setstate(state)
    return args[0] != args[1]


def test_agreement_with_official_code(official):
    registry, utils = official
    rows = _load_ifeval()
    agree, total, randomised, disagreements = collections.Counter(), collections.Counter(), [], []
    variants_agree = variants_total = 0
    for row, response in rows:
        inp = utils.InputExample(row["key"], row["instruction_id_list"], row["prompt"], row["kwargs"])
        strict = utils.test_instruction_following_strict(inp, response).follow_instruction_list
        for k, (iid, kwargs) in enumerate(zip(row["instruction_id_list"], row["kwargs"], strict=True)):
            if _randomised(registry, iid, kwargs):
                randomised.append((row["key"], iid, kwargs))
                continue
            ours = check(iid, kwargs, response, row["prompt"])
            total[iid] += 1
            agree[iid] += ours == strict[k]
            if ours != strict[k]:
                disagreements.append((row["key"], iid, kwargs, strict[k], ours))
            inst = registry.INSTRUCTION_DICT[iid](iid)
            inst.build_description(**kwargs)
            for variant in _loose_variants(response)[1:]:
                expected = bool(variant.strip()) and bool(inst.check_following(variant))
                ours = check(iid, kwargs, variant, row["prompt"])
                variants_total += 1
                variants_agree += ours == expected
                if ours != expected:
                    disagreements.append((row["key"], iid, kwargs, expected, ours, variant[:80]))
    print(f"IFEval strict agreement with the official code: {sum(agree.values())}/{sum(total.values())} "
          f"(response, instruction) pairs, {variants_agree}/{variants_total} on their loose variants; "
          f"{len(randomised)} pairs skipped where the official code draws a random letter")
    assert set(total) == set(INSTRUCTIONS)  # the data exercises all 25 types
    assert sum(total.values()) + len(randomised) == 834
    assert [(key, iid) for key, iid, _ in randomised] == \
        [(1122, "keywords:letter_frequency"), (1129, "keywords:letter_frequency")]  # letters '#', '!'
    assert not disagreements, disagreements[:10]


def test_hand_made_cases_agree_with_official_code(official):
    """The pass/fail cases and edge cases above, judged by the official code too."""
    registry, _ = official
    judged = 0
    for iid, kwargs, response in [(i, k, r) for i, k, good, bad in CASES for r in (good, bad)] + \
            [(i, k, r) for i, k, r, _ in EDGES]:
        if _randomised(registry, iid, kwargs):
            continue  # the '#' letter
        inst = registry.INSTRUCTION_DICT[iid](iid)
        inst.build_description(**kwargs)
        expected = bool(response.strip()) and bool(inst.check_following(response))
        assert check(iid, kwargs, response) is expected, (iid, kwargs, response)
        judged += 1
    assert judged == 2 * len(CASES) + len(EDGES) - 1
