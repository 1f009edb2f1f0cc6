"""The `Question` member of CreateHIT: MTurk's three question documents, parsed and checked.

MTurk refuses a HIT whose Question is not one of its XML documents (ExternalQuestion, HTMLQuestion,
QuestionForm) before anyone sees it; the local MTurk does the same, so a lab finds a broken
question on its own machine, not in front of paid workers. The XML comes from the network, so it is
parsed without a DTD: a DOCTYPE (the door to entity expansion bombs and external entities) is
refused outright.

One documented exception to MTurk's rules: an ExternalURL may be `http://` on a loopback host, so
a lab can try an experiment served from its own machine (docs/localturk-validation.md).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

#: MTurk's limit on the whole Question document, in bytes of UTF-8.
MAX_QUESTION_BYTES = 65_535
#: Our cap on ExternalURL: MTurk appends assignmentId, hitId, workerId and turkSubmitTo to it, and
#: the result has to stay within what every browser accepts (about 2,083 characters).
MAX_URL_LENGTH = 2_048
#: Our cap on FrameHeight, in pixels (MTurk documents no maximum; 0 means "fit the window").
MAX_FRAME_HEIGHT = 10_000

_SCHEMAS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
EXTERNAL_QUESTION_NS = _SCHEMAS + "2006-07-14/ExternalQuestion.xsd"
HTML_QUESTION_NS = _SCHEMAS + "2011-11-11/HTMLQuestion.xsd"
#: QuestionForm has two published schema versions; both are still accepted by MTurk.
QUESTION_FORM_NS = (_SCHEMAS + "2017-11-06/QuestionForm.xsd", _SCHEMAS + "2005-10-01/QuestionForm.xsd")

_NAMESPACES = {
    "ExternalQuestion": (EXTERNAL_QUESTION_NS,),
    "HTMLQuestion": (HTML_QUESTION_NS,),
    "QuestionForm": QUESTION_FORM_NS,
}
_FRAME_HEIGHT = re.compile(r"[0-9]+")
_LOOPBACK_NAMES = frozenset({"localhost"})


class QuestionError(ValueError):
    """A Question document MTurk would refuse; the message is the rule, without the member name."""


@dataclass(frozen=True)
class Question:
    """What the rest of the local MTurk needs from a checked Question document."""

    kind: str  # ExternalQuestion | HTMLQuestion | QuestionForm
    external_url: str | None = None
    frame_height: int | None = None


def check_question(document: str) -> Question:
    """Parse and check a Question document; raise `QuestionError` with the broken rule.

    Cached: a batch posts the same document to many HITs, and the answer depends on the text only.
    """
    if not isinstance(document, str):
        raise QuestionError("must be a string holding an XML document")
    return _check(document)


def external_url(document: str) -> str | None:
    """The ExternalURL of an ExternalQuestion (whitespace trimmed, XML entities decoded), else None.

    Simulated workers use it to find the experiment page; raises `QuestionError` for a document
    that is not a valid Question at all.
    """
    return check_question(document).external_url


@lru_cache(maxsize=64)
def _check(document: str) -> Question:
    size = len(document.encode("utf-8", "surrogatepass")) if len(document) * 4 > MAX_QUESTION_BYTES else 0
    if size > MAX_QUESTION_BYTES:
        raise QuestionError(f"must be at most {MAX_QUESTION_BYTES} bytes (UTF-8), got {size}")
    root = _parse(document)
    namespace, _, kind = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if kind not in _NAMESPACES:
        raise QuestionError(f"the root element must be ExternalQuestion, HTMLQuestion or QuestionForm, not {kind}")
    if namespace not in _NAMESPACES[kind]:
        raise QuestionError(f"{kind} must be in the namespace {_NAMESPACES[kind][0]}")
    if kind == "ExternalQuestion":
        children = _children(root, namespace, kind, ("ExternalURL", "FrameHeight"))
        url = _check_url(children["ExternalURL"].text or "")
        return Question(kind, url, _frame_height(children["FrameHeight"]))
    if kind == "HTMLQuestion":
        children = _children(root, namespace, kind, ("HTMLContent", "FrameHeight"))
        if not (children["HTMLContent"].text or "").strip():
            raise QuestionError("HTMLContent must not be empty")
        return Question(kind, None, _frame_height(children["FrameHeight"]))
    _check_form(root, namespace)
    return Question(kind)


def _parse(document: str) -> Element:
    """Well-formed XML into an ElementTree element, refusing any DTD.

    expat is driven directly (rather than through `ElementTree.fromstring`) because only its
    handlers can stop a DOCTYPE before its entity declarations are read.
    """
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_dtd(*_):
        raise QuestionError("must not contain a DOCTYPE or entity declarations")

    def qualified(name: str) -> str:
        return "{" + name if "}" in name else name

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    parser.StartElementHandler = lambda name, attrs: builder.start(
        qualified(name), {qualified(key): value for key, value in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(qualified(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(document, True)
    except expat.ExpatError as exc:
        raise QuestionError(f"is not well-formed XML ({expat.ErrorString(exc.code)}: line {exc.lineno}, column {exc.offset})") from None
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \uD800 escapes can carry
        raise QuestionError("is not valid Unicode text") from None
    return builder.close()


def _children(root: Element, namespace: str, kind: str, names: tuple[str, ...]) -> dict[str, Element]:
    """Exactly one of each named child, and nothing else: MTurk's schema allows no extras."""
    found: dict[str, Element] = {}
    for child in root:
        local = child.tag.rpartition("}")[2]
        if local not in names or child.tag != f"{{{namespace}}}{local}":
            raise QuestionError(f"{kind} may contain only {' and '.join(names)}, not {local}")
        if local in found:
            raise QuestionError(f"{kind} must contain {local} only once")
        found[local] = child
    for name in names:
        if name not in found:
            raise QuestionError(f"{kind} must contain {name}")
    return found


