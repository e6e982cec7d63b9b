"""A cart's own interpretation: a severity per statement, worst first, and the label that goes with it.

An ECG cart prints its reading of the leads it recorded (``"Sinus rhythm"``, ``">>> Acute MI <<<"``);
the readers keep those statements in file order (:attr:`l2g.record.Metadata.interpretation`). Here:

* :func:`severity` - one statement's level, one of :data:`SEVERITIES`, from keywords (below).
* :func:`ranked` - the statements worst first, file order within a level. A statement that ends in a
  comma is joined to the next one first (GE MUSE splits ``"WHEN COMPARED WITH ECG OF 1/21/99,"`` /
  ``"SINUS TACHYCARDIA HAS APPEARED"``), so a sentence is never torn apart by the ordering.
* :data:`CART_READING`, :func:`labelled`, :func:`unlabelled`, :func:`page_lines` - the label the
  statements carry wherever they stand beside generated leads (the viewer, the DICOM and PDF exports):
  the cart read the leads it recorded, never the leads L2G-ECG generated later.

Severity order (worst first)
----------------------------
``critical``
    Act now: an acute infarct or injury (a statement naming *acute* together with MI, infarct(ion),
    injury or ST elevation, in either order; or STEMI / NSTEMI), ventricular tachycardia, fibrillation or
    flutter (VT, VF, V-tach, V-fib), complete / third-degree heart (AV) block, asystole, torsade(s).
``abnormal``
    A definite finding: the word *abnormal*, infarct (old or of undetermined age), ischemia, injury,
    bundle-branch and fascicular blocks, AV block, atrial fibrillation / flutter, tachycardia,
    bradycardia, premature or ectopic beats, hypertrophy / enlargement, axis deviation, ST depression
    or elevation, T-wave inversion, a prolonged or short interval, pre-excitation (WPW), Brugada,
    paced rhythm, junctional or escape rhythm, conduction delay, low voltage, Q waves, pericarditis.
``borderline``
    Hedged: borderline, possible / probable, consider, cannot rule out / exclude, nonspecific,
    suggests, equivocal, early repolarization, normal variant. Tried *before* ``abnormal``, so
    ``"Possible left atrial enlargement"`` is borderline (the cart's own hedge wins); never before
    ``critical`` (``"Consider acute MI"`` stays critical).
``other``
    None of the keywords: technical remarks (``"Baseline artifact"``), counts, statements in another
    language. Ranked above ``normal``, so a finding the keywords do not know is never shown below
    ``"Normal ECG"``.
``normal``
    Normal, within normal limits, (normal) sinus rhythm, sinus arrhythmia (and the Italian *normale*,
    *ritmo sinusale* of the Mortara DICOM example).

Matching is case-insensitive on whole words, tried in the order critical, borderline, abnormal,
normal; the first level whose keywords appear decides. A critical or abnormal term negated earlier in
its clause (``"no acute changes"``, ``"No ST elevation"``, ``"without ..."``, ``"not ..."``) does not
count. This orders what a page shows first; it is
not a diagnosis, and the cart's words are always shown unchanged.

Examples
--------
>>> [s.severity for s in ranked(["Sinus bradycardia", ">>> Acute MI <<<", "ABNORMAL ECG"])]
['critical', 'abnormal', 'abnormal']
>>> severity("Old anteroseptal infarct, no acute changes"), severity("Normal sinus rhythm")
('abnormal', 'normal')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .record import Record

__all__ = ["SEVERITIES", "CART_READING", "Statement", "severity", "ranked", "labelled", "unlabelled", "page_lines"]

#: Levels, worst first: the order in which :func:`ranked` shows the cart's statements.
SEVERITIES: tuple[str, ...] = ("critical", "abnormal", "borderline", "other", "normal")
#: What a cart statement is, wherever it stands beside generated leads (exports prefix it with ``": "``).
CART_READING = "Cart interpretation of the originally recorded leads; not of generated leads"

_NEGATION = re.compile(r"\b(?:no|not|without)\b[^,;.:()]*$")
_CRITICAL = re.compile(
    r"\bn?stemi\b|\bventricular (?:tachycardia|fibrillation|flutter)\b|\bv-?(?:tach|fib)\b|\b(?:vt|vf)\b"
    r"|\b(?:complete|third[- ]degree|3rd[- ]degree) (?:heart |av |a-v |atrioventricular )block\b"
    r"|\basystole\b|\btorsades?\b")
_ACUTE = re.compile(r"\bacute\b")
_ACUTE_OF = re.compile(r"\b(?:mi|infarcts?|infarction|injury|st[- ]elevation)\b")
_BORDERLINE = re.compile(
    r"\bborderline\b|\bpossibl[ey]\b|\bprobabl[ey]\b|\bconsider\b|\bcannot (?:rule out|be excluded|exclude)\b"
    r"|\bnon-?specific\b|\bsuggest(?:s|ed|ive)?\b|\bequivocal\b|\bearly repolari[sz]ation\b|\bnormal variant\b")
_ABNORMAL = re.compile(
    r"\babnormal|\binfarct|\bischemi|\bischaemi|\binjury\b|\bblock\b|\b[lr]?bbb\b|\bl[ap]fb\b|\bhemiblock\b"
    r"|\bfascicular\b|\bfibrillation\b|\bflutter\b|\btachycardia\b|\bbradycardia\b|\bprematur|\bectopic\b"
    r"|\bp[av]cs?\b|\bhypertroph|\b[lr]vh\b|\benlargement\b|\b[lr]ae\b|\baxis deviation\b"
    r"|\bst[- ](?:depression|elevation)\b|\bt[- ]wave inversion\b|\binverted\b|\bprolonged\b|\blong qt\b"
    r"|\bshort (?:qt|pr)\b|\bwpw\b|\bwolff\b|\bpre-?excitation\b|\bbrugada\b|\bpaced\b|\bpacemaker\b"
    r"|\bdissociation\b|\bjunctional\b|\bidioventricular\b|\bescape\b|\bbigeminy\b|\btrigeminy\b"
    r"|\bconduction delay\b|\bivcd\b|\blow voltage\b|\bq waves?\b|\bpericarditis\b|\bhyperkal|\bhypokal"
    r"|\bdextrocardia\b|\bwide qrs\b|\bstrain\b")
_NORMAL = re.compile(r"\bnormale?\b|\bwithin normal limits\b|\bwnl\b|\bsinus (?:rhythm|arrhythmia)\b"
                     r"|\britmo sinusale\b")


@dataclass(frozen=True)
class Statement:
    """One cart statement and its level.

    Attributes
    ----------
    text : str
        The cart's words, unchanged (continuation lines joined with a space).
    severity : str
        One of :data:`SEVERITIES`.
    """

    text: str
    severity: str


def _found(pattern: re.Pattern, text: str) -> bool:
    """Whether ``pattern`` occurs in ``text`` (lower case) not negated within its clause."""
    return any(not _NEGATION.search(text[: m.start()]) for m in pattern.finditer(text))


def severity(text: str) -> str:
    """The level of one statement, one of :data:`SEVERITIES` (the rules: module notes).

    Examples
    --------
    >>> severity("Inferior infarct, acute (LCx)"), severity("Nonspecific ST and T wave abnormality")
    ('critical', 'borderline')
    >>> severity("QRS Complexes: 22")
    'other'
    """
    t = " ".join(text.lower().split())
    if _found(_CRITICAL, t) or (_found(_ACUTE, t) and _found(_ACUTE_OF, t)):
        return "critical"
    if _BORDERLINE.search(t):
        return "borderline"
    if _found(_ABNORMAL, t):
        return "abnormal"
    return "normal" if _NORMAL.search(t) else "other"


def _joined(statements: Iterable[str]) -> list[str]:
    """Non-empty statements, each one ending in a comma joined to the next."""
    out: list[str] = []
    pending = ""
    for s in statements:
        s = s.strip()
        if not s:
            continue
        s = f"{pending} {s}" if pending else s
        if s.endswith(","):
            pending = s
        else:
            out.append(s)
            pending = ""
    if pending:
        out.append(pending.rstrip(","))
    return out


def ranked(statements: Iterable[str]) -> tuple[Statement, ...]:
    """The statements worst first (:data:`SEVERITIES`), file order within a level.

    Parameters
    ----------
    statements : iterable of str
        The cart's statements in file order, e.g. ``record.meta.interpretation``. Blank ones are
        dropped; one ending in a comma is joined to the next.

    Returns
    -------
    tuple of Statement
    """
    rated = [Statement(s, severity(s)) for s in _joined(statements)]
    return tuple(sorted(rated, key=lambda s: SEVERITIES.index(s.severity)))


def labelled(record: Record) -> list[str]:
    """The record's cart statements as an export writes them, in file order.

    When the record holds generated leads each statement is prefixed ``"<CART_READING>: "``:
    the cart read the leads it recorded, and the file now holds leads it never saw. Without
    generated leads they are the cart's words unchanged. :func:`unlabelled` undoes the prefix.

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> from l2g.record import Metadata
    >>> rec = demo_record().replace(meta=Metadata(interpretation=("Acute MI",)))
    >>> labelled(rec)
    ['Acute MI']
    >>> labelled(l2g.reconstruct(rec, ["I", "II"], method="linear"))[0]
    'Cart interpretation of the originally recorded leads; not of generated leads: Acute MI'
    """
    texts = [t for t in record.meta.interpretation if t.strip()]
    if not record.generated_leads:
        return texts
    return [f"{CART_READING}: {t}" for t in texts]


def unlabelled(text: str) -> str:
    """A statement as the cart wrote it: ``text`` without the :func:`labelled` prefix."""
    return text.removeprefix(f"{CART_READING}: ")


def page_lines(record: Record) -> list[str]:
    """Lines for a printed chart (the PNG/PDF export): a heading, then the statements worst first.

    The heading is :data:`CART_READING` when the record holds generated leads, else ``"Cart
    interpretation"``; each statement line starts with its level in capitals
    (``"CRITICAL: >>> Acute MI <<<"``). Empty when the file has no statement.
    """
    statements = ranked(record.meta.interpretation)
    if not statements:
        return []
    heading = CART_READING if record.generated_leads else "Cart interpretation"
    return [f"{heading} (worst first):"] + [f"{s.severity.upper()}: {s.text}" for s in statements]
