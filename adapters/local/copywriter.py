"""Template copywriter: storyboards and scripts for the four output modes, with no model and no network.

The local family's text provider. It reads the brief (product name and description, the campaign
prompt, the call to action, product facts), pulls out benefit phrases, audience and season, and
fills hand-written templates, one set per mode:

- image_bundle: concepts for stills, a punchy headline each, no voice.
- fast_paced: quick cuts with 2-5 word headlines, music-driven (no voice), ending on the CTA card.
- script_to_video: an explainer; a hook, the product's benefits, a call to action, each line sized
  to its scene at WORDS_PER_SECOND.
- ugc: a creator talking to camera, first person and casual, sized the same way.

Copy states no fact that is not in the brief: benefits come from the description and the prompt,
and everything else is general enough to be true of any product. The prompt is an instruction, so
only its clauses that read as product facts ("light", "made to last") become copy, along with what
it asks to highlight; the rest is mined for audience, season, tone and whether this is a launch.

Every video's last scene (and an image bundle's, from two concepts on) is the CTA card. Its headline
is the product's name, not the call to action: image providers draw that as the card's button, and
the voice says it last. Narration never runs longer than its
scene, bar a word or two in scenes too short for a phrase; a long scene with little to say is left
room rather than padded.

Only English copy is written. A brief in another language still gets English text (its speech uses
that language's voice); localised copy needs a model text provider.

The seed picks among equally good templates, shot orders and cut rhythms: the same seed gives the
same storyboard, another seed a different one.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.base import AdapterError, Brief, Readiness, Scene, Storyboard, TextProvider

WORDS_PER_SECOND = 2.6  # an unhurried voiceover; the speech provider stretches or squeezes to fit
HEADLINE_MAX_CHARS = 40
CUT_HEADLINE_MAX_WORDS = 5  # fast cuts are read in a second
BUNDLE_HEADLINE_MAX_WORDS = 7
NAME_MAX_CHARS = 32  # longer names (marketplace titles) are cut at a separator or a word boundary
MIN_SCENE_S = 1.0
MIN_SPOKEN_WORDS = 3  # a scene too short for a phrase still gets one; speech is squeezed to fit
MIN_BEAT_WORDS = 5  # below this a scene's beat is dropped rather than crammed in
SQUEEZABLE_WORDS = 2  # how far a short line may overrun its scene rather than be cut mid-phrase
MAX_FACTS = 8
DEFAULT_CTA = "Learn more"  # true of every product, unlike "Shop now"
END_CARD_FALLBACK = "Try it for yourself"  # the end card's headline when the name is missing or too long
MODES = ("image_bundle", "fast_paced", "script_to_video", "ugc")

# ---- 1. reading the brief ------------------------------------------------------------------------

STOPWORDS = frozenset(
    "a an the and or but for to of in on at by with from into over under up as is are be it its it's "
    "this that your you our we all so than then also plus".split()
)
# Words after which a headline may not end ("Made from recycled" is fine, "Made from" is not).
DANGLING = STOPWORDS | frozenset("& + - – — very more most less every each any some no not just even my their".split())
# Words that open a modifier: a phrase cut just before one still reads whole ("A soft plush | with amber eyes").
PHRASE_BREAKS = frozenset(
    "with without on in for by from at of and or that which who where while to featuring including plus via".split()
)
# Participles that want what follows them: a phrase cut short never ends on one ("Made", "Shown worn").
NEEDS_COMPLEMENT = frozenset(
    "shown worn seen made built designed crafted pictured photographed displayed used served topped filled "
    "paired sold given taken known held set put kept".split()
)
PARTICIPLE = re.compile(r"\w{2}[^e]ed$")  # "served", "insulated"; not "bed", "speed"
NUMBER_ONLY = re.compile(r"[\d.,:/%x×+-]+")
# Clauses about the photo rather than the product ("Shown worn by an astronaut", "Pictured with its box"):
# they describe what the shopper already sees and make no copy.
PHOTO_CAPTION = re.compile(
    r"(shown|pictured|photographed|depicted|displayed|modell?ed|seen here)\b"
    r"|((the|this) )?(image|photo|picture) (shows|of)\b",
    re.IGNORECASE,
)
# Third-person verbs that start a benefit: "keeps drinks cold" reads as "It keeps drinks cold".
ACTION_VERBS = frozenset(
    "keeps stays holds fits lasts works helps makes gives comes charges cleans protects supports delivers "
    "brews blends cools heats warms dries folds packs locks seals tracks boosts reduces removes prevents "
    "absorbs repels blocks resists survives handles weighs runs plays connects syncs feels looks smells "
    "tastes goes lets saves cuts fights hydrates moisturizes moisturises nourishes soothes softens smooths "
    "brightens restores repairs strengthens adapts adjusts converts doubles filters purifies measures "
    "monitors detects streams records captures prints cooks grinds mixes stores carries includes features "
    "offers provides wicks breathes stretches washes turns learns remembers pairs lights glows sticks "
    "snaps clips attaches has does can will needs uses grows shields guards cushions".split()
)
# Adjectives and participles that read as "It's …" when they stand alone or lead a prepositional
# phrase ("perfect for hikers"); before a noun ("soft cotton blend") the clause is a thing instead.
QUALITIES = frozenset(
    "light lightweight durable compact portable waterproof quiet silent fast quick soft strong tough sleek "
    "slim washable reusable recyclable safe natural organic vegan handmade handcrafted gentle easy simple "
    "comfortable comfy breathable stylish affordable powerful smart refillable sustainable biodegradable "
    "non-toxic bpa-free dishwasher-safe leak-proof leakproof shatterproof available perfect ideal great "
    "ready made built designed crafted engineered tested certified trusted loved approved packed powered "
    "backed rated cruelty-free fragrance-free gluten-free sugar-free plant-based eco-friendly ultralight "
    "ultra-light wireless rechargeable adjustable foldable stackable lasting long-lasting".split()
)
QUALITY_SUFFIXES = ("proof", "free", "friendly", "safe", "able", "ible")
# States that a product keeps: "cold for 24 hours" reads as "It stays cold for 24 hours".
STATES = frozenset("cold hot warm cool fresh dry charged clean crisp sharp secure stable cozy".split())
PREPOSITIONS = frozenset(
    "for to in on at with from by of and up all through until enough under over after within without "
    "as into against".split()
)
# Clauses that open like this and contain a verb stand alone: "Your drinks stay cold all day".
SENTENCE_OPENERS = frozenset("your every each no all the its this".split())
FINITE_VERBS = ACTION_VERBS | frozenset("is are stay keep get gets have last fit go come make work".split())
# Imperatives that mark a prompt clause as an instruction to us, not a product fact.
DIRECTIVES = frozenset(
    "launch promote advertise announce introduce create make show showcase sell highlight feature target "
    "pitch market push tease drive build generate focus emphasize emphasise position present reach "
    "convince tell write produce design give use keep include mention talk explain celebrate spotlight "
    "hype aim appeal speak please let get unveil debut remind encourage invite inspire capture".split()
)
META_WORDS = frozenset(
    "ad ads advert video videos spot campaign audience tone style post posts reel reels tiktok instagram "
    "youtube facebook creative vibe vibes mood brand customers viewers copy script storyboard voiceover "
    "music shot shots scene scenes cta message messaging we us i".split()
)
LAUNCH = re.compile(r"\b(launch\w*|introduc\w*|announc\w*|unveil\w*|debut\w*)\b", re.IGNORECASE)
# Season pattern -> (noun as spoken, adjective before a noun).
SEASONS = (
    (r"\bback[ -]to[ -]school\b", "back to school", "back-to-school"),
    (r"\bblack friday\b", "Black Friday", "Black Friday"),
    (r"\bcyber monday\b", "Cyber Monday", "Cyber Monday"),
    (r"\bchristmas\b", "Christmas", "Christmas"),
    (r"\bholiday(s| season)?\b", "the holidays", "holiday"),
    (r"\bvalentine'?s\b", "Valentine's Day", "Valentine's"),
    (r"\bmother'?s day\b", "Mother's Day", "Mother's Day"),
    (r"\bfather'?s day\b", "Father's Day", "Father's Day"),
    (r"\bhalloween\b", "Halloween", "Halloween"),
    (r"\bnew year\b", "the new year", "New Year"),
    (r"\bsummer\b", "summer", "summer"),
    (r"\bwinter\b", "winter", "winter"),
    (r"\bspring\b", "spring", "spring"),
    (r"\bautumn\b|\b(this|for|in) fall\b", "autumn", "autumn"),
)
PREMIUM_TONE = frozenset(
    "premium luxury luxurious elegant refined minimal minimalist sophisticated calm understated".split()
)
PLAYFUL_TONE = frozenset("playful fun bold energetic upbeat cheeky witty exciting loud vibrant".split())
# Audiences are people: "for summer hikers", "to busy parents", not "for Instagram" or "for launch day".
PEOPLE_WORDS = frozenset("everyone anyone gen z men women children people".split())
AUDIENCE_STOP = frozenset(
    "who that with for to in on at this during using by via while so because across through over about".split()
)
NUMBER = re.compile(r"\d")
# Units a voice should say in full: speech engines read "750 ml" as "seven hundred fifty em el".
SPOKEN_UNITS = {
    "ml": "milliliters", "l": "liters", "oz": "ounces", "g": "grams", "kg": "kilograms", "mg": "milligrams",
    "lb": "pounds", "lbs": "pounds", "mm": "millimeters", "cm": "centimeters", "km": "kilometers",
    "h": "hours", "hr": "hours", "hrs": "hours", "min": "minutes", "mins": "minutes", "mah": "milliamp hours",
    "gb": "gigabytes", "tb": "terabytes", "w": "watts", "s": "seconds", "sec": "seconds", "secs": "seconds",
}


@dataclass(frozen=True)
class _Fact:
    text: str  # as it reads mid-sentence, no end punctuation: "keeps drinks cold for 24 hours"
    kind: str  # action: follows "It" | quality: follows "It's" | sentence: stands alone | thing: a fragment
    stressed: bool = False  # the prompt asks to highlight it, so it comes first


@dataclass(frozen=True)
class _Material:
    name: str  # "" when the brief has none; every template that needs it is then skipped
    the_name: str  # "the Aurora water bottle": with an article when the name ends in a common noun
    facts: tuple[_Fact, ...]
    audience: str
    season: str  # as spoken: "summer", "the holidays"
    season_adj: str  # before a noun: "summer", "holiday"
    launch: bool
    tone: str  # premium | playful | ""
    cta: str


def _read_brief(brief: Brief) -> _Material:
    name = _display_name(brief.product_name)
    prompt_clauses = _clauses(brief.prompt)
    description_clauses = _clauses(brief.product_description)
    audience, audience_clause = _audience(prompt_clauses, description_clauses)
    facts = [
        _classify(clause, name)
        for clause in description_clauses
        if clause != audience_clause and not PHOTO_CAPTION.match(clause)
    ]
    for clause in prompt_clauses:
        if clause == audience_clause:
            continue
        if _is_instruction(clause):
            facts.extend(_highlight(clause, name))
            continue
        fact = _classify(clause, name)
        if fact.kind != "thing" or NUMBER.search(fact.text):
            facts.append(fact)
    facts.extend(_colour_fact(brief.product_facts))
    facts = [part for fact in facts for part in _split_pair(fact)]
    season, season_adj = _season(brief.prompt)  # in a description, "spring" is more often a part
    prompt_words = set(re.findall(r"[a-z]+", brief.prompt.lower()))
    tone = "premium" if prompt_words & PREMIUM_TONE else "playful" if prompt_words & PLAYFUL_TONE else ""
    return _Material(
        name=name,
        the_name=_with_article(name),
        facts=_distinct(facts, name)[:MAX_FACTS],
        audience=audience,
        season=season,
        season_adj=season_adj,
        launch=bool(LAUNCH.search(brief.prompt)),
        tone=tone,
        cta=brief.call_to_action.strip() or DEFAULT_CTA,
    )


def _display_name(raw: str) -> str:
    name = re.split(r"\s+[-|–—]\s+|[,(:]", " ".join(raw.split()), maxsplit=1)[0].strip()
    if len(name) <= NAME_MAX_CHARS:
        return name
    kept: list[str] = []
    for word in name.split():
        if len(" ".join([*kept, word])) > NAME_MAX_CHARS:
            break
        kept.append(word)
    return " ".join(kept) or name  # one very long word stays whole: copy never cuts a word


def _with_article(name: str) -> str:
    words = name.split()
    # "Aurora water bottle" is a thing (the Aurora water bottle); "Aurora" or "Air Max 90" is a name,
    # and "our product" has its determiner already.
    # "Chelsea the tabby cat plush" names itself already.
    determined = words and (words[0].lower() in ("the", "a", "an", "our", "my", "your", "this") or "the" in words)
    if len(words) >= 2 and words[-1].isalpha() and words[-1].islower() and not determined:
        return f"the {name}"
    return name


def _clauses(text: str) -> list[str]:
    # A colon splits clauses but not a ratio or a time ("1:144 scale", "2:30").
    parts = re.split(r"(?<=[.!?])\s+|[;\n]+|(?<!\d):|:(?!\d)|,\s+|\s+[-–—]\s+|\s*[•·]\s*", text)
    clauses = []
    for part in parts:
        clause = " ".join(part.split()).strip(" .!?…\"'“”")
        clause = re.sub(r"^(and|but|plus|also|so)\s+", "", clause, flags=re.IGNORECASE)
        if re.search(r"[A-Za-z0-9]", clause):
            clauses.append(clause)
    return clauses


def _is_instruction(clause: str) -> bool:
    words = re.findall(r"[a-z']+", clause.lower())
    return not words or words[0] in DIRECTIVES or bool(set(words) & META_WORDS)


def _audience(prompt_clauses: list[str], description_clauses: list[str]) -> tuple[str, str]:
    """The people the ad speaks to, and the fact clause it came from ("" for an instruction)."""
    for clause in prompt_clauses:
        if _is_instruction(clause):
            for match in re.finditer(r"\b(?:for|to|targeting|aimed at)\s+(.+)", clause, re.IGNORECASE):
                if audience := _people(match.group(1)):
                    return audience, ""
    for clause in [*description_clauses, *prompt_clauses]:
        match = re.match(r"(?:perfect|ideal|made|designed|built)\s+for\s+(.+)", clause, re.IGNORECASE)
        if match and (audience := _people(match.group(1))):
            return audience, clause
    return "", ""


def _people(phrase: str) -> str:
    words: list[str] = []
    for word in phrase.split():
        if word.lower() in AUDIENCE_STOP or len(words) == 4:
            break
        words.append(word)
    while words and words[0].lower() in ("the", "all", "our", "your"):
        words.pop(0)
    audience = " ".join(words)
    last = words[-1].lower() if words else ""
    if not audience or NUMBER.match(audience) or _is_season(audience):
        return ""
    if audience.lower() in PEOPLE_WORDS or last in PEOPLE_WORDS or (last.endswith("s") and not last.endswith("ss")):
        return _lower_first(audience)
    return ""


def _is_season(phrase: str) -> bool:
    """ "Launch it for the holidays": a when, not a who."""
    return any(re.fullmatch(pattern, phrase, re.IGNORECASE) for pattern, _, _ in SEASONS)


def _season(text: str) -> tuple[str, str]:
    for pattern, noun, adjective in SEASONS:
        if re.search(pattern, text, re.IGNORECASE):
            return noun, adjective
    return "", ""


def _classify(clause: str, name: str) -> _Fact:
    words = clause.split()
    rest = _without_subject(words, name)
    if rest is not None:
        if not rest:
            return _Fact(_lower_first(clause), "thing")
        verb = rest[0].lower()
        if verb in ("is", "are", "'s"):
            return _Fact(_lower_first(" ".join(rest[1:])), "quality") if len(rest) > 1 else _Fact(clause, "thing")
        if verb not in ACTION_VERBS and f"{verb}s" in ACTION_VERBS:
            rest = [f"{verb}s", *rest[1:]]  # "they keep" -> "it keeps"
        return _Fact(_lower_first(" ".join(rest)), "action")
    first = words[0].lower()
    second = words[1].lower() if len(words) > 1 else ""
    text = _lower_first(clause)
    if first in ACTION_VERBS:
        return _Fact(text, "action")
    if first == "with" and len(words) > 1:
        return _Fact(f"comes {text}", "action")
    if first in STATES and (not second or second in PREPOSITIONS):
        return _Fact(f"stays {text}", "action")
    participle = first.endswith("ed") and (not second or (len(words) == 2 and second.endswith("ly")))
    # "100% recycled", "5-star rated"
    graded = len(words) == 2 and NUMBER.search(first) and (second in QUALITIES or second.endswith("ed"))
    single = len(words) == 1 and (first.endswith(QUALITY_SUFFIXES) or first.rsplit("-", 1)[-1] in QUALITIES)
    if (
        (first in QUALITIES or first.endswith("ed")) and second in PREPOSITIONS
        or first in QUALITIES and not second
        or participle
        or graded
        or single
    ):
        return _Fact(text, "quality")
    if first in SENTENCE_OPENERS and any(word.lower() in FINITE_VERBS for word in words[1:]):
        return _Fact(text, "sentence")
    return _Fact(text, "thing")


def _highlight(instruction: str, name: str) -> list[_Fact]:
    """What "Highlight the waterproof shell" or "focus on how light it is" asks to stress."""
    match = re.match(
        r"(?:highlight|emphasi[sz]e|stress|showcase|spotlight|feature|focus on|mention)\s+(.+)",
        instruction,
        re.IGNORECASE,
    )
    if not match:
        return []
    target = match.group(1)
    if how := re.fullmatch(r"how (\S+) it is", target, re.IGNORECASE):
        return [_Fact(how.group(1).lower(), "quality", stressed=True)]
    words = re.findall(r"[a-z']+", target.lower())
    # A lone abstract noun ("durability") makes no line of copy; instructions leave nothing to stress.
    if not 2 <= len(target.split()) <= 6 or words[0] in ("how", "why", "what", "that") or set(words) & META_WORDS:
        return []
    fact = _classify(target, name)
    return [_Fact(fact.text, fact.kind, stressed=True)]


def _split_pair(fact: _Fact) -> list[_Fact]:
    """ "fragrance-free and vegan" is two qualities, listed better apart."""
    pair = re.fullmatch(r"(\S+) and (\S+)", fact.text)
    if fact.kind != "quality" or not pair:
        return [fact]
    return [_Fact(pair.group(1), "quality", fact.stressed), _Fact(pair.group(2), "quality", fact.stressed)]


def _without_subject(words: list[str], name: str) -> list[str] | None:
    """The words after a subject ("It", "They", "The Aurora", the product name), or None if none."""
    lowered = [word.lower() for word in words]
    if lowered[0] in ("it's", "it’s", "they're", "they’re"):
        return ["is", *words[1:]]
    if lowered[0] in ("it", "they") and len(words) > 1 and lowered[1] in FINITE_VERBS:
        return words[1:]
    name_words = name.lower().split()
    for start in (0, 1) if lowered[0] == "the" else (0,):
        for size in range(len(name_words), 0, -1):
            if lowered[start:start + size] == name_words[:size] and len(words) > start + size:
                following = lowered[start + size]
                if following in FINITE_VERBS:
                    return words[start + size:]
    return None


def _colour_fact(product_facts: dict[str, Any]) -> list[_Fact]:
    raw = product_facts.get("colors") or product_facts.get("colours") or ()
    values = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else ()
    # Hex codes from image analysis say nothing a shopper can read; only named colours become copy.
    named = [
        value.strip().lower()
        for value in values
        if isinstance(value, str) and re.fullmatch(r"\s*[A-Za-z][A-Za-z -]{1,20}\s*", value)
    ]
    if len(named) < 2:
        return []
    return [_Fact(f"available in {_join(named[:4])}", "quality")]


def _content_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in STOPWORDS}


def _distinct(facts: list[_Fact], name: str) -> list[_Fact]:
    """Drop facts that only restate the name or repeat a fuller fact ("cold for 24 hours")."""
    name_words = _content_words(name)
    words = [_content_words(fact.text) for fact in facts]
    kept = []
    for index, fact in enumerate(facts):
        mine = words[index] - {"stays", "comes"}
        if not mine or mine <= name_words:
            continue
        repeats = any(
            mine <= other and (mine != other or other_index < index)
            for other_index, other in enumerate(words)
            if other_index != index
        )
        if not repeats:
            kept.append(fact)
    return kept


# ---- 2. planning: beats of content, spread over the scenes -------------------------------------


@dataclass(frozen=True)
class _Beat:
    kind: str  # hook | facts | audience | season | generic | cta
    facts: tuple[_Fact, ...] = ()
    leads: bool = False  # the storyboard's first facts: copy may call them "the best part"


def _plan(material: _Material, scene_count: int, *, ends_on_cta: bool) -> list[tuple[_Beat, ...]]:
    """The beats of each scene: a hook opens, the call to action closes, the middle carries the facts."""
    hook, cta = _Beat("hook"), _Beat("cta")
    facts = _fact_beats(material.facts)
    if facts:
        facts[0] = _Beat("facts", facts[0].facts, leads=True)
    if scene_count == 1:
        return [(hook, *facts, cta)] if ends_on_cta else [(hook,)]
    if scene_count == 2:
        half = (len(facts) + 1) // 2
        return [(hook, *facts[:half]), (*facts[half:], cta)]
    slots = scene_count - 2
    while len(facts) > slots:
        facts = _merge_shortest_neighbours(facts)
    content = list(facts)
    for kind, value in (("audience", material.audience), ("season", material.season)):
        if value and len(content) < slots:
            content.append(_Beat(kind))
    # Spare scenes first take apart grouped facts: "750 ml" on its own beats a generic line.
    while len(content) < slots and (grouped := [i for i, beat in enumerate(content) if len(beat.facts) > 1]):
        index = max(grouped, key=lambda i: len(content[i].facts))
        first, *rest = content[index].facts
        content[index:index + 1] = [_Beat("facts", (first,), leads=content[index].leads), _Beat("facts", tuple(rest))]
    # Generic beats are spread between the content ones rather than piled up before the end card.
    generics = slots - len(content)
    middle: list[_Beat] = []
    for index in range(slots):
        if (index + 1) * generics // slots > sum(beat.kind == "generic" for beat in middle):
            middle.append(_Beat("generic"))
        else:
            middle.append(content.pop(0) if content else _Beat("generic"))
    return [(hook,), *((beat,) for beat in middle), (cta,)]


def _fact_beats(facts: Sequence[_Fact]) -> list[_Beat]:
    # What the prompt stresses leads; then what the product does for you, what it is, what it's like.
    order = {"action": 0, "sentence": 0, "thing": 1, "quality": 2}
    beats: list[_Beat] = []
    for fact in sorted(facts, key=lambda fact: (not fact.stressed, order[fact.kind])):
        previous = beats[-1].facts if beats else ()
        # Fragments ("750 ml") and adjectives ("light") are thin alone; they join their kind.
        joins = (
            bool(previous)
            and fact.kind in ("thing", "quality")
            and previous[-1].kind == fact.kind
            and min(_word_count(fact.text), _word_count(previous[-1].text)) <= 2
        )
        if joins:
            beats[-1] = _Beat("facts", (*previous, fact))
        else:
            beats.append(_Beat("facts", (fact,)))
    return beats


def _merge_shortest_neighbours(beats: list[_Beat]) -> list[_Beat]:
    """Two neighbouring beats as one, preferring two of a kind, then the fewest words."""
    sizes = [sum(_word_count(fact.text) for fact in beat.facts) for beat in beats]

    def cost(i: int) -> tuple[bool, int]:
        return beats[i].facts[-1].kind != beats[i + 1].facts[0].kind, sizes[i] + sizes[i + 1]

    index = min(range(len(beats) - 1), key=cost)
    merged = _Beat("facts", (*beats[index].facts, *beats[index + 1].facts), leads=beats[index].leads)
    return [*beats[:index], merged, *beats[index + 2:]]


def _runs(facts: Sequence[_Fact]) -> list[tuple[str, list[str]]]:
    """Consecutive facts of one kind, spoken together: ("quality", ["light", "made to last"])."""
    runs: list[tuple[str, list[str]]] = []
    for fact in facts:
        if runs and runs[-1][0] == fact.kind and fact.kind in ("thing", "quality"):
            runs[-1][1].append(fact.text)
        else:
            runs.append((fact.kind, [fact.text]))
    return runs


def scene_durations(total: float, weights: Sequence[float]) -> list[float]:
    """Scene lengths in tenths of a second, each at least MIN_SCENE_S when the total allows, summing to total."""
    floor = min(MIN_SCENE_S, total / len(weights))
    raw = [floor + (total - floor * len(weights)) * weight / sum(weights) for weight in weights]
    tenths = int(total * 10 + 1e-6)
    scaled = [value * tenths / (total * 10) * 10 for value in raw]
    units = [int(value) for value in scaled]
    by_remainder = sorted(range(len(units)), key=lambda i: scaled[i] - units[i], reverse=True)
    for index in by_remainder[: tenths - sum(units)]:
        units[index] += 1
    durations = [unit / 10 for unit in units]
    durations[-1] += total - tenths / 10  # what tenths cannot hold (a brief of 7.25 s)
    return [round(duration, 2) for duration in durations]


# ---- 3. writing: templates, headlines that fit, narration sized to a scene ----------------------


SLOT_GROUPS = {"name": ("name", "the_name"), "audience": ("audience",), "season": ("season", "season_adj")}


class _Slots:
    """The brief's values that templates may name; a template naming an empty one is skipped.

    It also remembers what the voice said: the audience and the season are named once, and neither
    the product's name nor a line's opening words come back in the very next scene.
    """

    def __init__(self, material: _Material, plan: list[tuple[_Beat, ...]]) -> None:
        cta = material.cta.rstrip(".!? ")
        self.values = {
            "name": material.name,
            "the_name": material.the_name,
            "audience": material.audience,
            "season": material.season,
            "season_adj": material.season_adj,
            "cta": cta,
            "cta_lc": _lower_first(cta),
        }
        # Where the audience or the season has a scene of its own, hooks and end cards leave it out.
        self.own_scene = {beat.kind for beats in plan for beat in beats} & {"audience", "season"}
        self.spent: set[str] = set()
        self.quiet: set[str] = set()  # slot groups not to say in this scene
        self.stale_opening = ""

    def heard(self, narration: str) -> None:
        """Remember a scene's narration before the next one is written."""
        lowered = narration.lower()
        self.spent |= {
            group for group in ("audience", "season") if self.values[group] and self.values[group].lower() in lowered
        }
        name_again = bool(self.values["name"]) and self.values["name"] in narration
        self.quiet = self.spent | ({"name"} if name_again else set())
        self.stale_opening = _opening(narration)

    def fill(self, templates: Iterable[str], *, beat: str = "", **extra: str) -> list[str]:
        """The templates that can be filled, filled; `beat` names the beat whose own slot may be said."""
        values = dict(self.values, **extra)
        for group in (self.own_scene | self.quiet) - {beat}:
            values.update(dict.fromkeys(SLOT_GROUPS[group], ""))
        filled = []
        for template in templates:
            names = re.findall(r"\{(\w+)\}", template)
            if all(values.get(name) for name in names):
                filled.append(_capitalise(template.format(**{name: values[name] for name in names})))
        fresh = [line for line in filled if _opening(line) != self.stale_opening]
        return fresh or filled

    def pairs(self, templates: Iterable[tuple[str, str]], *, beat: str = "") -> list[tuple[str, str]]:
        """(spoken, shown) template pairs where both halves can be filled."""
        filled = [(self.fill([said], beat=beat), self.fill([shown], beat=beat)) for said, shown in templates]
        return [(said[0], shown[0]) for said, shown in filled if said and shown]


