"""LimeSurvey survey structure files (``.lss``, XML) in.

Groups become sections (in ``group_order``), questions keep their code (``title``),
answer options are ordered by ``sortorder`` (the XML lists them in code order), arrays
become matrices (rows: subquestions of scale 0; columns: the answers, or the subquestions
of scale 1), relevance equations of questions and groups become show-if rules (a group's
is and-ed into each of its questions). French is the main language when the file has it;
the English text of questions, options, rows, groups, help, introduction and end message goes
to their English twins; what has no equivalent is listed in the notes.
"""

from __future__ import annotations

import contextlib
import html
import re
import xml.etree.ElementTree as ET  # noqa: S405 - no DTD or entity is resolved by expat here

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from surveys.interop import Conversion, ImportFormatError, safe_choice_code, safe_code
from surveys.interop.expressions import Translator, Unsupported, Variable
from surveys.models import QuestionType

TAG_RE = re.compile(r"<[^>]+>")
# LimeSurvey type -> platform type (arrays and lists handled apart)
SIMPLE = {
    "S": QuestionType.TEXT,
    "T": QuestionType.LONG_TEXT,
    "U": QuestionType.LONG_TEXT,
    "D": QuestionType.DATE,
    "Y": QuestionType.YES_NO,
    "N": QuestionType.NUMBER,
    "5": QuestionType.RATING,
}
LISTS = {"L", "!", "O", "G"}
MULTIPLE = {"M", "P"}
FIXED_ARRAYS = {
    "A": [(str(i), str(i)) for i in range(1, 6)],
    "B": [(str(i), str(i)) for i in range(1, 11)],
    "C": [("Y", gettext_noop("Yes")), ("U", gettext_noop("Uncertain")), ("N", gettext_noop("No"))],
    "E": [
        ("I", gettext_noop("Increase")),
        ("S", gettext_noop("Same")),
        ("D", gettext_noop("Decrease")),
    ],
}
ANSWER_ARRAYS = {"F", "H", "1"}
CELL_ARRAYS = {":", ";"}


def _plain(text: str | None) -> str:
    text = re.sub(r"<br\s*/?>|</p>|</div>", "\n", text or "", flags=re.I)
    return html.unescape(TAG_RE.sub("", text)).strip()


def _table(root: ET.Element, name: str) -> list[dict[str, str]]:
    section = root.find(name)
    if section is None:
        return []
    return [
        {child.tag: (child.text or "") for child in row} for row in section.iterfind("rows/row")
    ]


