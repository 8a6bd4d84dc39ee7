"""Encryption at rest: a per-row codec over ``cryptography``'s AES-GCM (optional extra).

What a store holds when it is encrypted (see ``docs/security.md``):

- ``metadata`` is ``{"sealed": "mm1:<base64 nonce + AES-GCM ciphertext>"}``: the memory's text
  and metadata together, authenticated with the memory id as associated data (a ciphertext
  moved to another row does not decrypt).
- ``text`` holds keyed hashes (HMAC-SHA256, truncated) of the text's normalised words, in
  order. The FTS5 index is built from them, so keyword recall and BM25 ranking keep working:
  a query's words are hashed the same way. Equal words give equal tokens, which is what an
  attacker with the file learns (word repetition patterns, not the words).
- ``content_hash`` is keyed too, so duplicate detection works without a dictionary attack.
- category, importance, scope, pinned, times, session id, source and agent stay clear, so
  filters on them keep working. Write-log details are sealed like metadata.

Keys: a passphrase goes through scrypt (n=2**15, r=8, p=1) with a random per-file salt; a
32-byte key is used directly. HKDF-SHA256 then derives separate keys for AES-GCM, the word
tokens and the content hash. A sealed check value in ``store_meta`` tells a wrong key apart
from tampered data before any memory is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..._errors import EncryptionError, InvalidInputError
from ..._version import install_command
from ._schema import ENCRYPTION_META_KEY

__all__ = [
    "META_KEY",
    "EncryptionKey",
    "RowCodec",
    "is_sealed_document",
    "load_codec",
    "new_codec_record",
    "open_document",
    "seal_document",
]

META_KEY = ENCRYPTION_META_KEY
_PREFIX = "mm1:"
_CHECK = b"memorymesh encryption check v1"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN_BYTES = 10


def _require() -> Any:
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise EncryptionError(
            "encryption needs the optional extra: " + install_command("encryption")
        ) from exc
    return hashes, AESGCM, HKDF, Scrypt


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """What the caller gave: a passphrase (``str``) or a raw 32-byte key (``bytes``)."""

    secret: str | bytes

    @classmethod
    def of(cls, value: Any) -> EncryptionKey | None:
        if value is None:
            return None
        if isinstance(value, EncryptionKey):
            return value
        if isinstance(value, str):
            if len(value) < 8:
                raise InvalidInputError("an encryption passphrase needs at least 8 characters")
            return cls(value)
        if isinstance(value, bytes | bytearray):
            if len(value) != 32:
                raise InvalidInputError("a raw encryption key must be exactly 32 bytes")
            return cls(bytes(value))
        raise InvalidInputError("encryption_key must be a passphrase (str) or 32 bytes")


def _master(key: EncryptionKey, salt: bytes) -> bytes:
    _, _, _, scrypt_cls = _require()
    if isinstance(key.secret, bytes):
        return key.secret
    kdf = scrypt_cls(salt=salt, length=32, **_SCRYPT)
    derived: bytes = kdf.derive(key.secret.encode("utf-8"))
    return derived


def _subkey(master: bytes, salt: bytes, purpose: str) -> bytes:
    hashes, _, hkdf_cls, _ = _require()
    hkdf = hkdf_cls(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=f"memorymesh {purpose} v1".encode()
    )
    derived: bytes = hkdf.derive(master)
    return derived


def _fold(word: str) -> str:
    """Case, width and accent-insensitive form of one word, lightly stemmed.

    FTS5's porter tokenizer cannot see the words of an encrypted store, so the common English
    suffixes are stripped here, before hashing, on both the stored text and the query.
    """
    plain = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word).casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c)).strip("_")
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if plain.endswith(suffix) and len(plain) - len(suffix) >= 3:
            return plain[: len(plain) - len(suffix)] + replacement
    return plain


class RowCodec:
    """Seals and opens one store's rows; built by :func:`load_codec` or :func:`new_codec_record`."""

    def __init__(self, master: bytes, salt: bytes) -> None:
        _, aesgcm_cls, _, _ = _require()
        self._aead = aesgcm_cls(_subkey(master, salt, "aes-gcm"))
        self._token_key = _subkey(master, salt, "word tokens")
        self._hash_key = _subkey(master, salt, "content hash")

    # -- authenticated encryption ----------------------------------------------------------

    def seal(self, data: bytes, aad: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, data, aad.encode("utf-8"))
        return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str, aad: str) -> bytes:
        if not value.startswith(_PREFIX):
            raise EncryptionError("a row of this encrypted store is not sealed (tampered?)")
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.b64decode(value[len(_PREFIX) :], validate=True)
            data: bytes = self._aead.decrypt(raw[:12], raw[12:], aad.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:  # ValueError: not base64, or too short
            raise EncryptionError(
                "encrypted data does not authenticate: the row was tampered with or moved"
            ) from exc
        return data

    def seal_memory(self, memory_id: str, text: str, metadata_json: str) -> str:
        payload = json.dumps([text, json.loads(metadata_json)], ensure_ascii=False)
        return json.dumps({"sealed": self.seal(payload.encode("utf-8"), memory_id)})

    def open_memory(self, memory_id: str, metadata_json: str) -> tuple[str, dict[str, Any]]:
        try:
            sealed = json.loads(metadata_json)["sealed"]
        except (KeyError, TypeError, ValueError) as exc:
            raise EncryptionError(
                f"memory {memory_id} in an encrypted store is not sealed"
            ) from exc
        text, metadata = json.loads(self.open(sealed, memory_id))
        return str(text), dict(metadata)

    # -- keyed hashes ----------------------------------------------------------------------

    def token(self, word: str) -> str:
        digest = hmac.new(self._token_key, _fold(word).encode("utf-8"), hashlib.sha256).digest()
        # Letters only (base32 lower-cased, digits mapped), so FTS5 sees each as one word.
        return "t" + base64.b32encode(digest[:_TOKEN_BYTES]).decode("ascii").lower().rstrip("=")

    def tokens(self, text: str) -> str:
        # Split exactly as a query is split (``_text.query_terms``: NFKC first), so that every
        # word of the text can be found again.
        found = _WORD.findall(unicodedata.normalize("NFKC", text))
        words = [w for w in found if w.strip("_")]
        return " ".join(self.token(w) for w in words) or "t"

    def match(self, fts_match: str) -> str:
        """Rewrite a ``"term" OR "term"`` FTS5 expression into the same over hashed terms."""
        terms = re.findall(r'"([^"]*)"', fts_match)
        return " OR ".join(f'"{self.token(t)}"' for t in terms if t) or '"t"'

    def content_hash(self, plain_hash: str) -> str:
        return hmac.new(self._hash_key, plain_hash.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def new_codec_record(key: EncryptionKey) -> tuple[RowCodec, str]:
    """A codec for a new encrypted store and the ``store_meta`` record that describes it."""
    salt = os.urandom(16)
    master = _master(key, salt)
    codec = RowCodec(master, salt)
    record = {
        "version": 1,
        "cipher": "AES-256-GCM",
        "kdf": "raw" if isinstance(key.secret, bytes) else "scrypt",
        "scrypt": _SCRYPT,
        "salt": base64.b64encode(salt).decode("ascii"),
        "check": codec.seal(_CHECK, "check"),
    }
    return codec, json.dumps(record)


def load_codec(key: EncryptionKey, record_json: str) -> RowCodec:
    """The codec for an existing encrypted store.

    Raises:
        EncryptionError: the key is wrong (or of the wrong kind) for this store.
    """
    record = json.loads(record_json)
    wanted = record.get("kdf")
    given = "raw" if isinstance(key.secret, bytes) else "scrypt"
    if wanted != given:
        raise EncryptionError(
            f"this store was encrypted with a {'raw key' if wanted == 'raw' else 'passphrase'}"
        )
    salt = base64.b64decode(record["salt"])
    codec = RowCodec(_master(key, salt), salt)
    try:
        if codec.open(record["check"], "check") != _CHECK:
            raise EncryptionError("wrong encryption key for this store")
    except EncryptionError:
        raise EncryptionError("wrong encryption key for this store") from None
    return codec


# -- sealed export files (issue #17): an export of an encrypted store is encrypted too ---------

SEALED_EXPORT = "memorymesh-sealed-export"


def seal_document(key: EncryptionKey, document: str) -> str:
    """``document`` (an export) sealed with the store's key, as two lines of text.

    The first line is a JSON header (format, cipher, key derivation and a fresh salt); the
    second the base64 nonce and AES-256-GCM ciphertext, authenticated with the header as
    associated data, so a changed header or body raises :class:`EncryptionError` on opening.
    """
    _, aesgcm_cls, _, _ = _require()
    salt = os.urandom(16)
    header = json.dumps(
        {
            SEALED_EXPORT: 1,
            "cipher": "AES-256-GCM",
            "kdf": "raw" if isinstance(key.secret, bytes) else "scrypt",
            "scrypt": _SCRYPT,
            "salt": base64.b64encode(salt).decode("ascii"),
        },
        sort_keys=True,
    )
    aead = aesgcm_cls(_subkey(_master(key, salt), salt, "export"))
    nonce = os.urandom(12)
    body = aead.encrypt(nonce, document.encode("utf-8"), header.encode("utf-8"))
    return header + "\n" + base64.b64encode(nonce + body).decode("ascii") + "\n"


def is_sealed_document(text: str) -> bool:
    """Whether ``text`` is an export written by :func:`seal_document`."""
    return text.lstrip().startswith("{") and f'"{SEALED_EXPORT}": 1' in text.split("\n", 1)[0]


def open_document(key: EncryptionKey | None, text: str) -> str:
    """The export sealed in ``text``.

    Raises:
        EncryptionError: no key, the wrong key, or a changed file.
    """
    if key is None:
        raise EncryptionError(
            "this export is encrypted: open the mesh with the encryption key of the store it "
            "came from (encryption_key= or MEMORYMESH_ENCRYPTION_KEY)"
        )
    _, aesgcm_cls, _, _ = _require()
    from cryptography.exceptions import InvalidTag

    header, _, body = text.strip().partition("\n")
    try:
        record = json.loads(header)
        given = "raw" if isinstance(key.secret, bytes) else "scrypt"
        if record.get("kdf") != given:
            raise EncryptionError(
                f"this export was encrypted with a {'raw key' if given != 'raw' else 'passphrase'}"
            )
        salt = base64.b64decode(record["salt"], validate=True)
        raw = base64.b64decode(body.strip(), validate=True)
        aead = aesgcm_cls(_subkey(_master(key, salt), salt, "export"))
        plain: bytes = aead.decrypt(raw[:12], raw[12:], header.encode("utf-8"))
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise EncryptionError(
            "the export does not decrypt: wrong encryption key, or the file was changed"
        ) from exc
    return plain.decode("utf-8")
