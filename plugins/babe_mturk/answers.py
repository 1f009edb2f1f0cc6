"""What MTurk keeps of a submitted form: a QuestionFormAnswers document, one FreeText per field.

An ExternalQuestion page (a _babe experiment) submits its form to MTurk, which stores the fields
as this XML (`Answer` of an assignment). The local MTurk writes it (`answer_xml`) and the platform
reads it back as fields (`answer_fields`) for `babe review`'s detail view.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

ANSWER_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"


def answer_xml(fields: Mapping[str, str]) -> str:
    """The QuestionFormAnswers MTurk stores when an external page submits these form fields."""
    root = ET.Element(f"{{{ANSWER_NS}}}QuestionFormAnswers")
    for name, value in fields.items():
        answer = ET.SubElement(root, f"{{{ANSWER_NS}}}Answer")
        ET.SubElement(answer, f"{{{ANSWER_NS}}}QuestionIdentifier").text = name
        ET.SubElement(answer, f"{{{ANSWER_NS}}}FreeText").text = value
    ET.register_namespace("", ANSWER_NS)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def answer_fields(xml: str) -> dict[str, str]:
    """The form fields of a QuestionFormAnswers document (FreeText answers only); ET.ParseError
    for a text that is not XML."""
    root = ET.fromstring(xml)
    fields = {}
    for answer in root.findall(f"{{{ANSWER_NS}}}Answer"):
        name = answer.findtext(f"{{{ANSWER_NS}}}QuestionIdentifier")
        if name is not None:
            fields[name] = answer.findtext(f"{{{ANSWER_NS}}}FreeText") or ""
    return fields
