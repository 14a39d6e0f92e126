"""A lightweight language identifier for `language:response_language` and the English case checks.

Not a statistical model: it picks the dominant Unicode script of the letters, which names the
language outright for scripts used by one language (Thai, Hangul, Gujarati, ...). For shared
scripts (Latin, Cyrillic, Arabic, Devanagari) it scores each candidate language by the share of
tokens that are among its most frequent function words, plus a few distinctive letters. Good for
whole responses of a sentence or more; unreliable on a handful of words.
"""
from __future__ import annotations

import unicodedata
from collections import Counter

# (first, last) code point -> script name
_SCRIPT_RANGES = (
    (0x0041, 0x024F, "latin"), (0x1E00, 0x1EFF, "latin"), (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"), (0x0530, 0x058F, "armenian"), (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0xFB50, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"), (0x0980, 0x09FF, "bengali"), (0x0A00, 0x0A7F, "gurmukhi"),
    (0x0A80, 0x0AFF, "gujarati"), (0x0B00, 0x0B7F, "oriya"), (0x0B80, 0x0BFF, "tamil"),
    (0x0C00, 0x0C7F, "telugu"), (0x0C80, 0x0CFF, "kannada"), (0x0D00, 0x0D7F, "malayalam"),
    (0x0D80, 0x0DFF, "sinhala"), (0x0E00, 0x0E7F, "thai"), (0x0E80, 0x0EFF, "lao"),
    (0x1000, 0x109F, "myanmar"), (0x10A0, 0x10FF, "georgian"), (0x1100, 0x11FF, "hangul"),
    (0x1200, 0x137F, "ethiopic"), (0x1780, 0x17FF, "khmer"), (0x3040, 0x30FF, "kana"),
    (0x3130, 0x318F, "hangul"), (0x4E00, 0x9FFF, "han"), (0x3400, 0x4DBF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
)

# Scripts that (for our purposes) belong to one language.
_SCRIPT_LANGUAGE = {
    "greek": "el", "armenian": "hy", "hebrew": "he", "bengali": "bn", "gurmukhi": "pa",
    "gujarati": "gu", "oriya": "or", "tamil": "ta", "telugu": "te", "kannada": "kn",
    "malayalam": "ml", "sinhala": "si", "thai": "th", "lao": "lo", "myanmar": "my",
    "georgian": "ka", "hangul": "ko", "ethiopic": "am", "khmer": "km", "kana": "ja", "han": "zh",
}

STOPWORDS: dict[str, set[str]] = {
    "en": set("the of and to a in is it that for you was with on as are be this have not at by "
              "but from or they we an will can your their which there all would what so if has "
              "its my our do more one about been into also when".split()),
    "de": set("der die das und ist nicht ich sie es ein eine zu den mit von sich auf für dem des "
              "im auch wir wird sind als noch wie aber oder bei nach einen einer werden kann "
              "wenn hat nur dass".split()),
    "fr": set("le la les et est un une des du de en que qui dans pour pas sur au avec ce il elle "
              "nous vous sont ne se plus par mais ou cette aux leur été être fait comme".split()),
    "es": set("el la los las y es un una de del que en por para con no se su al lo como más pero "
              "sus le ya muy este esta son también fue ha está hay".split()),
    "it": set("il lo la gli le e è un una di del della che in per con non si da al sono come più "
              "ma anche questo questa nel alla dei delle ha essere".split()),
    "pt": set("o a os as e é um uma de do da dos das que em para com não se por ao mais como mas "
              "seu sua foi são no na ele ela está também".split()),
    "nl": set("de het een en is van in dat die op te zijn met voor niet aan er ook als maar om "
              "bij nog wordt door heeft worden naar".split()),
    "sv": set("och att det som en är av för på med den till inte har de jag om ett var men så "
              "kan från eller vi".split()),
    "da": set("og at det en er af for på med den til ikke har de jeg som et var men så kan fra "
              "eller vi der".split()),
    "no": set("og at det en er av for på med den til ikke har de jeg som et var men så kan fra "
              "eller vi som".split()),
    "fi": set("ja on ei se että oli hän ovat mutta tai kuin myös tämä ole sen niin kun jos ovat "
              "voi olla joka mitä hänen vain ne siitä".split()),
    "pl": set("i w nie na się z że do to jest jak co o po ale tak od za są dla jego czy przez "
              "lub być już".split()),
    "cs": set("a v se na je že to s z o do jako ale by pro jsou není jeho které tak také po k "
              "ve nebo".split()),
    "tr": set("ve bir bu da de için ile çok olan gibi daha ne ama var en mi olarak sonra kadar "
              "ya her şey".split()),
    "ro": set("și în de la a cu pe este nu o un care să din mai ce sunt pentru ca sau fost".split()),
    "hu": set("a az és hogy nem is egy van meg ez de csak már mint ami volt vagy még".split()),
    "id": set("yang dan di ini itu dengan untuk dari tidak ada dalam akan pada juga ke saya "
              "atau mereka kami bisa".split()),
    "sw": set("na ya wa kwa ni za la katika hii kuwa au lakini pia hiyo kama ili sana wao "
              "yake huu hili kila".split()),
    "vi": set("và của là có không được trong cho một những các với này người đã để khi từ "
              "như thì cũng rất".split()),
    "ru": set("и в не на что я с он как это по но из у за то от все так его же она было для "
              "вы мы быть ты только".split()),
    "bg": set("и на е за се да че в от с не са по това как но като тя той ще има беше или".split()),
    "uk": set("і та в на що не з це як до у за по від але він вона ми ви є також або".split()),
    "ar": set("في من على إلى أن هذا التي الذي عن مع كان هذه ما لا هو هي كل قد ذلك بين".split()),
    "fa": set("و در به از که این است را با برای آن یک می تا هم شده بر نیز".split()),
    "ur": set("اور کے میں کی ہے کا سے کو یہ ہیں نے پر بھی ایک کہ تھا".split()),
    "hi": set("है के में की और से को का यह हैं नहीं पर एक भी था लिए कि जो हो".split()),
    "mr": set("आहे आणि या हे ते आहेत मध्ये नाही त्या च्या करून होते त्यांच्या असे एक की".split()),
    "ne": set("छ र को मा हो पनि छन् गर्न भएको गरेको थियो हुन्छ यो त्यो लागि भने".split()),
}

_SCRIPT_CANDIDATES = {
    "latin": ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "tr",
              "ro", "hu", "id", "sw", "vi"),
    "cyrillic": ("ru", "bg", "uk"),
    "arabic": ("ar", "fa", "ur"),
    "devanagari": ("hi", "mr", "ne"),
}