class _Deck:
    """Lines handed out in a seeded order, each at most once per storyboard unless cycled."""

    def __init__(self, rng: random.Random, lines: Iterable[Any]) -> None:
        self.lines = list(lines)
        rng.shuffle(self.lines)

    def peek(self, budget: int) -> str:
        """The line take() would hand out: the longest that fits, or ""."""
        return max((line for line in self.lines if _word_count(line) <= budget), key=_word_count, default="")

    def take(self, budget: int) -> str:
        line = self.peek(budget)
        if line:
            self.lines.remove(line)
        return line

    def cycle(self) -> Any:
        line = self.lines.pop(0)
        self.lines.append(line)
        return line


def _word_count(text: str) -> int:
    return sum(1 for token in text.split() if re.search(r"[A-Za-z0-9]", token))


def _opening(text: str) -> str:
    """The first two words, to tell "Look at this: 750 ml" from "Look at this: steel"."""
    return " ".join(text.lower().split()[:2])


def _capitalise(text: str) -> str:
    first = text.split(" ", 1)[0]
    if first[1:] != first[1:].lower():  # "iPhone", "eBay": a name's own casing wins
        return text
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    # Acronyms, "I" and names in mixed case ("AI", "iPhone", "AuroraGo") stay as written.
    if first == "I" or len(first) > 1 and (first.isupper() or first[1:] != first[1:].lower()):
        return text
    return text[:1].lower() + text[1:]


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _bare(word: str) -> str:
    return word.lower().strip(",:;.!?\"'“”()")


