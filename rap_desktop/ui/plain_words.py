"""Words a person reads in the window: names without the model's angle brackets, and an error as one
plain sentence with the technical text (a library's exception, a settings key, a command line) kept
for the dialog's Details. The CLI keeps the full technical messages; only the window uses this."""

from __future__ import annotations

import re

_TAG = re.compile(r"<([^<>\s][^<>]*)>")
_QUOTED = re.compile(r"(^|[\s(:])'[^']*'")  # a value in quotes ('b/o'), not an apostrophe (Bo's)
_FILE = re.compile(r"\b[\w-]+\.[a-z0-9]{2,5}\b")  # a file name (photo.jpg, backup.zip)
_LIBRARY = re.compile(r"\([A-Z]")  # "(File is not a zip file)", "(Errno 2 ...)": a library's own words
_ABOUT_FILE = re.compile(r"^([^:/\\<>]+\.[A-Za-z0-9]{2,5}): (.+)$", re.DOTALL)  # "holiday.jpg: a text file, ..."

# a message with one of these speaks to an engineer: it goes behind Details
_TECHNICAL = (
    "`",
    "rap-desktop",
    " --",
    "=",
    "{",
    "}",
    "[",
    "]",
    "\\",
    "/",
    '"',
    "error",
    "exception",
    "traceback",
    "http",
    ".toml",
    ".json",
    ".sqlite",
    "hf_",
    "cuda",
    "vram",
    "0x",
)

# what went wrong, said for a person, by a word of the technical message (first match wins)
_TOPICS = (
    ("internal error", "Something went wrong inside the app, so that could not be done."),
    ("download", "The download did not work. Check the internet connection, or use a folder that already "
     "holds the models (Assistant ▸ Models…)."),
    ("weight", "A model it needs is not on this computer yet: Assistant ▸ Models… gets it."),
    ("model", "A model it needs could not be used: Assistant ▸ Models… shows what is missing."),
    ("generator", "A model it needs could not be used: Assistant ▸ Models… shows what is missing."),
    ("data folder", "The app could not use its data folder (is the disk full, or the folder read-only?). "
     "Nothing was changed."),
    ("archive", "That backup could not be read: it is damaged, or not a RAP Desktop backup."),
    ("backup", "That backup could not be read: it is damaged, or not a RAP Desktop backup."),
    ("manifest", "That backup could not be read: it is damaged, or not a RAP Desktop backup."),
    ("zip", "That backup could not be read: it is damaged, or not a RAP Desktop backup."),
    ("database.json", "That folder is not a RAP database the app can read."),
    ("no longer at", "The photo file is no longer where it was: open it again."),
    ("cannot read", "That file could not be read: it may be broken, or not a photo."),
    ("image", "That file could not be used as a photo: it may be broken, too big, or not a photo."),
    ("photo", "That photo could not be used: it may be broken, or it changed meanwhile."),
    ("concept name", "That name cannot be used: pick a name without slashes, brackets or odd characters."),
)
COULD_NOT = "That could not be done."


def unbracket(text: str) -> str:
    """`<bo>` -> `bo`: the model's way of writing a name, shown as the name."""
    return _TAG.sub(lambda m: m.group(1), text)


def is_plain(message: str) -> bool:
    """No command line, settings key, path, quoted value or library exception text in it."""
    lowered = unbracket(message).casefold()
    if _QUOTED.search(lowered) or _FILE.search(lowered) or _LIBRARY.search(message):
        return False
    return not any(marker in lowered for marker in _TECHNICAL)


def sentence(text: str) -> str:
    """A capital first letter and a full stop (a name keeps its own spelling after the first letter)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def readable(message: str, doing: str = "") -> tuple[str, str]:
    """(what a person reads, the technical text for Details, "" when there is none). `doing`: a plain
    sentence saying what could not be done ("The correction was not saved."), put first."""
    if is_plain(message):
        said = sentence(unbracket(message))
        return (f"{doing} {said}" if doing else said), ""
    about = _ABOUT_FILE.match(message.strip())
    if about and is_plain(about.group(2)):  # the file the person chose, then what is wrong with it
        said = f"{about.group(1)}: {unbracket(about.group(2)).strip().rstrip('.')}."
        return (f"{doing} {said}" if doing else said), ""
    lowered = message.casefold()
    topic = next((words for key, words in _TOPICS if key in lowered), COULD_NOT)
    if doing and topic == COULD_NOT:
        return doing, message
    return (f"{doing} {topic}" if doing else topic), message