# Letters that are strong evidence for one language within its script.
_DISTINCTIVE = {
    "vi": "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
    "ru": "ыэё",
    "uk": "іїєґ",
    "ur": "ٹڈڑںےۓھ",
    "fa": "پچژگ",
    "de": "äöüß",
    "pl": "ąćęłńśźż",
    "cs": "ěřůčšž",
    "tr": "ğış",
    "ro": "ăâîșț",
    "pt": "ãõç",
    "es": "ñ¿¡",
}



def script_of(ch: str) -> str | None:
    cp = ord(ch)
    for lo, hi, name in _SCRIPT_RANGES:
        if lo <= cp <= hi:
            return name
    return None


def dominant_script(text: str) -> str | None:
    counts = Counter(s for ch in text if ch.isalpha() and (s := script_of(ch)))
    return counts.most_common(1)[0][0] if counts else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when it has no letters."""
    script = dominant_script(text)
    if script is None:
        return None
    if script == "han" and any(script_of(ch) == "kana" for ch in text):
        return "ja"
    if script in _SCRIPT_LANGUAGE:
        return _SCRIPT_LANGUAGE[script]
    return _best_by_stopwords(text, _SCRIPT_CANDIDATES.get(script, ()))


def _best_by_stopwords(text: str, candidates: tuple[str, ...]) -> str | None:
    if not candidates:
        return None
    lowered = unicodedata.normalize("NFC", text.lower())
    tokens = _tokens(lowered)
    total = max(len(tokens), 1)
    letters = Counter(ch for ch in lowered if ch.isalpha())
    n_letters = max(sum(letters.values()), 1)

    def score(lang: str) -> float:
        stop = sum(1 for t in tokens if t in STOPWORDS[lang]) / total
        marks = sum(letters[c] for c in _DISTINCTIVE.get(lang, "")) / n_letters
        return stop + 2.0 * marks

    return max(candidates, key=score)


def _tokens(text: str) -> list[str]:
    """Whitespace tokens stripped of punctuation (keeps combining vowel signs, unlike \\w)."""
    out = []
    for raw in text.split():
        tok = "".join(ch for ch in raw if not unicodedata.category(ch).startswith(("P", "S", "N")))
        if tok:
            out.append(tok)
    return out


def is_language(text: str, language: str) -> bool:
    return detect_language(text) == language.lower().split("-")[0]