def _cut_points(words: Sequence[str]) -> list[int]:
    """Where a phrase may end early and still read whole: before a word that opens a modifier
    ("A soft tabby cat plush | with amber eyes") and after a comma or a full stop."""
    return [
        index for index in range(1, len(words))
        if _bare(words[index]) in PHRASE_BREAKS or words[index - 1].endswith((",", ";", "."))
    ]


def _starts(words: Sequence[str]) -> list[int]:
    """Where a phrase may begin: the start, after a modifier's opening word ("with | a 1 cm crema"), after
    a comma or a full stop, and after a clause's leading verb ("keeps | drinks cold for 24 hours")."""
    starts = {0} | {index + 1 for index in _cut_points(words) if index + 1 < len(words)}
    starts |= {index for index in range(1, len(words)) if words[index - 1].endswith((",", "."))}
    if len(words) > 1 and _bare(words[0]) in FINITE_VERBS:
        starts.add(1)
    # Not inside a range: "1 to 144 scale", "5 to 10 minutes".
    ranges = {
        index + 1 for index in range(1, len(words) - 1)
        if NUMBER.search(words[index - 1]) and NUMBER.search(words[index + 1])
    }
    return sorted(start for start in starts - ranges if _bare(words[start]) not in PHRASE_BREAKS | {"and", "or"})


