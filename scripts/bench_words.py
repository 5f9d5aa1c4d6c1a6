"""Word similarity on generated pairs: homophones and near spellings, Chinese and Latin,
against unrelated pairs, through the service's own ``text_similarity`` (spelling and
sound) beside its spelling alone (``spelling_similarity``, the rule before sound).

    python -m scripts.bench_words [--pairs 500] [--seed 0]

Prints a table: per kind of pair, the share the search counts as alike (at or above
``MIN_WORDS_SIMILARITY``) and the median similarity. Homophones and near spellings
should be alike, unrelated pairs not. The words are invented (no register's marks).
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import defaultdict
from collections.abc import Callable

from service.search.ranking import MIN_WORDS_SIMILARITY
from service.search.text_match import spelling_similarity, text_similarity

# characters common in Chinese marks (names of firms, products, places)
HANZI = ("华为乐百氏佰事达康美嘉利宝安泰和兴隆盛发福祥瑞金银鑫源鼎恒信诚德天地海洋山"
         "川江河星光明月阳春秋冬夏东南西北中国民生万家千百一品佳优良真正心意新时代"
         "云风雷电龙凤鹤虎狮熊猫鹿马牛羊鸡鸭鱼花草木林森竹梅兰菊桃李杏果茶酒香味"
         "美丽雅致通达捷顺丰速运航科技网络数码智能电子汽车食品饮料服装鞋业医药健"
         "力王皇帝圣贤仁义礼智博学文化艺术体育运动快乐幸福平安吉祥如意红黄蓝绿紫"
         "黑白青橙彩虹宏鸿洪红弘泓伟维威薇微玮炜蔚卫为未位味魏")
CONSONANTS, VOWELS = "bdfgklmnprstvz", "aeiou"
# spellings that sound alike
SOUND_SWAPS = (("c", "k"), ("k", "c"), ("ph", "f"), ("f", "ph"), ("s", "z"), ("i", "y"),
               ("qu", "kw"), ("x", "ks"), ("ck", "k"), ("ee", "ea"))


def _pinyin_groups() -> dict[str, list[str]]:
    from pypinyin import Style, lazy_pinyin

    groups: dict[str, list[str]] = defaultdict(list)
    for char in dict.fromkeys(HANZI):
        groups[lazy_pinyin(char, style=Style.NORMAL)[0]].append(char)
    return groups


def _latin_word(rng: random.Random) -> str:
    syllables = rng.randint(2, 3)
    word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))
    if rng.random() < 0.5:
        word += rng.choice("cksxn")
    return rng.choice(["", "qu", "ph", "c"]) + word


def _sound_alike(word: str, rng: random.Random) -> str | None:
    swaps = [(a, b) for a, b in SOUND_SWAPS if a in word]
    if not swaps:
        return None
    a, b = rng.choice(swaps)
    return word.replace(a, b, 1)


def _one_letter_changed(word: str, rng: random.Random, alphabet: str) -> str:
    at = rng.randrange(len(word))
    other = rng.choice([c for c in alphabet if c != word[at]])
    return word[:at] + other + word[at + 1:]


def make_pairs(n: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(seed)
    groups = _pinyin_groups()
    homophones = {c: [o for o in groups[p] if o != c] for p, cs in groups.items() for c in cs}
    chars = list(dict.fromkeys(HANZI))
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    while min(len(pairs[k]) for k in ("zh homophone", "zh near spelling", "zh unrelated")) < n:
        word = "".join(rng.choice(chars) for _ in range(rng.randint(2, 4)))
        at = rng.randrange(len(word))
        if homophones[word[at]]:
            pairs["zh homophone"].append(
                (word, word[:at] + rng.choice(homophones[word[at]]) + word[at + 1:]))
        pairs["zh near spelling"].append((word, _one_letter_changed(word, rng, "".join(chars))))
        other = "".join(rng.choice(chars) for _ in range(rng.randint(2, 4)))
        pairs["zh unrelated"].append((word, other))
    while min(len(pairs[k]) for k in ("en sound-alike", "en near spelling", "en unrelated")) < n:
        word = _latin_word(rng)
        alike = _sound_alike(word, rng)
        if alike is not None:
            pairs["en sound-alike"].append((word, alike))
        pairs["en near spelling"].append((word, _one_letter_changed(word, rng, CONSONANTS)))
        pairs["en unrelated"].append((word, _latin_word(rng)))
    return {kind: found[:n] for kind, found in pairs.items()}


def measure(pairs: list[tuple[str, str]], similarity: Callable[[str, str], float]
            ) -> tuple[float, float]:
    scores = [similarity(a, b) for a, b in pairs]
    return (sum(s >= MIN_WORDS_SIMILARITY for s in scores) / len(scores),
            statistics.median(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"| pairs ({args.pairs} each) | alike, spelling alone | alike, spelling and sound "
          "| median, spelling alone | median, spelling and sound |")
    print("|---|---:|---:|---:|---:|")
    for kind, pairs in make_pairs(args.pairs, args.seed).items():
        old_share, old_median = measure(pairs, spelling_similarity)
        new_share, new_median = measure(pairs, text_similarity)
        print(f"| {kind} | {old_share:.1%} | {new_share:.1%} | {old_median:.3f} | "
              f"{new_median:.3f} |")


if __name__ == "__main__":
    main()
