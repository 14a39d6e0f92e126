"""Language identification for the IFEval language checks: langdetect, as the official code uses.

langdetect samples n-grams at random, so the same text can get different answers from one call to
the next; a detector factory of our own with a fixed seed makes every answer reproducible (and
leaves langdetect's global factory, which other code may use, untouched).
"""
from __future__ import annotations

import functools

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

LANGDETECT_SEED = 0

# Function words of English, for the lexical checklist heuristic (model.verifiers.checklist).
STOPWORDS: dict[str, set[str]] = {
    "en": set("the of and to a in is it that for you was with on as are be this have not at by "
              "but from or they we an will can your their which there all would what so if has "
              "its my our do more one about been into also when".split()),
}


@functools.cache
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(LANGDETECT_SEED)
    return factory


def langdetect_codes() -> list[str]:
    """The language codes langdetect can answer, sorted."""
    return sorted(_factory().get_lang_list())


def detect_language(text: str) -> str | None:
    """langdetect's code for the text's language ('en', 'de', 'zh-cn', ...), or None where
    langdetect raises (a text with no letters: "No features in text")."""
    detector = _factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:
        return None