def _ends_whole(words: Sequence[str]) -> bool:
    """Whether words cut from a longer phrase still end like one: not on "of", "the", a bare number
    ("A detailed 1") or a participle that wants what followed it ("Made", "Shown worn")."""
    last = _bare(words[-1]) if words else ""
    return bool(last) and not (
        last in DANGLING or last in NEEDS_COMPLEMENT or NUMBER_ONLY.fullmatch(last) or PARTICIPLE.search(last)
    )


def _reads_as_headline(text: str) -> bool:
    """A description fragment that reads as a headline: a noun phrase, a benefit or an instruction, not
    a caption of the photo ("Shown worn by an astronaut") and not a phrase left hanging."""
    words = text.split()
    if not words or PHOTO_CAPTION.match(text):
        return False
    first, last = _bare(words[0]), _bare(words[-1])
    if first in NEEDS_COMPLEMENT and len(words) > 1 and _bare(words[1]) in NEEDS_COMPLEMENT:
        return False  # two participles in a row: "Shown worn", "Seen used"
    return last not in DANGLING


def _shorten(text: str, max_words: int) -> str:
    """The longest whole phrase of `text` that starts where it does and has at most max_words words;
    "" when none does. Never a phrase cut mid-way: "A museum-quality print", never "… on heavy matte"."""
    words = text.split()
    if _word_count(text) <= max_words:
        return text
    for end in reversed(_cut_points(words)):
        kept = words[:end]
        # One word left of a phrase ("Comes", "Ready") says nothing of it.
        if 2 <= _word_count(" ".join(kept)) <= max_words and _ends_whole(kept):
            return " ".join(kept).rstrip(",:;—–-&+ ")
    return ""


