"""uWSGI XML config files: the ``<uwsgi>`` element of an XML document as ordered entries.

What uWSGI's XML loader (``core/xmlconf.c``, libxml2 flavour) does, and so what
this one does::

    <uwsgi>
      <http-socket>:9090</http-socket>
      <master/>                                   <!-- no content: the value 1 -->
      <env>A=1</env><env>B=2</env>                <!-- repeated elements repeat the option -->
      <http-socket id="dev">:8080</http-socket>   <!-- only with file.xml:dev (or no id asked) -->
    </uwsgi>

* the root element is the ``<uwsgi>`` stanza, or else a ``<uwsgi>`` child of
  the root: the one whose ``id`` attribute is the id asked with
  ``file.xml:id``, else the first without an ``id`` (several stanzas can share
  one file).  libxml2-built uWSGI takes the first stanza that has no ``id`` or
  the id asked, so an earlier stanza without ``id`` would win there;
* inside it, each child element is an option: its text is the value, kept as
  written (no blanks stripped, as uWSGI), and an element without content has
  the value ``1``; a child with an ``id`` other than the one asked is skipped;
* a CDATA section directly inside ``<uwsgi>`` is Python code for ``eval``;
* ``<app mountpoint="/path">file</app>`` is ``mount = /path=file``;
* magic variables are replaced in the whole text before parsing, as in uWSGI.

Differences: an element holding other elements, an ``<app>`` without a
mountpoint, and entity declarations (``<!ENTITY``) are errors (uWSGI would read
garbage or expand them); the ``mode`` attribute is ignored (gateway has no
``--mode``, and uWSGI ignores it too without one).  Errors name the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union
from xml.parsers import expat

from gateway.config.errors import ConfigError
from gateway.config.model import Entry

DEFAULT_SECTION = ""  # no id asked


@dataclass
class _CData:
    text: str
    line: int


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Union["_Element", _CData]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def elements(self) -> list["_Element"]:
        return [child for child in self.children if isinstance(child, _Element)]


def _tree(text: str, name: str) -> _Element:
    """Parse ``text`` into a small element tree that keeps CDATA sections and line numbers."""
    parser = expat.ParserCreate()
    stack: list[_Element] = []
    root: list[_Element] = []
    in_cdata = [False]

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def data(chunk: str) -> None:
        if not stack:
            return
        stack[-1].text.append(chunk)
        if in_cdata[0]:
            section = stack[-1].children[-1]
            assert isinstance(section, _CData)
            section.text += chunk

    def cdata_start() -> None:
        in_cdata[0] = True
        if stack:
            stack[-1].children.append(_CData("", parser.CurrentLineNumber))

    def cdata_end() -> None:
        in_cdata[0] = False

    def entity(*args: object) -> None:
        raise ConfigError(f"{name} line {parser.CurrentLineNumber}: entity declarations are not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.StartCdataSectionHandler = cdata_start
    parser.EndCdataSectionHandler = cdata_end
    parser.EntityDeclHandler = entity
    parser.buffer_text = True
    try:
        # the file's own bytes again, so that expat honours an encoding declaration
        parser.Parse(text.encode("utf-8", "surrogateescape"), True)
    except expat.ExpatError as exc:
        raise ConfigError(f"{name} line {exc.lineno} column {exc.offset + 1}: "
                          f"{expat.ErrorString(exc.code)}") from None
    return root[0]


def parse_xml(text: str, section: str = DEFAULT_SECTION, name: str = "<xml>") -> tuple[list[Entry], bool]:
    """The entries of the ``<uwsgi>`` stanza (with id ``section``, if given) in ``text``.

    Pure: no file access, no magic variables (the caller substitutes them
    first).  Raises :class:`ConfigError` naming the line.  The second item is
    always True: a missing stanza is an error, as in uWSGI.
    """
    root = _tree(text, name)
    stanza: _Element | None = root if root.tag == "uwsgi" else None
    if stanza is None:
        stanzas = [child for child in root.elements() if child.tag == "uwsgi"]
        exact = [child for child in stanzas if section and child.attrs.get("id") == section]
        fallback = [child for child in stanzas if not section or "id" not in child.attrs]
        chosen = exact or fallback
        stanza = chosen[0] if chosen else None
    if stanza is None:
        with_id = f" with id '{section}'" if section else ""
        raise ConfigError(f"{name}: no <uwsgi> element{with_id} (the root element or one of its children)")
    entries: list[Entry] = []
    for child in stanza.children:
        if isinstance(child, _CData):
            entries.append(Entry("eval", child.text, f"{name} line {child.line}"))
            continue
        if section and child.attrs.get("id", section) != section:
            continue
        origin = f"{name} line {child.line}"
        if child.elements():
            raise ConfigError(f"{origin}: <{child.tag}> holds other elements; an option element holds "
                              "text only")
        value = "".join(child.text)
        if child.tag == "app":
            mountpoint = child.attrs.get("mountpoint")
            if not mountpoint or not value:
                raise ConfigError(f"{origin}: <app> needs a mountpoint attribute and the app as text "
                                  "(<app mountpoint=\"/path\">app.py</app>)")
            entries.append(Entry("mount", f"{mountpoint}={value}", origin))
            continue
        entries.append(Entry(child.tag, value if child.children or child.text else "1", origin))
    return entries, True
