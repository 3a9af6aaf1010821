"""Checked claims: every comparison an answer makes, with the rule that makes it true.

An answer (``genlab/course/answers/<problem>.md``) is Markdown written by someone who looked at
the figures. It cites numbers by name (``{{ n("4.3/bs128_ep300", "test_loss") }}``) and puts a
check beside every sentence that compares or ranks (``{{ lower("test_loss", A, B) }}``). A
check renders nothing; it records a ``Check``, claimed in the words of the answer's sentence
it stands in, and, when rendering is strict (every page and test), a claim that does not hold
on the current numbers raises ``ClaimFailed`` naming the claim and its numbers. No sentence is
ever reworded by code.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.course.report import capitalize
from genlab.course.report.stats import statistic, threshold
from genlab.course.report.values import Numbers, Spread, setting_label

MIN_SEEDS = 3
RULE = (
    f"two settings differ when the ranges of a statistic over their seeds (at least "
    f"{MIN_SEEDS} each) do not overlap; otherwise they are indistinguishable at that many "
    "seeds. A threshold word holds when every seed lies on its side. The rule is strict "
    "but not proof: two settings that do not differ at all still give ranges apart 1 time "
    "in 10 with 3 seeds each (2 of the 20 equally likely ways to split 6 runs into two "
    "groups of 3), 1 in 35 with 4 and 1 in 126 with 5, so among many checks a few such "
    "false separations are to be expected (about 2 in 20 at 3 seeds each). A statement "
    'about one seed says "seed 1".'
)


# a check leaves MARK<index>MARK where it stands, so that render can claim it in the words of
# its sentence; a sentence ends at ".", "!" or "?" (and a closing "**") before a space
MARK = "\x00"
MARKED = re.compile(f"{MARK}(\\d+){MARK}")
SENTENCE = re.compile(r"(?<=[.!?])(?:\*\*)?\s+")


class ClaimFailed(AssertionError):
    """A checked claim of an answer does not hold on the numbers it was rendered with."""


@dataclass(frozen=True)
class Check:
    claim: str  # the claim in words, with its settings' names
    holds: bool
    numbers: str  # the numbers it was decided on
    decided: bool = True  # False: the ranges overlap, or too few seeds, so neither way holds


class Checker:
    """The checks an answer template calls, over ``numbers``; each records a ``Check``. With
    ``strict``, the first that fails raises ``ClaimFailed``."""

    def __init__(
        self, numbers: Numbers, strict: bool = True, where: str = "", min_seeds: int = MIN_SEEDS
    ) -> None:
        self.numbers, self.strict, self.where = numbers, strict, where
        self.min_seeds = min_seeds
        self.cited: set[tuple[str, str]] = set()  # (setting, statistic) of every number read
        self.marks = False  # a check renders nothing; with marks, where it stands (``render``)
        self.checks: list[Check] = []

    # numbers, as the answers cite them

    def spread(self, setting: str, stat: str) -> Spread:
        statistic(stat)  # a misspelt name fails naming the declared ones
        self.cited.add((setting, stat))
        found = self.numbers.get(setting, {}).get(stat)
        if found is None:
            raise ClaimFailed(
                f"{self.where}: no {stat!r} for {setting!r} (run missing or not "
                "measured); ./run_all.sh trains and measures it"
            )
        return found

    def n(self, setting: str, stat: str) -> str:
        """ "239.29 [239.10–239.55]": the mean and range of ``stat`` over the seeds."""
        return self.spread(setting, stat).text(statistic(stat).fmt, compact=True)

    def v(self, setting: str, stat: str) -> str:
        """The mean alone, formatted as its statistic says."""
        return statistic(stat).format(self.spread(setting, stat).mean)

    def ratio(self, stat: str, a: str, b: str) -> str:
        return f"{self.spread(a, stat).mean / self.spread(b, stat).mean:.1f}"

    def difference(self, stat: str, a: str, b: str) -> str:
        return statistic(stat).format(abs(self.spread(a, stat).mean - self.spread(b, stat).mean))

    # checks

    def _record(
        self,
        claim: str,
        holds: bool,
        settings: Sequence[str],
        stat: str,
        decided: bool = True,
        stats: Sequence[str] = (),
        says: str = "",
    ) -> str:
        """Record a check; ``says``, when given, is the claim as its author wrote it, in place
        of the one composed from the statistic's and the settings' names."""
        stats = list(stats) or [stat] * len(settings)
        numbers = "; ".join(
            f"{setting_label(s)} {self.spread(s, t).text(statistic(t).fmt)}"
            for s, t in zip(settings, stats, strict=True)
        )
        words = sorted({statistic(t).word for t in stats})
        check = Check(says or claim, holds, f"{' / '.join(words)}: {numbers}", decided or holds)
        self.checks.append(check)
        if self.strict and not holds:
            raise ClaimFailed(f'{self.where}: the claim "{claim}" does not hold: {check.numbers}')
        return f"{MARK}{len(self.checks) - 1}{MARK}" if self.marks else ""

    def _seeded(self, *spreads: Spread) -> bool:
        return all(s.seeds >= self.min_seeds for s in spreads)

    def _apart(self, sa: Spread, sb: Spread) -> bool:
        """Whether two ranges are apart by the rule (enough seeds, no overlap)."""
        return self._seeded(sa, sb) and (sa.hi < sb.lo or sb.hi < sa.lo)

    def lower(self, stat: str, a: str, b: str, stat_b: str = "", says: str = "") -> str:
        """``a``'s range of ``stat`` lies wholly below ``b``'s (of ``stat_b``, when given: a
        claim that compares two statistics, such as reconstructions with samples)."""
        stat_b = stat_b or stat
        sa, sb = self.spread(a, stat), self.spread(b, stat_b)
        claim = f"{setting_label(a)}: lower {statistic(stat).word} than {setting_label(b)}"
        if stat_b != stat:
            claim = (
                f"{setting_label(a)}: lower {statistic(stat).word} than the "
                f"{statistic(stat_b).word} of {setting_label(b)}"
            )
        return self._record(
            claim,
            self._apart(sa, sb) and sa.hi < sb.lo,
            (a, b),
            stat,
            self._apart(sa, sb),
            (stat, stat_b),
            says,
        )

    def higher(self, stat: str, a: str, b: str, says: str = "") -> str:
        sa, sb = self.spread(a, stat), self.spread(b, stat)
        return self._record(
            f"{setting_label(a)}: higher {statistic(stat).word} than {setting_label(b)}",
            self._apart(sa, sb) and sa.lo > sb.hi,
            (a, b),
            stat,
            self._apart(sa, sb),
            says=says,
        )

    def lowest(
        self, stat: str, a: str, among: Sequence[str], highest: bool = False, says: str = ""
    ) -> str:
        """``a`` lower (with ``highest``: higher) than every other setting of ``among``."""
        others = [s for s in among if s != a]
        sa = self.spread(a, stat)
        apart = [self._apart(sa, self.spread(o, stat)) for o in others]
        beyond = [
            sa.lo > self.spread(o, stat).hi if highest else sa.hi < self.spread(o, stat).lo
            for o in others
        ]
        word = "highest" if highest else "lowest"
        return self._record(
            f"{setting_label(a)}: the {word} {statistic(stat).word} of all",
            all(apart) and all(beyond),
            (a, *others),
            stat,
            all(apart),
            says=says,
        )

    def highest(self, stat: str, a: str, among: Sequence[str], says: str = "") -> str:
        return self.lowest(stat, a, among, highest=True, says=says)

    def same(self, stat: str, *settings: str, says: str = "") -> str:
        """Every pair of ``settings`` indistinguishable: their ranges overlap."""
        spreads = [self.spread(s, stat) for s in settings]
        holds = all(not (a.hi < b.lo or b.hi < a.lo) for a in spreads for b in spreads)
        names = ", ".join(setting_label(s) for s in settings)
        return self._record(
            f"{names}: indistinguishable by {statistic(stat).word}",
            holds,
            settings,
            stat,
            says=says,
        )

    def word(
        self,
        stat: str,
        settings: str | Sequence[str],
        word: str,
        negated: bool = False,
        says: str = "",
    ) -> str:
        """Every seed of each of ``settings`` on the side of the threshold ``word`` of ``stat``
        (with ``negated``: no seed is)."""
        settings = [settings] if isinstance(settings, str) else list(settings)
        t, s = threshold(stat, word), statistic(stat)
        sides = [t.holds(x) for setting in settings for x in self.spread(setting, stat).values]
        holds = not any(sides) if negated else all(sides)
        who = setting_label(settings[0]) if len(settings) == 1 else "every setting"
        claim = f"{who}: {'not ' if negated else ''}{t.word} ({s.word} {t.bound()})"
        says = f"{says} ({s.word} {t.bound()})" if says else ""
        return self._record(claim, holds, settings, stat, all(sides) or not any(sides), says=says)

    def context(self) -> dict[str, Callable[..., Any]]:
        names = (
            "n",
            "v",
            "ratio",
            "difference",
            "lower",
            "higher",
            "lowest",
            "highest",
            "same",
            "word",
        )
        return {name: getattr(self, name) for name in names}


ANSWERS = Path(__file__).resolve().parents[1] / "answers"  # genlab/course/answers/<problem>.md


def template(problem: str):  # noqa: ANN201 (a jinja2 Template)
    """The authored answer of ``problem``."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(ANSWERS),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(f"{problem}.md")