def _compact(text: str, max_words: int) -> str:
    """At most max_words words as one whole phrase, keeping a number if there is one: "drinks cold for
    24 hours", "A detailed 1:144 scale model"; "" when no whole phrase is that short.

    Among the phrases around the last number, one that ends where the text ends reads best ("serum
    with 15% vitamin C"), then the longest.
    """
    words = text.split()
    if _word_count(text) <= max_words:
        return text
    numbered = [index for index, word in enumerate(words) if NUMBER.search(word)]
    if numbered:
        number = numbered[-1]
        ends = [end for end in [*_cut_points(words), len(words)] if end > number]
        runs = [
            (end == len(words), end - start, start, end)
            for start in _starts(words) if start <= number
            for end in ends
            if _word_count(" ".join(words[start:end])) <= max_words
            and (end == len(words) or _ends_whole(words[start:end]))
        ]
        if runs:
            *_, start, end = max(runs)
            return " ".join(words[start:end]).rstrip(",:;")
    return _shorten(text, max_words)


def _shortest_phrase(text: str) -> str:
    """The shortest whole phrase `text` opens with: what a narration too long for its scene falls back to."""
    words = text.split()
    return next(
        (" ".join(words[:end]).rstrip(",:;") for end in _cut_points(words) if _ends_whole(words[:end])), text
    )


def _headline(
    options: Sequence[str], *, max_words: int = 99, rng: random.Random | None = None, fallback: str = ""
) -> str:
    """The first option (or, given rng, any option) that fits HEADLINE_MAX_CHARS and max_words.

    When none fits: the fallback, else the longest whole phrase an option opens with. Never empty, and
    never a phrase cut mid-way.
    """
    fitting = [o for o in options if o and len(o) <= HEADLINE_MAX_CHARS and _word_count(o) <= max_words]
    if fitting:
        return rng.choice(fitting) if rng else fitting[0]
    if fallback:
        return fallback
    for option in options:
        for budget in range(min(max_words, _word_count(option)), 0, -1):
            shorter = _shorten(option, budget)
            if shorter and len(shorter) <= HEADLINE_MAX_CHARS:
                return shorter
    return "New"  # only an option with no whole phrase short enough gets here