def _check_url(text: str) -> str:
    url = text.strip()
    if not url:
        raise QuestionError("ExternalURL must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise QuestionError(f"ExternalURL must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise QuestionError("ExternalURL must not contain spaces or control characters (encode them)")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise QuestionError("ExternalURL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and not host:
        raise QuestionError("ExternalURL must be an absolute URL with a host (https://host/path)")
    if scheme == "https" or (scheme == "http" and _is_loopback(host)):
        return url
    raise QuestionError("ExternalURL must use https:// (http:// only on localhost)")


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _frame_height(element: Element) -> int:
    text = (element.text or "").strip()
    if not _FRAME_HEIGHT.fullmatch(text) or int(text) > MAX_FRAME_HEIGHT:
        raise QuestionError(f"FrameHeight must be a whole number of pixels from 0 to {MAX_FRAME_HEIGHT} (0 fits the window)")
    return int(text)


def _check_form(root: Element, namespace: str) -> None:
    """A QuestionForm needs at least one Question, each with a unique identifier, content and an
    answer specification; deeper structure (the answer kinds) is left to the worker's page."""
    ns = f"{{{namespace}}}"
    seen: set[str] = set()
    for child in root:
        if child.tag == f"{ns}Overview":
            continue
        if child.tag != f"{ns}Question":
            raise QuestionError(f"QuestionForm may contain only Overview and Question, not {child.tag.rpartition('}')[2]}")
        identifier = (child.findtext(f"{ns}QuestionIdentifier") or "").strip()
        if not identifier:
            raise QuestionError("every Question of a QuestionForm needs a QuestionIdentifier")
        if identifier in seen:
            raise QuestionError(f"QuestionIdentifier {identifier} is used twice")
        seen.add(identifier)
        for part in ("QuestionContent", "AnswerSpecification"):
            if child.find(f"{ns}{part}") is None:
                raise QuestionError(f"Question {identifier} must contain {part}")
    if not seen:
        raise QuestionError("QuestionForm must contain at least one Question")