def lss_to_questionnaire(content: bytes) -> Conversion:
    if b"<!DOCTYPE" in content[:2000] or b"<!ENTITY" in content:
        raise ImportFormatError(_("This .lss file declares a DTD or entities: refused."))
    try:
        root = ET.fromstring(content)  # noqa: S314 - checked above: no DTD, no entity
    except ET.ParseError as error:
        raise ImportFormatError(
            _("This .lss file is not valid XML (%(e)s).") % {"e": error}
        ) from error
    if root.tag != "document" or root.findtext("LimeSurveyDocType") != "Survey":
        raise ImportFormatError(_("This XML file is not a LimeSurvey survey structure (.lss)."))
    conversion = Conversion("limesurvey", {})
    surveys = _table(root, "surveys")
    base = (surveys[0].get("language") if surveys else "") or "en"
    others = (surveys[0].get("additional_languages") if surveys else "") or ""
    languages = [base, *(lang for lang in others.split() if lang and lang != base)]
    main = "fr" if "fr" in languages else base
    second = "en" if "en" in languages and main != "en" else None
    dropped = [lang for lang in languages if lang not in (main, second)]
    if dropped:
        conversion.note(
            "survey",
            "language",
            _("Languages not carried over: %(l)s.") % {"l": ", ".join(dropped)},
        )

    def in_language(rows: list[dict], lang: str) -> list[dict]:
        picked = [r for r in rows if r.get("language", lang) == lang]
        return picked or [r for r in rows if r.get("language") == base]

    def english_of(rows: list[dict], key) -> dict:
        """The second language's rows by ``key`` (empty when the file has one language)."""
        return {key(r): r for r in in_language(rows, second)} if second else {}

    settings = {r.get("surveyls_language"): r for r in _table(root, "surveys_languagesettings")}
    main_settings = settings.get(main) or settings.get(base) or {}
    second_settings = settings.get(second, {}) if second else {}
    all_groups = _table(root, "groups")
    groups = sorted(in_language(all_groups, main), key=lambda g: _int(g.get("group_order")))
    second_groups = english_of(all_groups, lambda g: g.get("gid", ""))
    all_questions = _table(root, "questions") + _table(root, "subquestions")
    questions = in_language(all_questions, main)
    second_questions = english_of(all_questions, lambda q: q.get("qid", ""))
    all_answers = _table(root, "answers")
    answers = in_language(all_answers, main)
    second_answers = english_of(
        all_answers, lambda a: (a.get("qid", ""), a.get("code", ""), _int(a.get("scale_id")))
    )

    def english(row: dict) -> str:
        """The second-language text of an answer option or a subquestion (row or column)."""
        if "answer" in row:
            key = (row.get("qid", ""), row.get("code", ""), _int(row.get("scale_id")))
            return _plain(second_answers.get(key, {}).get("answer"))
        return _plain(second_questions.get(row.get("qid", ""), {}).get("question"))

    attributes: dict[str, dict[str, str]] = {}
    for row in _table(root, "question_attributes"):
        attributes.setdefault(row.get("qid", ""), {})[row.get("attribute", "")] = row.get(
            "value", ""
        )

    parents = [q for q in questions if _int(q.get("parent_qid")) == 0]
    children: dict[str, list[dict]] = {}
    for q in questions:
        if _int(q.get("parent_qid")):
            children.setdefault(q["parent_qid"], []).append(q)
    options_of: dict[str, list[dict]] = {}
    for a in answers:
        options_of.setdefault(a.get("qid", ""), []).append(a)

    section_codes: set[str] = set()
    question_codes: set[str] = set()
    known: dict[str, dict] = {}
    values: dict[str, dict[str, str]] = {}
    skipped: dict[str, str] = {}
    sections = []
    for group in groups:
        gid = group.get("gid", "")
        title = _plain(group.get("group_name")) or f"G{gid}"
        english_group = second_groups.get(gid, {})
        section = {
            "code": safe_code(title, section_codes, prefix="G"),
            "title": title[:200],
            "title_en": _plain(english_group.get("group_name"))[:200],
            "description": _plain(group.get("description")),
            "description_en": _plain(english_group.get("description")),
            "questions": [],
        }
        group_rule = _translate(group.get("grelevance", ""), f"group {title}", known, values,
                                skipped, conversion)  # fmt: skip
        members = sorted(
            (q for q in parents if q.get("gid") == gid), key=lambda q: _int(q.get("question_order"))
        )
        for q in members:
            qid, code_raw, qtype = q.get("qid", ""), q.get("title", ""), q.get("type", "")
            text = _plain(q.get("question"))
            english_q = second_questions.get(qid, {})
            attrs = attributes.get(qid, {})
            if attrs.get("random_group"):
                conversion.note(
                    code_raw,
                    "randomization",
                    _("Randomization group “%(g)s” not carried over: questions keep their order.")
                    % {"g": attrs["random_group"]},
                )
            if qtype == "X":
                for key, value in (("description", text), ("description_en", english(q))):
                    section[key] = "\n\n".join(filter(None, [section[key], value]))
                skipped[code_raw] = _("%(q)s is a text display") % {"q": code_raw}
                continue
            question = _question(q, qtype, children.get(qid, []), options_of.get(qid, []),
                                 attrs, conversion, english)  # fmt: skip
            if question is None:
                skipped[code_raw] = _("%(q)s is not carried over") % {"q": code_raw}
                continue
            code = safe_code(code_raw, question_codes)
            if code != code_raw:
                conversion.note(code_raw, "name", _("Code renamed “%(c)s”.") % {"c": code})
            question["code"] = code
            question["label"] = text or code
            if "{" in text:
                conversion.note(
                    code_raw,
                    "tailoring",
                    _("Expression Manager text in the label is kept as typed, not evaluated."),
                )
            if english(q):
                question["label_en"] = english(q)
            if _plain(q.get("help")):
                question["help_text"] = _plain(q.get("help"))
            if _plain(english_q.get("help")):
                question["help_text_en"] = _plain(english_q.get("help"))
            if q.get("mandatory") == "Y":
                question["required"] = True
            rule = _translate(q.get("relevance", ""), code_raw, known, values, skipped, conversion)
            combined = [r for r in (group_rule, rule) if r]
            if combined:
                question["show_if"] = combined[0] if len(combined) == 1 else {"all": combined}
            section["questions"].append(question)
            values[code] = question.pop("_values", {})
            known[code_raw] = {"q": code}
        sections.append(section)
    sections = [s for s in sections if s["questions"]] or sections[:1]
    if not sections:
        raise ImportFormatError(_("This survey has no question group."))
    title = html.unescape(_plain(main_settings.get("surveyls_title"))) or _("LimeSurvey survey")
    sid = surveys[0].get("sid", "") if surveys else ""
    conversion.data = {
        "format": "onco-hdf-questionnaire",
        "format_version": 1,
        "code": f"limesurvey-{sid}" if sid else safe_code(title, set()).lower(),
        "title": title[:200],
        "introduction": _introduction(main_settings),
        "introduction_en": _introduction(second_settings),
        "end_message": _plain(main_settings.get("surveyls_endtext")),
        "end_message_en": _plain(second_settings.get("surveyls_endtext")),
        "sections": sections,
    }
    return conversion