def render(
    problem: str, numbers: Numbers, strict: bool = True, min_seeds: int = MIN_SEEDS
) -> tuple[str, list[Check]]:
    """The answer to ``problem`` from its template, and the checks it made, each claimed in
    the words of the answer's sentence it stands in. With ``strict``, a claim that fails
    raises ``ClaimFailed``; ``min_seeds``: the seeds a side a comparison needs (1 sets a
    student's one run against the committed ranges)."""
    checker = Checker(numbers, strict, f"answer {problem}", min_seeds)
    checker.marks = True
    marked = template(problem).render(**checker.context()).strip()
    # a check written after its sentence's full stop belongs to that sentence
    marked = re.sub(f"([.!?](?:\\*\\*)?)((?:{MARKED.pattern})+)", r"\2\1", marked)
    checks = list(checker.checks)
    for sentence in SENTENCE.split(marked):
        words = MARKED.sub("", sentence).replace("**", "").strip()
        for i in MARKED.findall(sentence):
            checks[int(i)] = dataclasses.replace(checks[int(i)], claim=words)
    return MARKED.sub("", marked), checks


def checks_markdown(
    checks: Sequence[Check], other: Sequence[Check] | None = None, other_name: str = ""
) -> str:
    """The checks as a table: claim, numbers, holds (and a second column of verdicts)."""
    head = "| claim | numbers | holds |" + (f" {other_name} |" if other is not None else "")
    rows = [head, "| --- | --- | --- |" + (" --- |" if other is not None else "")]
    for i, c in enumerate(checks):
        holds = "yes" if c.holds else "**no**"
        row = f"| {capitalize(c.claim)} | {capitalize(c.numbers)} | {holds} |"
        if other is not None:
            o = other[i]
            row += f" {'yes' if o.holds else '**no**'}: {o.numbers} |"
        rows.append(row)
    return "\n".join(rows)
