"""Bytes of a text file as str: byte-order marks, UTF-8, UTF-16 without a BOM, cp1252, then
charset detection (charset-normalizer, imported lazily)."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ...errors import InputError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_BAD_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f\ufffd]")


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when NUL bytes sit in every other position, as in UTF-16 text."""
    sample = data[:8192]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def looks_binary(text: str) -> bool:
    sample = text[:65536]
    return bool(sample) and len(_BAD_CHARS.findall(sample)) > 0.02 * len(sample)


def decode_text(data: bytes, path: Path) -> str:
    """Bytes of a text file as str: BOM, UTF-8, UTF-16 without BOM, then charset detection."""
    bom = bom_encoding(data)
    if bom:
        encoding, skip = bom
        try:
            text = data[skip:].decode(encoding)
        except UnicodeDecodeError:
            raise InputError(path, f"undecodable text (invalid {encoding} after a byte-order mark)") from None
        if looks_binary(text):
            raise InputError(path, "binary data, not text")
        return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if looks_binary(text):
            raise InputError(path, "binary data, not text")
        return text
    if b"\x00" in data:
        encoding = utf16_without_bom(data)
        if encoding is None:
            raise InputError(path, "binary data, not text")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise InputError(path, "binary data, not text") from None
        if looks_binary(text):
            raise InputError(path, "binary data, not text")
        return text

    western = _western_cp1252(data)
    if western is not None:
        return western

    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        if len(_BINARY_BYTES.findall(data[:65536])) > 0.01 * min(len(data), 65536):
            raise InputError(path, "binary data, not text")
        raise InputError(path, "undecodable text (not UTF-8 and no other encoding fits)")
    text = str(best)
    if looks_binary(text):
        raise InputError(path, "binary data, not text")
    return text


# Non-ASCII characters of Western European text in cp1252 (a superset of Latin-1): accented
# letters, typographic punctuation, currency and a few symbols.
_WESTERN = set("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœŠšŽžŸƒ"
               "\u00a0¡¢£¤¥§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷‘’‚“”„†‡•…‰‹›€™–—˜ˆ")


def _western_cp1252(data: bytes) -> str | None:
    """`data` as cp1252 when it reads as Western European text, else None.

    charset detection often names a wrong single-byte code page for short Latin-1/cp1252
    text ("naïve" read as cp1250 "naďve"), and cp1252 is by far the commonest legacy
    encoding. Accented letters must stay a minority of the letters, so Cyrillic or Greek
    text in its own code page (which decodes to runs of accented Latin letters) is left
    to detection.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii or any(c not in _WESTERN for c in non_ascii):
        return None
    letters = sum(c.isalpha() for c in text)
    accented = sum(c.isalpha() for c in non_ascii)
    if letters == 0 or accented > 0.2 * letters or looks_binary(text):
        return None
    return text