def _introduction(settings: dict) -> str:
    parts = (settings.get("surveyls_description"), settings.get("surveyls_welcometext"))
    return "\n\n".join(filter(None, (_plain(p) for p in parts)))


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _ordered(rows: list[dict]) -> list[dict]:
    return sorted(
        rows,
        key=lambda r: (
            _int(r.get("sortorder") or r.get("question_order")),
            r.get("code") or r.get("title", ""),
        ),
    )


def _options(
    triples: list[tuple[str, str, str]],
) -> tuple[list[list[str]], dict[str, str], dict[str, str]]:
    """``(raw code, label, English label)`` → options, their English labels, raw → code."""
    taken: set[str] = set()
    options, english, mapping = [], {}, {}
    for raw, label, label_en in triples:
        code = safe_choice_code(raw, taken)
        options.append([code, label[:300] or raw])
        if label_en and label_en != label:
            english[code] = label_en[:300]
        mapping[raw] = code
    return options, english, mapping


def _question(q, qtype, subs, answer_rows, attrs, conversion, english) -> dict | None:
    code = q.get("title", "")
    out: dict = {"required": False}
    if q.get("other") == "Y":
        out["allow_other"] = True

    def texts(rows: list[dict], code_key: str, text_key: str, scale: int) -> list[tuple]:
        picked = [r for r in rows if _int(r.get("scale_id")) == scale]
        return [
            (r.get(code_key, ""), _plain(r.get(text_key)), english(r)) for r in _ordered(picked)
        ]

    answers = texts(answer_rows, "code", "answer", 0)
    rows0 = texts(subs, "title", "question", 0)
    rows1 = texts(subs, "title", "question", 1)
    if qtype in SIMPLE:
        out["type"] = SIMPLE[qtype]
        if qtype == "Y":
            out["_values"] = {"Y": "yes", "N": "no"}
        if qtype == "5":
            out["min_value"], out["max_value"] = 1.0, 5.0
        if qtype == "N":
            if attrs.get("num_value_int_only") == "1":
                out["type"] = QuestionType.INTEGER
            for attribute, key in (
                ("min_num_value_n", "min_value"),
                ("max_num_value_n", "max_value"),
            ):
                with contextlib.suppress(KeyError, ValueError):
                    out[key] = float(attrs[attribute])
        return out
    if qtype in LISTS:
        gender = [("F", _("Female"), "Female"), ("M", _("Male"), "Male")]
        out["type"] = QuestionType.SINGLE
        out["options"], out["options_en"], out["_values"] = _options(
            answers if qtype != "G" else gender
        )
        if qtype == "O":
            conversion.note(code, "comment", _("The comment box of this list is not carried over."))
        return out if out["options"] else _dropped(code, conversion, _("it has no answer option"))
    if qtype in MULTIPLE or qtype == "R":
        pairs = rows0 if qtype in MULTIPLE else answers
        out["type"] = QuestionType.MULTIPLE if qtype in MULTIPLE else QuestionType.RANKING
        out["options"], out["options_en"], out["_values"] = _options(pairs)
        # "exclude_all_others": the subquestion codes, separated by semicolons, that untick
        # every other option.
        listed = [c.strip() for c in attrs.get("exclude_all_others", "").split(";") if c.strip()]
        if qtype in MULTIPLE and listed:
            out["exclusive"] = [out["_values"][c] for c in listed if c in out["_values"]]
            if len(out["exclusive"]) != len(listed):
                conversion.note(
                    code,
                    "exclusive",
                    _("An exclusive option names a subquestion the question does not have."),
                )
            if not out["exclusive"]:
                del out["exclusive"]
        if qtype == "P":
            conversion.note(
                code, "comment", _("The comment boxes of the options are not carried over.")
            )
        return out if out["options"] else _dropped(code, conversion, _("it has no option"))
    if qtype in FIXED_ARRAYS or qtype in ANSWER_ARRAYS or qtype in CELL_ARRAYS:
        if qtype in FIXED_ARRAYS:
            columns = [(c, _(label), label) for c, label in FIXED_ARRAYS[qtype]]
        elif qtype in ANSWER_ARRAYS:
            columns = answers
        else:
            columns = rows1
        out["type"] = QuestionType.MATRIX
        if qtype in CELL_ARRAYS:
            out["type"] = QuestionType.MATRIX_MULTI
            conversion.note(
                code,
                "type",
                _("Array of numbers or texts imported as a matrix of ticks (one per cell)."),
            )
        if qtype == "H":
            conversion.note(code, "type", _("Array by column imported as an array by row."))
        if qtype == "1":
            conversion.note(code, "type", _("Dual-scale array: only the first scale is kept."))
        out["options"], out["options_en"], _mapping = _options(columns)
        out["rows"], out["rows_en"], _row_mapping = _options(rows0)
        if not out["options"] or not out["rows"]:
            return _dropped(code, conversion, _("it has no row or no column"))
        return out
    names = {"K": _("multiple numbers"), "Q": _("multiple short texts"), "*": _("equation"),
             "|": _("file upload")}  # fmt: skip
    return _dropped(code, conversion, _("type “%(t)s” (%(name)s) has no equivalent")
                    % {"t": qtype, "name": names.get(qtype, "?")})  # fmt: skip


def _dropped(code: str, conversion: Conversion, why: str) -> None:
    conversion.note(code, "all", _("Question not carried over: %(why)s.") % {"why": why})
    return None


def _translate(text, item, known, values, skipped, conversion) -> dict | None:
    def resolve(variable: Variable) -> dict:
        target = known.get(variable.name)
        if target is None:
            raise Unsupported(
                skipped.get(variable.name)
                or _("%(q)s is not an earlier question") % {"q": variable.name}
            )
        return dict(target)

    translator = Translator(
        resolve=resolve, value_of=lambda q, raw: values.get(q, {}).get(raw, raw)
    )
    try:
        return translator.translate(_plain(text))
    except Unsupported as reason:
        conversion.note(
            item,
            "relevance",
            _("Relevance “%(logic)s” not carried over (%(reason)s): shown always.")
            % {"logic": _plain(text), "reason": reason},
        )
        return None
