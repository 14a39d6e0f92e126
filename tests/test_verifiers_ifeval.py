"""IFEval instruction checkers: one passing and one failing hand-made response per type, and a sanity
run over the public IFEval inputs with GPT-4's responses."""
import collections
import json
from pathlib import Path

import pytest

from model.verifiers.ifeval import INSTRUCTIONS, UnknownInstruction, check, describe
from model.verifiers.language import detect_language

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ifeval"

LONG_EN = ("The committee met on Tuesday to review the budget. Everyone agreed that the plan was "
           "sound and that the schedule could be kept if the team stayed focused on the work.")

# (id, kwargs, passing response, failing response)
CASES = [
    ("keywords:existence", {"keywords": ["ocean", "salt"]},
     "The Ocean tastes of salt.", "The ocean is wide."),
    ("keywords:existence", {"keywords": ["salt"]},
     "Salty air.", "Basalt rocks."),  # inflections count, embedded strings do not
    ("keywords:frequency", {"keyword": "tree", "frequency": 3, "relation": "at least"},
     "A tree, another tree, and trees everywhere.", "One tree and a street."),
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
    ("length_constraints:number_paragraphs", {"num_paragraphs": 1},
     "This is ***very*** important.", "One. *** Two."),  # bold-italic is not a divider
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"},
     "Short and sweet.", "This sentence clearly has more than five words."),
    ("length_constraints:number_words", {"num_words": 20, "relation": "at least"},
     LONG_EN, "Too short."),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "however"},
     "Intro.\n\n**However**, there is more.\n\nEnd.", "Intro.\n\nBut there is more.\n\nEnd."),
    ("length_constraints:nth_paragraph_first_word",
     {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "however"},
     "Intro.\n\nHowever, more.\n\nEnd.", "Intro.\n\nHowever, more."),  # wrong paragraph count
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Dear [name], see you at [address].", "Dear [name], see you soon. [ ]"),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     "Thanks.\n\nP.S. Bring snacks.", "Thanks. PS bring snacks."),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"},
     "Thanks.\nP.S. one\nP.P.S. two", "Thanks.\nP.S. only one"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2},
     "Points:\n* first\n- second\n**Bold line**", "* one\n* two\n* three"),
    ("detectable_format:constrained_response", {},
     "My answer is maybe.", "I think yes."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*Intro* text and **Key point** here.", "*Intro* only, and a lone * star and ** empty **."),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "SECTION 1\nhello\n\n**SECTION 2**\nworld", "SECTION 1\nhello\nSECTION\nworld"),
    ("detectable_format:json_format", {},
     '```json\n{"a": [1, 2]}\n```', 'Here it is: {"a": 1}'),
    ("detectable_format:title", {},
     "<<Ode to Joy>>\nLa la la.", "<< >> no title, <<broken\ntitle>>"),
    ("combination:two_responses", {},
     "First answer.\n******\nSecond answer.", "Same.\n******\nSame."),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about cats."},
     "Write a poem  about cats.\nCats purr softly.", "Here is a poem: Write a poem about cats."),
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
     "Done. Is there anything else I can help with?  ", "Is there anything else I can help with? Bye."),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "This is VERY IMPORTANT.", "This is Very important, I think."),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "Only ONE shout.", "TWO LOUD words."),
    ("change_case:english_capital", {},
     LONG_EN.upper(), LONG_EN),
    ("change_case:english_capital", {},
     LONG_EN.upper(), "DER HUND IST NICHT GROSS, ABER ER IST SEHR SCHNELL UND WIR LIEBEN IHN."),
    ("change_case:english_lowercase", {},
     LONG_EN.lower(), LONG_EN),
    ("punctuation:no_comma", {},
     "No commas here.", "Well, one comma."),
    ("startend:quotation", {},
     '  "Wrapped in quotes."\n', 'Not "wrapped".'),
]


@pytest.mark.parametrize("iid, kwargs, good, bad", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_pass_and_fail(iid, kwargs, good, bad):
    assert check(iid, kwargs, good) is True
    assert check(iid, kwargs, bad) is False


def test_every_documented_type_has_cases():
    assert {c[0] for c in CASES} == set(INSTRUCTIONS)
    assert len(INSTRUCTIONS) >= 25


def test_none_kwargs_count_as_absent():
    kwargs = {"num_words": 5, "relation": "less than", "keywords": None, "num_bullets": None}
    assert check("length_constraints:number_words", kwargs, "Tiny.")
    assert check("punctuation:no_comma", None, "fine")


def test_describe_and_errors():
    assert describe("length_constraints:number_words", {"relation": "less than", "num_words": 100}) \
        == "fewer than 100 words"
    with pytest.raises(UnknownInstruction, match="unknown instruction id 'nope:nope'"):
        check("nope:nope", {}, "x")
    with pytest.raises(ValueError, match="num_words"):
        check("length_constraints:number_words", {"relation": "less than"}, "x")
    with pytest.raises(ValueError, match="relation"):
        check("length_constraints:number_words", {"relation": "around", "num_words": 3}, "x")


@pytest.mark.parametrize("text, lang", [
    ("The cat sat on the mat and it was happy.", "en"),
    ("Il gatto è sulla tavola e non vuole scendere.", "it"),
    ("Котката е на масата и не иска да слезе.", "bg"),
    ("Кошка сидит на столе и не хочет слезать.", "ru"),
    ("یہ ایک بہت اچھی کتاب ہے اور میں اسے پڑھنا چاہتا ہوں۔", "ur"),
    ("این یک کتاب خوب است و من می خواهم آن را بخوانم.", "fa"),
    ("هذا كتاب جيد جدا وأنا أريد أن أقرأه في البيت.", "ar"),
    ("Con mèo đang ở trên bàn và không muốn xuống.", "vi"),
    ("이것은 좋은 책입니다", "ko"),
    ("यो एउटा राम्रो किताब हो र म यसलाई पढ्न चाहन्छु।", "ne"),
])
def test_language_detector(text, lang):
    assert detect_language(text) == lang


def _load_ifeval():
    if not (DATA / "input_data.jsonl").exists():
        pytest.skip(f"IFEval data not found at {DATA} (shared/data is absent in this checkout)")
    inputs = [json.loads(line) for line in open(DATA / "input_data.jsonl", encoding="utf-8")]
    responses = [json.loads(line) for line in
                 open(DATA / "input_response_data_gpt4_20231107_145030.jsonl", encoding="utf-8")]
    by_prompt = {r["prompt"]: r["response"] for r in responses}
    # one prompt differs between the two upstream files; that row is joined by position
    return [(row, by_prompt.get(row["prompt"], responses[i]["response"])) for i, row in enumerate(inputs)]


def test_gpt4_responses_sanity():
    rows = _load_ifeval()
    assert len(rows) == 541
    total = passed = prompts_ok = 0
    per_id = collections.Counter()
    for row, response in rows:
        ok_all = True
        for iid, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            assert iid in INSTRUCTIONS
            describe(iid, kwargs)
            ok = check(iid, kwargs, response, row["prompt"])
            total += 1
            passed += ok
            per_id[iid] += ok
            ok_all &= ok
        prompts_ok += ok_all
    rate = passed / total
    print(f"IFEval GPT-4 strict: instruction-level {rate:.3f}, prompt-level {prompts_ok / len(rows):.3f}")
    assert 0.75 <= rate <= 0.90, rate