def _compose(
    rng: random.Random,
    cores: Sequence[str],
    budget: int,
    *,
    short: str,
    follow_ups: Sequence[str] = (),
    lead_ins: Sequence[str] = (),
    asides: _Deck | None = None,
) -> str:
    """The fullest narration within a word budget; among the fullest, the seed decides.

    One core line, as many follow-ups as fit in their order (they carry facts, so they outrank
    sheer length), at most one lead-in before the core and one aside from the deck to top it up.
    A long scene with little to say keeps its silence rather than stack up filler.
    When no core fits, `short` (the scene's headline, say) is cut to the budget around its number;
    without a number it is said whole if that overruns by a word or two (speech is squeezed a
    little) rather than cut mid-phrase.
    """
    options = []
    for core in cores:
        for lead in ("", *lead_ins):
            for count in range(len(follow_ups) + 1):
                parts = [lead, core, *follow_ups[:count]]
                words = sum(_word_count(part) for part in parts)
                if words > budget:
                    break
                top_up = asides.peek(budget - words) if asides else ""
                options.append((count, words + _word_count(top_up), parts))
    if not options:
        short = short.rstrip(".!?")
        if NUMBER.search(short) or _word_count(short) > budget + SQUEEZABLE_WORDS:
            short = _compact(short, budget) or _shortest_phrase(short)
        return _capitalise(short.rstrip(",:;.!?")) + "."
    most = max(count for count, _, _ in options)
    fullest = max(words for count, words, _ in options if count == most)
    _, _, parts = rng.choice([o for o in options if o[0] == most and o[1] >= fullest - 1])
    used = sum(_word_count(part) for part in parts)
    aside = asides.take(budget - used) if asides else ""
    said = " ".join(part for part in [*parts, aside] if part)
    return re.sub(r"([.?!] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), said)


def _words_for(duration_s: float) -> int:
    return max(MIN_SPOKEN_WORDS, int(duration_s * WORDS_PER_SECOND))


def _share(budget: int, beats: Sequence[_Beat]) -> list[tuple[_Beat, int]]:
    """A scene's word budget split over its beats; the hook and facts carry more than the rest.

    A short scene holding many beats (a one-scene video) drops facts from the end until each beat
    has room for a phrase; the hook and the call to action always stay.
    """
    beats = list(beats)
    while len(beats) > 2 and budget < MIN_BEAT_WORDS * len(beats) and any(beat.kind == "facts" for beat in beats):
        beats.pop(max(index for index, beat in enumerate(beats) if beat.kind == "facts"))
    weights = [1.0 if beat.kind in ("hook", "facts") else 0.7 for beat in beats]
    return [(beat, max(MIN_SPOKEN_WORDS, int(budget * weight / sum(weights)))) for beat, weight in zip(beats, weights)]


def _primary(beats: Sequence[_Beat]) -> _Beat:
    """The beat a scene is about: its call to action, else its first beat."""
    return beats[-1] if beats[-1].kind == "cta" else beats[0]


FACT_SHOTS = {"action": "feature", "sentence": "feature", "thing": "closeup", "quality": "feature"}


def _shots(plan: list[tuple[_Beat, ...]], rng: random.Random) -> list[str]:
    """A shot per scene from what it shows; no two neighbouring middle scenes share one."""
    rotation = _Deck(rng, ("closeup", "lifestyle", "feature"))
    shots = []
    for beats in plan:
        beat = _primary(beats)
        if beat.kind in ("hook", "cta"):
            shots.append("hero" if beat.kind == "hook" else "cta")
        elif beat.kind == "facts":
            shots.append(FACT_SHOTS[beat.facts[0].kind])
        elif beat.kind in ("audience", "season"):
            shots.append("lifestyle")
        else:
            shots.append(rotation.cycle())
    for index in range(1, len(shots) - 1):
        if shots[index] == shots[index - 1]:
            neighbours = (shots[index - 1], shots[index + 1])
            shots[index] = next(shot for shot in ("lifestyle", "closeup", "feature") if shot not in neighbours)
    return shots


def _short_form(headline: str, name: str) -> str:
    """A shorter whole phrase for a layout that cannot fit the headline: the name a hook introduces
    ("Say hello to the Aurora water bottle" -> "Aurora water bottle"), else the longest whole phrase the
    headline opens with ("Keeps drinks cold for 24 hours" -> "Keeps drinks cold"); "" when none."""
    count = _word_count(headline)
    if count < 4:  # three words fit wherever a headline goes
        return ""
    if name and headline.rstrip(".!?").endswith(name) and _word_count(name) < count:
        return _capitalise(name)
    shorter = _shorten(headline, count - 1)
    return shorter if shorter and _reads_as_headline(shorter) else ""


def _fact_headlines(beat: _Beat, max_words: int) -> list[str]:
    """Headline options for a beat's first facts: "Cold for 24 hours", "Light. Made to last."."""
    kind, texts = _runs(beat.facts)[0]
    if kind == "thing":
        options = [", ".join(texts), _compact(texts[0], max_words)]
    elif kind == "quality":
        short = [text for text in (_compact(text, max_words) for text in texts[:2]) if text]
        if len(short) == 2:
            first, second = (_capitalise(text) for text in short)
            options = [f"{first}. {second}.", f"{first} and {short[1]}", first]
        else:  # one word is too thin for a card of its own
            options = [f"Seriously {text}" if _word_count(text) == 1 else text for text in short]
    else:
        options = [_compact(texts[0].removeprefix("stays "), max_words)]
    # Only fragments that read as a headline: no photo caption ("Shown worn"), nothing left hanging.
    return [_capitalise(option) for option in options if option and _reads_as_headline(option)]


def _phrase(kind: str, texts: list[str]) -> str:
    """Facts of one kind as one phrase: "light and made to last", "insulated steel bottle, 750 ml"."""
    return ", ".join(texts) if kind == "thing" else _join(texts)


# ---- 4. the modes: cards for stills and cuts, voices for narrated video --------------------------


@dataclass(frozen=True)
class _Cards:
    """On-screen copy of a mode without a voice: what its hook, generic and season cards may say."""

    max_words: int
    hooks: tuple[str, ...]
    launch_hooks: tuple[str, ...]
    season: tuple[str, ...]
    generic: tuple[str, ...]
    fallback_hook: str = "Meet your new favorite"


STILLS = _Cards(
    max_words=BUNDLE_HEADLINE_MAX_WORDS,
    hooks=("Meet {the_name}", "Say hello to {the_name}", "Your {season_adj} essential", "{name}, made for {audience}"),
    launch_hooks=("Introducing {the_name}", "New: {name}"),
    season=("Ready for {season}", "Your {season_adj} essential"),
    generic=("Every detail, considered", "Made for every day", "Built for real life", "Designed with care"),
)
CUTS = _Cards(
    max_words=CUT_HEADLINE_MAX_WORDS,
    hooks=("Meet {the_name}", "Calling all {audience}", "{season}, sorted", "Your {season_adj} upgrade"),
    launch_hooks=("Introducing {the_name}", "Just launched"),
    season=("Ready for {season}", "Your {season_adj} essential"),
    generic=(
        "Every detail, considered", "Made for every day", "Look closer", "Built for real life", "See the difference"
    ),
)


def _cards(material: _Material, plan: list[tuple[_Beat, ...]], rng: random.Random, style: _Cards) -> list[str]:
    """A headline per scene for a mode without a voice; the CTA card carries the product's name."""
    slots = _Slots(material, plan)
    generic = _Deck(rng, style.generic)
    headlines = []
    for beats in plan:
        beat = _primary(beats)
        if beat.kind == "hook":
            hooks = [*(style.launch_hooks if material.launch else ()), *style.hooks]
            options = slots.fill(hooks)
            if material.tone == "playful":
                options = [f"{option}!" for option in options]
            headline = _headline(options, max_words=style.max_words, rng=rng, fallback=style.fallback_hook)
        elif beat.kind == "facts":
            options = _fact_headlines(beat, style.max_words)
            headline = _headline(options, max_words=style.max_words) if options else generic.cycle()
        elif beat.kind == "audience":
            headline = _headline([f"Made for {material.audience}", "Made for you"], max_words=style.max_words)
        elif beat.kind == "season":
            headline = _headline(slots.fill(style.season, beat="season"), max_words=style.max_words, rng=rng)
        elif beat.kind == "generic":
            headline = generic.cycle()
        else:
            headline = _headline([_capitalise(material.name)], max_words=style.max_words, fallback=END_CARD_FALLBACK)
        headlines.append(headline)
    return headlines


@dataclass(frozen=True)
class _Voice:
    """A narrated mode's templates. The explainer and the creator share the machinery, not the words.

    Pairs are (spoken, shown). In fact frames "{x}" is the fact, and "leading" frames (which rank
    it: "The big one?") join the action frames for the storyboard's first fact only; follow-ups
    carry a scene's later facts.
    """

    hooks: tuple[tuple[str, str], ...]
    launch_hooks: tuple[tuple[str, str], ...]
    tone_hooks: dict[str, tuple[tuple[str, str], ...]]
    nameless_hooks: tuple[tuple[str, str], ...]  # only when no other hook can be filled
    invitations: tuple[str, ...]
    frames: dict[str, tuple[str, ...]]
    follow_ups: dict[str, str]
    asides: dict[str, tuple[str, ...]]  # top-ups that suit what they follow: a benefit, a detail, people
    audience: tuple[tuple[str, str], ...]
    season: tuple[tuple[str, str], ...]
    generic: tuple[tuple[str, str], ...]
    ctas: tuple[str, ...]
    sign_offs: tuple[str, ...]
    caption_words: int
    surprised_captions: bool  # a creator captions a benefit "Keeps drinks cold for 24 hours?!"


EXPLAINER = _Voice(
    hooks=(
        ("{audience}, meet {the_name}.", "Meet {the_name}"),
        ("Getting ready for {season}? Meet {the_name}.", "Meet {the_name}"),
        ("{season} just got better. Meet {the_name}.", "Meet {the_name}"),
        ("Meet {the_name}, made for {audience}.", "Meet {the_name}"),
        ("Meet {the_name}.", "Meet {the_name}"),
    ),
    launch_hooks=(
        ("Introducing {the_name}.", "Introducing {the_name}"),
        ("Introducing {the_name}, made for {audience}.", "Introducing {the_name}"),
        ("Introducing {the_name}, just in time for {season}.", "Introducing {the_name}"),
    ),
    tone_hooks={
        "premium": (
            ("Some things are simply made better. Meet {the_name}.", "Meet {the_name}"),
            ("Quietly brilliant. Meet {the_name}.", "Quietly brilliant"),
        ),
        "playful": (
            ("Say hello to {the_name}!", "Say hello to {the_name}"),
            ("Ready for something fun? Meet {the_name}!", "Meet {the_name}"),
        ),
    },
    nameless_hooks=(("Meet your new favorite.", "Meet your new favorite"),),
    invitations=("Let's take a closer look.", "Here's what makes it different.", "Here's why it matters."),
    frames={
        "action": ("It {x}.", "{the_name} {x}.", "Simply put, it {x}.", "And here's the thing: it {x}."),
        "leading": ("Here's the best part: it {x}.", "The big one? It {x}.", "First things first: it {x}."),
        "quality": ("It's {x}.", "On top of that, it's {x}.", "Plus, it's {x}.", "And it's {x}."),
        "thing": ("{x}.", "The basics: {x}.", "Here's what you're getting: {x}.", "The details: {x}."),
        "sentence": ("{x}.", "Here's the thing: {x}."),
        "stressed": ("Let's start with {x}.", "First up: {x}."),
    },
    follow_ups={"action": "It also {x}.", "quality": "And it's {x}.", "thing": "{x}.", "sentence": "{x}."},
    asides={
        "benefit": ("You'll notice it right away.", "That's a difference you'll feel every day.", "Simple as that."),
        "detail": ("Exactly what you need, and nothing you don't.", "No compromises.", "Built with care."),
        "people": ("Made to keep up with you.", "It fits the way you live."),
    },
    audience=(
        ("It's made for {audience}.", "Made for {audience}"),
        ("It's made for {audience}, wherever the day takes them.", "Made for {audience}"),
        ("Designed with {audience} in mind.", "Designed for {audience}"),
        ("{audience}, this one's for you.", "Made for {audience}"),
    ),
    season=(
        ("Just in time for {season}.", "Just in time for {season}"),
        ("{season} is better with {the_name}.", "{season}, upgraded"),
        ("It's your {season_adj} essential.", "Your {season_adj} essential"),
    ),
    generic=(
        ("Designed with care, down to the last detail.", "Every detail, considered"),
        ("It fits right into your day.", "Fits right into your day"),
        ("Made to be used and loved, every single day.", "Made for every day"),
        ("Easy to love from day one, and every day after.", "Easy to love"),
        ("Thoughtful design you'll notice every single day.", "Thoughtful by design"),
        ("The kind of thing you reach for again and again.", "You'll reach for it again"),
    ),
    ctas=(
        "{cta}.",
        "Ready for {season}? {cta}.",
        "Try it for yourself. {cta}.",
        "{audience}, {cta_lc}.",
        "Don't wait. {cta}.",
    ),
    sign_offs=("That's {the_name}.", "{the_name}, made for {audience}.", "You've seen what it can do."),
    caption_words=BUNDLE_HEADLINE_MAX_WORDS,
    surprised_captions=False,
)
CREATOR = _Voice(
    hooks=(
        ("Okay so I've been using {the_name}, and honestly? I'm obsessed.", "Honestly? Obsessed"),
        ("Okay so I've been using {the_name}, and honestly?", "My honest review"),
        ("Okay so, {the_name}. Honestly? I didn't expect to love it this much.", "Didn't expect this"),
        ("Can we talk about {the_name} for a second?", "Can we talk about this?"),
        ("{audience}, you need to hear about {the_name}.", "{audience}, listen up"),
        ("Okay so, my new {season_adj} must-have? {the_name}.", "My {season_adj} must-have"),
        ("Okay so, {the_name}.", "My new favourite"),
    ),
    launch_hooks=(),
    tone_hooks={},
    nameless_hooks=(
        ("Okay so, I need to talk about this.", "We need to talk about this"),
        ("Okay so. This.", "This. Just this."),
        ("Honestly? Obsessed.", "Obsessed, honestly"),
    ),
    invitations=("Let me show you.", "Hear me out.", "Here's why."),
    frames={
        "action": (
            "It {x}.", "So it {x}.", "Okay, and it {x}.", "So it {x}, which is kind of wild.", "And it {x}? Yes please."
        ),
        "leading": ("Okay, first of all, it {x}.", "The main thing? It {x}."),
        "quality": ("It's {x}.", "Also? It's {x}.", "It's {x}, which I love."),
        "thing": ("{x}.", "Quick look: {x}.", "Look at this: {x}."),
        "sentence": ("{x}.", "Honestly? {x}."),
        "stressed": ("Okay, first: {x}.", "First things first: {x}."),
    },
    follow_ups={"action": "And it {x}.", "quality": "Also, it's {x}.", "thing": "Plus, {x}.", "sentence": "{x}."},
    asides={
        "benefit": ("Like, actually.", "I'm not even kidding.", "Kind of a game changer."),
        "detail": ("Ten out of ten.", "No notes.", "It's the details for me."),
        "people": ("Just saying.", "Seriously."),
    },
    audience=(
        ("Low-key perfect for {audience}.", "Perfect for {audience}"),
        ("{audience}? This one's for you.", "For {audience}"),
    ),
    season=(
        ("It's basically my {season_adj} essential now.", "{season_adj} essential"),
        ("Like, {season}? Sorted.", "{season}, sorted"),
    ),
    generic=(
        ("I use it literally every day.", "Every. Single. Day."),
        ("It just fits into my day.", "Fits right in"),
        ("Honestly, it's the little things.", "The little things"),
        ("I keep reaching for it.", "Always reaching for it"),
        ("It looks even better in person.", "Even better in person"),
    ),
    ctas=(
        "Anyway, {cta_lc}. You can thank me later.",
        "So yeah, {cta_lc}. Trust me.",
        "Seriously, {cta_lc}.",
        "{cta}. You're welcome.",
        "{cta}.",
    ),
    sign_offs=("If you've been on the fence, this is your sign.", "Totally worth it."),
    caption_words=CUT_HEADLINE_MAX_WORDS,
    surprised_captions=True,
)


def _narrated(
    material: _Material, plan: list[tuple[_Beat, ...]], durations: list[float], rng: random.Random, voice: _Voice
) -> list[tuple[str, str]]:
    """(headline, narration) per scene: every line sized to its scene, the CTA spoken last."""
    slots = _Slots(material, plan)
    asides = {fits: _Deck(rng, lines) for fits, lines in voice.asides.items()}
    generic = _Deck(rng, voice.generic)
    written: list[tuple[str, str]] = []
    for beats, duration in zip(plan, durations):
        lines, headline = [], ""
        for beat, budget in _share(_words_for(duration), beats):
            said, shown = _narrated_beat(beat, budget, material, slots, voice, rng, asides, generic)
            lines.append(said)
            headline = shown if beat is _primary(beats) else headline
        narration = " ".join(line for line in lines if line)
        slots.heard(narration)
        written.append((headline, narration))
    return written


def _spoken_units(text: str) -> str:
    """ "750 ml" as a voice should say it: "750 milliliters" (and "1 liter", not "1 liters")."""

    def spell(match: re.Match[str]) -> str:
        number, unit = match.group(1), SPOKEN_UNITS.get((match.group(2) or match.group(3)).lower())
        if unit is None:
            return match.group(0)
        return f"{number} {unit.removesuffix('s') if number == '1' else unit}"

    text = re.sub(r"\b(\d+):(\d+)(?= scale\b)", r"\1 to \2", text)  # "1:144 scale" is said "1 to 144 scale"
    # Seconds only when spaced: "30 s" is a time, "90s" a decade.
    return re.sub(r"\b(\d+(?:[.,]\d+)?)(?:\s?([a-z]{2,}|[lghw])|\s(s))\b", spell, text, flags=re.IGNORECASE)


def _narrated_beat(
    beat: _Beat,
    budget: int,
    material: _Material,
    slots: _Slots,
    voice: _Voice,
    rng: random.Random,
    asides: dict[str, _Deck],
    generic: _Deck,
) -> tuple[str, str]:
    """(narration, headline) for one beat within its word budget."""
    if beat.kind == "hook":
        launch_hooks = voice.launch_hooks if material.launch else ()
        hooks = [*launch_hooks, *voice.hooks, *voice.tone_hooks.get(material.tone, ())]
        pairs = slots.pairs(hooks) or slots.pairs(voice.nameless_hooks)
        cores = [said for said, _ in pairs]
        short = material.name or pairs[0][1]
        said = _compose(rng, cores, budget, short=short, asides=_Deck(rng, voice.invitations))
        return said, _headline([_shown(pairs, said)], fallback=voice.nameless_hooks[0][1])
    if beat.kind == "cta":
        end_card = _headline([_capitalise(material.name)], max_words=voice.caption_words, fallback=END_CARD_FALLBACK)
        plain = _capitalise(material.cta.rstrip(".!? ")) + "."
        if _word_count(plain) >= budget:
            return plain, end_card  # the customer's words are never cut
        said = _compose(rng, slots.fill(voice.ctas), budget, short=plain, lead_ins=slots.fill(voice.sign_offs))
        return said, end_card
    if beat.kind == "facts":
        (kind, texts), *later = _runs(beat.facts)
        frames = voice.frames["stressed" if kind == "thing" and beat.facts[0].stressed else kind]
        if kind == "action" and beat.leads:
            frames = (*frames, *voice.frames["leading"])
        spoken = _spoken_units(_phrase(kind, texts))
        cores = slots.fill(frames, x=spoken)
        follow_ups = [slots.fill([voice.follow_ups[k]], x=_spoken_units(_phrase(k, t)))[0] for k, t in later]
        options = _fact_headlines(beat, voice.caption_words)
        if voice.surprised_captions and kind == "action":
            options = [f"{option}?!" for option in options]
        options = options or [generic.cycle()[1]]  # no fragment reads as a headline: a general one
        top_ups = asides["benefit" if kind in ("action", "sentence") else "detail"]
        short = spoken.removeprefix("stays ")
        said = _compose(rng, cores, budget, short=short, follow_ups=follow_ups, asides=top_ups)
        return said, _headline(options, max_words=voice.caption_words)
    if beat.kind == "generic":
        pairs = [generic.cycle()]
        # A scene with nothing to add about the product at least says its name.
        lead_ins = slots.fill(["{the_name}."])
        said = _compose(rng, [pairs[0][0]], budget, short=pairs[0][1], lead_ins=lead_ins, asides=asides["people"])
    else:
        pairs = slots.pairs(voice.audience if beat.kind == "audience" else voice.season, beat=beat.kind)
        said = _compose(rng, [said for said, _ in pairs], budget, short=pairs[0][1], asides=asides["people"])
    return said, _headline([_shown(pairs, said)], max_words=voice.caption_words)


def _shown(pairs: list[tuple[str, str]], said: str) -> str:
    """The on-screen half of the pair whose spoken half was said."""
    return next((shown for spoken, shown in pairs if spoken.rstrip(".?!") in said), pairs[0][1])


# ---- 5. the provider ---------------------------------------------------------------------------

MODE_LABELS = {
    "image_bundle": "image concepts", "fast_paced": "fast cut", "script_to_video": "explainer", "ugc": "creator video"
}
VOICE_STYLES = {"image_bundle": "none", "fast_paced": "energetic", "script_to_video": "explainer", "ugc": "casual"}
# Stills suggest a move to anyone who animates them; an explainer moves calmly; cuts never repeat a move.
CALM_MOTIONS = {
    "hero": "zoom_in", "closeup": "zoom_in", "lifestyle": "pan_right", "feature": "parallax", "cta": "zoom_out",
    "testimonial": "handheld",
}
CUT_MOTIONS = ("zoom_in", "pan_left", "parallax", "pan_right")


class TemplateCopywriter(TextProvider):
    """Writes storyboards from templates: always ready, deterministic for a seed."""

    name = "local.copywriter"

    def check(self) -> Readiness:
        return Readiness(True, "template copywriter: no model, no network; writes English copy")

    def storyboard(self, brief: Brief, *, seed: int) -> Storyboard:
        # 1. read the brief and plan the beats of each scene
        if brief.mode not in MODES:
            raise AdapterError(f"unknown mode {brief.mode!r}; expected one of {', '.join(MODES)}", permanent=True)
        if brief.scene_count < 1 or brief.duration_s <= 0:
            raise AdapterError(
                f"a storyboard needs scenes and time, got {brief.scene_count} scenes in {brief.duration_s} s",
                permanent=True,
            )
        rng = random.Random(seed)
        material = _read_brief(brief)
        ends_on_cta = brief.mode != "image_bundle" or brief.scene_count > 1
        plan = _plan(material, brief.scene_count, ends_on_cta=ends_on_cta)
        # 2. pace the scenes
        durations = scene_durations(brief.duration_s, self._pacing(brief.mode, brief.scene_count, rng))
        # 3. write the words
        if brief.mode in ("image_bundle", "fast_paced"):
            style = STILLS if brief.mode == "image_bundle" else CUTS
            written = [(headline, "") for headline in _cards(material, plan, rng, style)]
        else:
            voice = EXPLAINER if brief.mode == "script_to_video" else CREATOR
            written = _narrated(material, plan, durations, rng, voice)
        # 4. frame and move the camera
        shots = self._shots(brief.mode, plan, rng)
        motions = self._motions(brief.mode, shots, rng)
        scenes = tuple(
            Scene(number=number, shot=shot, headline=headline, narration=narration, duration_s=duration, motion=motion,
                  headline_short=_short_form(headline, material.name))
            for number, (shot, (headline, narration), duration, motion) in enumerate(
                zip(shots, written, durations, motions), start=1
            )
        )
        label = MODE_LABELS[brief.mode]
        label = f"{material.season_adj} {label}" if material.season_adj else label
        title = _capitalise(f"{material.name}: {label}" if material.name else label)
        return Storyboard(title=title, voice_style=VOICE_STYLES[brief.mode], scenes=scenes)

    @staticmethod
    def _pacing(mode: str, scene_count: int, rng: random.Random) -> list[float]:
        """Relative scene lengths: cuts quicken in the middle and hold the end card; voices open and close briefly."""
        if scene_count == 1 or mode == "image_bundle":
            return [1.0] * scene_count
        if mode == "fast_paced":
            return [1.0, *(rng.choice((0.6, 0.75, 0.9)) for _ in range(scene_count - 2)), 1.25]
        return [0.9, *([1.0] * (scene_count - 2)), 0.8]

    @staticmethod
    def _shots(mode: str, plan: list[tuple[_Beat, ...]], rng: random.Random) -> list[str]:
        shots = _shots(plan, rng)
        if mode != "ugc":
            return shots
        # A creator talks to camera; every third middle scene cuts away to the product in hand.
        last = len(shots) - 1
        return ["cta" if i == last else "closeup" if i % 3 == 2 else "testimonial" for i in range(len(shots))]

    @staticmethod
    def _motions(mode: str, shots: list[str], rng: random.Random) -> list[str]:
        if mode == "ugc":
            return ["handheld"] * len(shots)
        if mode != "fast_paced":
            return [CALM_MOTIONS[shot] for shot in shots]
        moves = list(CUT_MOTIONS)
        rng.shuffle(moves)
        middle = [moves[index % len(moves)] for index in range(len(shots) - 2)]
        return ["zoom_out"] if len(shots) == 1 else ["zoom_in", *middle, "zoom_out"]
