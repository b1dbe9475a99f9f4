"""The PKCS#11 token: the only importer of ``pkcs11`` (python-pkcs11).

Keys are generated inside the token and never leave it (sensitive, not extractable). One session is opened per
process and kept, with the key handles it found, so that a signature costs one ``C_Sign`` call. The token is
chosen by label, never by slot number (SoftHSM2 gives new tokens random slot numbers), and its PIN comes from the
settings and appears in no message or log.

SoftHSM2, the embedded default, reads ``SOFTHSM2_CONF`` when the module is initialised: :func:`ensure_softhsm_token`
writes that file for an instance's data folder and creates the token on first start. One process can use tokens
of several SoftHSM2 configurations in turn (the tests do): switching re-initialises the module.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature, encode_named_curve_parameters
from pkcs11.util.rsa import encode_rsa_public_key
from pkcs11.util.x509 import decode_x509_certificate

from antin.kernel.caches import CacheSize, register_instance_cache
from signing.errors import (
    HsmLockedError,
    HsmPinError,
    HsmTokenNotFoundError,
    HsmUnavailableError,
    KeyNotFoundError,
)

__all__ = [
    "SOFTHSM_MODULE_CANDIDATES",
    "HsmConfig",
    "HsmToken",
    "KeyAlgorithm",
    "ensure_softhsm_token",
    "find_softhsm_module",
]

log = logging.getLogger(__name__)

KeyAlgorithm = Literal["ec-p256", "rsa-3072"]

# private-key handles a process keeps, the most recently used: one per official who signed lately (without a bound it
# grew with every official who ever signed through the process); a handle not kept costs one C_FindObjects
KEYS_KEPT = 1_000

SOFTHSM_MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/local/lib/softhsm/libsofthsm2.so"),
)

# Hash name → the RSA PKCS#1 v1.5 mechanism that hashes inside the token.
# DER DigestInfo headers (RFC 8017 §9.2 note 1): what RSA_PKCS signs before the digest itself
_DIGEST_INFO_PREFIXES = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
_RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}


@dataclass(frozen=True)
class HsmConfig:
    """Where the token is and how to log in. ``softhsm_conf`` is set for SoftHSM2 tokens only."""

    module: Path
    token_label: str
    pin: str = field(repr=False)
    softhsm_conf: Path | None = None


def find_softhsm_module() -> Path:
    for candidate in SOFTHSM_MODULE_CANDIDATES:
        if candidate.exists():
            return candidate
    raise HsmUnavailableError("SoftHSM2 is not installed (no libsofthsm2.so; install the softhsm2 package)")


def ensure_softhsm_token(folder: Path, *, label: str, pin: str, so_pin: str) -> Path:
    """Write a SoftHSM2 configuration for ``folder`` and create the token ``label`` unless it exists.

    Returns the configuration file's path, to be put in :attr:`HsmConfig.softhsm_conf`.
    """
    tokens = folder / "tokens"
    tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
    conf = folder / "softhsm2.conf"
    if not conf.exists():
        conf.write_text(f"directories.tokendir = {tokens.resolve()}\nobjectstore.backend = file\nlog.level = ERROR\n")
    if not any(tokens.iterdir()):
        tool = shutil.which("softhsm2-util")
        if tool is None:
            raise HsmUnavailableError("softhsm2-util is not installed (install the softhsm2 package)")
        env = {**os.environ, "SOFTHSM2_CONF": str(conf.resolve())}
        # The PINs go on softhsm2-util's command line: this happens once, for the development token only.
        result = subprocess.run(
            [tool, "--init-token", "--free", "--label", label, "--so-pin", so_pin or pin, "--pin", pin],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise HsmUnavailableError(f"softhsm2-util could not create the token: {result.stderr.strip()[:200]}")
        log.info("created SoftHSM2 token %r in %s", label, tokens)
    return conf.resolve()


class _ModuleState:
    """Which SoftHSM2 configuration the process's module was initialised with (one at a time per process)."""

    lock = threading.RLock()
    softhsm_conf: str | None = None
    generation = 0


def _translate(err: Exception, label: str) -> HsmUnavailableError:
    if isinstance(err, pkcs11.PinIncorrect | pkcs11.PinInvalid | pkcs11.PinLenRange):
        return HsmPinError("the PIN was refused", token_label=label)
    if isinstance(err, pkcs11.PinLocked):
        return HsmLockedError("the user PIN is locked; the security officer must unlock it", token_label=label)
    if isinstance(err, pkcs11.NoSuchToken | pkcs11.TokenNotPresent | pkcs11.TokenNotRecognised):
        return HsmTokenNotFoundError("no token with this label", token_label=label)
    if isinstance(err, pkcs11.DeviceRemoved | pkcs11.DeviceError):
        return HsmUnavailableError("the device was removed or failed", token_label=label)
    return HsmUnavailableError(type(err).__name__, token_label=label)


# What a token restarted, reconnected or put back under a live session answers: the session, the login or an
# object handle this process kept is no longer valid. The session is then opened again and the key found again.
_LOST_STATE = (
    pkcs11.SessionHandleInvalid,
    pkcs11.SessionClosed,
    pkcs11.UserNotLoggedIn,
    pkcs11.KeyHandleInvalid,
    pkcs11.ObjectHandleInvalid,  # SoftHSM2 once its token folder went away, and after it came back
    pkcs11.DeviceRemoved,
    pkcs11.TokenNotPresent,
    pkcs11.DeviceError,
    pkcs11.GeneralError,  # SoftHSM2 reading objects whose files are gone
)


# What SoftHSM2 answers, in C_Initialize or C_Login, while another process rewrites the token's file (every login
# does: 4 processes logging in at once missed the token in 58-148 of 150 tries each): read the token again a few
# times, 0.15 s in all, before saying it is not there (a token really missing: its refusal comes 0.15 s later).
_TOKEN_MID_WRITE = (pkcs11.NoSuchToken, pkcs11.TokenNotRecognised, pkcs11.GeneralError)
TOKEN_READS = 5


class HsmToken:
    """One logged-in session on one token, opened on first use and kept; thread-safe, fork-aware."""

    def __init__(self, config: HsmConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._session: Any = None
        self._pid = 0
        self._generation = -1
        self._keys: OrderedDict[str, Any] = OrderedDict()  # the newest used last; at most KEYS_KEPT
        register_instance_cache("hsm-key-handles", self, lambda token: CacheSize(len(token._keys)))
        self._had_keys = False  # this process found keys on the token: a token listing none later is broken
        # The token failed under a session: the module is initialised again before the next session. SoftHSM2 (and
        # many network HSMs' modules) read their tokens in C_Initialize only: a token put back is not seen before.
        self._reinitialise = False
        # The PIN refused (wrong, or locked) by the token: not tried again by this process. A network HSM locks its
        # user PIN after a few wrong logins, and every request of every worker would be one; a PIN that was wrong
        # stays wrong until an operator changes the setting or the token's PIN and restarts or reloads the instance.
        self._pin_refusal: HsmUnavailableError | None = None

    # -- session -----------------------------------------------------------------------------------------

    def _lib(self) -> Any:
        module = str(self.config.module)
        if not Path(module).exists():
            raise HsmUnavailableError(f"PKCS#11 module {module} does not exist", token_label=self.config.token_label)
        conf = str(self.config.softhsm_conf) if self.config.softhsm_conf else None
        with _ModuleState.lock:
            try:
                switch = conf is not None and _ModuleState.softhsm_conf != conf
                if switch:
                    # SoftHSM2 reads its configuration in C_Initialize only: set it first, re-initialise to switch.
                    os.environ["SOFTHSM2_CONF"] = str(conf)
                lib = pkcs11.lib(module)
                if switch:
                    if _ModuleState.softhsm_conf is not None:
                        lib.reinitialize()
                    _ModuleState.softhsm_conf = conf
                    _ModuleState.generation += 1
            except pkcs11.PKCS11Error as err:
                raise _translate(err, self.config.token_label) from None
            except OSError as err:
                raise HsmUnavailableError(f"cannot load {module}: {err}") from None
            return lib

    def _ensure_session(self) -> Any:
        pid = os.getpid()
        lib = self._lib()
        if self._session is not None and self._pid == pid and self._generation == _ModuleState.generation:
            return self._session
        if self._pin_refusal is not None:  # before anything touches the module: no login, no re-initialisation
            raise type(self._pin_refusal)(self._pin_refusal.reason, token_label=self.config.token_label)
        if self._pid not in (0, pid):
            # A forked child (gunicorn worker) must not share the parent's PKCS#11 state.
            lib.reinitialize()
        elif self._reinitialise:
            with _ModuleState.lock:
                lib.reinitialize()
                _ModuleState.generation += 1  # every other session of this process is gone too
            self._reinitialise = False
        self._keys.clear()
        label = self.config.token_label
        for attempt in range(TOKEN_READS):
            try:
                self._session = self._log_in(lib, label)
                break
            except (pkcs11.PKCS11Error, RuntimeError) as err:
                if isinstance(err, _TOKEN_MID_WRITE) and attempt + 1 < TOKEN_READS:
                    time.sleep(0.01 * 2**attempt)
                    with _ModuleState.lock:
                        lib.reinitialize()  # SoftHSM2 reads its tokens in C_Initialize only: read them again
                        _ModuleState.generation += 1
                    continue
                self._refuse(err, label)
        self._pid = pid
        self._generation = _ModuleState.generation
        return self._session

    def _log_in(self, lib: Any, label: str) -> Any:
        token = lib.get_token(token_label=label)
        try:
            return token.open(rw=True, user_pin=self.config.pin)
        except pkcs11.UserAlreadyLoggedIn:
            return token.open(rw=True)

    def _refuse(self, err: Exception, label: str) -> NoReturn:
        self._reinitialise = True  # the token may be back at the next try: look for it afresh
        refusal = _translate(err, label)
        if isinstance(refusal, HsmPinError | HsmLockedError):
            self._pin_refusal = refusal
            if logging.getLogger().handlers:  # a server's log; a one-off command says it in its error line
                log.error(
                    "HSM token %r: %s (%s). Signing is refused (503) and this process will not log in again:"
                    " fix [hsm] pin (ANTIN_HSM_PIN) or the token's user PIN, then restart or reload the instance",
                    label,
                    refusal.reason,
                    type(err).__name__,
                )
        raise refusal from None

    def check(self) -> None:
        """Raise :class:`HsmUnavailableError` unless the token can be used (for ``/readyz``)."""
        with self._lock:
            self._ensure_session()

    def close(self) -> None:
        with self._lock:
            # A handle from before a re-initialisation may now name another object's session: leave it alone.
            current = self._pid == os.getpid() and self._generation == _ModuleState.generation
            if self._session is not None and current:
                with contextlib.suppress(pkcs11.PKCS11Error):
                    self._session.close()
            self._session = None
            self._keys.clear()

    # -- keys --------------------------------------------------------------------------------------------

    def generate_key(self, label: str, algorithm: KeyAlgorithm) -> bytes:
        """Generate a key pair inside the token; return its public key (DER SubjectPublicKeyInfo)."""
        key_id = hashlib.sha256(label.encode()).digest()[:16]
        private_template = {Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True, Attribute.TOKEN: True}
        caps = MechanismFlag.SIGN | MechanismFlag.VERIFY
        with self._lock:
            session = self._ensure_session()
            if self._find_private(session, label) is not None:
                raise HsmUnavailableError(
                    f"a key labelled {label!r} already exists", token_label=self.config.token_label
                )
            try:
                if algorithm == "ec-p256":
                    params = session.create_domain_parameters(
                        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
                    )
                    public, _private = params.generate_keypair(
                        store=True, label=label, id=key_id, capabilities=caps, private_template=private_template
                    )
                    return bytes(encode_ec_public_key(public))
                public, _private = session.generate_keypair(
                    KeyType.RSA,
                    3072,
                    store=True,
                    label=label,
                    id=key_id,
                    capabilities=caps,
                    private_template=private_template,
                )
                return _rsa_spki(encode_rsa_public_key(public))
            except pkcs11.PKCS11Error as err:
                raise _translate(err, self.config.token_label) from None

    def public_key(self, label: str) -> bytes:
        with self._lock:
            session = self._ensure_session()
            try:
                public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
            except pkcs11.NoSuchKey:
                raise KeyNotFoundError(label) from None
            except pkcs11.PKCS11Error as err:
                raise _translate(err, self.config.token_label) from None
            if public.key_type == KeyType.EC:
                return bytes(encode_ec_public_key(public))
            return _rsa_spki(encode_rsa_public_key(public))

    def has_key(self, label: str) -> bool:
        with self._lock:
            for _attempt in (1, 2):
                try:
                    session = self._ensure_session()  # re-initialising the module may fail too: a 503, not a 500
                    if self._find_private(session, label) is not None:
                        return True
                    if not self._had_keys or list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})):
                        return False
                except pkcs11.PKCS11Error as err:
                    raise _translate(err, self.config.token_label) from None
                # Every key gone at once (the CA's too) is the token failing, not one key deleted. A token that
                # failed and came back lists nothing to the session that saw it fail (SoftHSM2: its folder moved
                # away and back) while the key handles already held still sign: that session would refuse every
                # new key's first use for ever. Look again through a new one (the module initialised afresh).
                self._session = None
                self._keys.clear()
                self._reinitialise = True
            raise HsmUnavailableError("the token lists no keys any more", token_label=self.config.token_label)

    def delete_key(self, label: str) -> None:
        with self._lock:
            session = self._ensure_session()
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                for obj in list(session.get_objects({Attribute.CLASS: cls, Attribute.LABEL: label})):
                    obj.destroy()
            self._keys.pop(label, None)

    def store_certificate(self, label: str, der: bytes) -> None:
        """Put a certificate on the token beside its key (same label and id), replacing an older one, so that
        other PKCS#11 tools (pkcs11-tool, pyHanko's command line, browsers) find the pair."""
        key_id = hashlib.sha256(label.encode()).digest()[:16]
        attrs = decode_x509_certificate(der)
        attrs.update({Attribute.LABEL: label, Attribute.ID: key_id, Attribute.TOKEN: True})
        with self._lock:
            session = self._ensure_session()
            try:
                for old in list(
                    session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label})
                ):
                    old.destroy()
                session.create_object(attrs)
            except pkcs11.PKCS11Error as err:
                raise _translate(err, self.config.token_label) from None

    def labels(self) -> list[str]:
        with self._lock:
            session = self._ensure_session()
            return sorted(o.label for o in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))

    def _find_private(self, session: Any, label: str) -> Any:
        key = self._keys.get(label)
        if key is not None:
            self._keys.move_to_end(label)
            return key
        found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label}))
        if not found:
            return None
        self._keys[label] = found[0]
        if len(self._keys) > KEYS_KEPT:
            self._keys.popitem(last=False)
        self._had_keys = True
        return found[0]

    # -- signing -----------------------------------------------------------------------------------------

    def sign(self, label: str, data: bytes, hash_algorithm: str) -> bytes:
        """Sign ``data`` with the key ``label``: DER ECDSA-Sig-Value for EC keys, PKCS#1 v1.5 for RSA keys."""
        hash_algorithm = hash_algorithm.lower().replace("-", "")
        with self._lock:
            try:
                return self._sign_once(label, data, hash_algorithm)
            except _LOST_STATE:
                # The token was restarted or put back under us: forget the session and its handles, try once more.
                self._session = None
                self._keys.clear()
                self._reinitialise = True
                try:
                    return self._sign_once(label, data, hash_algorithm, lost=True)
                except pkcs11.PKCS11Error as err:
                    self._session = None  # the next request opens a new one: the token may be back by then
                    raise _translate(err, self.config.token_label) from None
            except pkcs11.PKCS11Error as err:
                raise _translate(err, self.config.token_label) from None

    def sign_digest(self, label: str, digest: bytes, hash_algorithm: str) -> bytes:
        """Sign a digest computed elsewhere (a remote-signing client's, CSC signHash), encoded as :meth:`sign`."""
        hash_algorithm = hash_algorithm.lower().replace("-", "")
        if hash_algorithm not in _DIGEST_INFO_PREFIXES or len(digest) != hashlib.new(hash_algorithm).digest_size:
            raise HsmUnavailableError(f"a {hash_algorithm} digest of the right length is needed")
        with self._lock:
            for attempt in (1, 2):
                try:
                    key = self._find_private(self._ensure_session(), label)
                    if key is None:
                        raise KeyNotFoundError(label)
                    if key.key_type == KeyType.EC:
                        return bytes(encode_ecdsa_signature(key.sign(digest, mechanism=Mechanism.ECDSA)))
                    # PKCS#1 v1.5 over the DigestInfo, as SHA*_RSA_PKCS would have built it from the data
                    return bytes(key.sign(_DIGEST_INFO_PREFIXES[hash_algorithm] + digest, mechanism=Mechanism.RSA_PKCS))
                except _LOST_STATE:
                    self._session = None
                    self._reinitialise = True
                    self._keys.clear()
                    if attempt == 2:
                        raise HsmUnavailableError(
                            "the token session was lost", token_label=self.config.token_label
                        ) from None
                except pkcs11.PKCS11Error as err:
                    raise _translate(err, self.config.token_label) from None
        raise AssertionError("unreachable")

    def _sign_once(self, label: str, data: bytes, hash_algorithm: str, *, lost: bool = False) -> bytes:
        key = self._find_private(self._ensure_session(), label)
        if key is None:
            if lost:  # the key was there a moment ago, its handle went bad and it is gone: the token failed
                raise HsmUnavailableError("the token lost its keys", token_label=self.config.token_label)
            raise KeyNotFoundError(label)
        if key.key_type == KeyType.EC:
            # SoftHSM2 signs EC keys with raw ECDSA only: hash here, sign the digest in the token.
            digest = hashlib.new(hash_algorithm, data).digest()
            return bytes(encode_ecdsa_signature(key.sign(digest, mechanism=Mechanism.ECDSA)))
        mechanism = _RSA_MECHANISMS.get(hash_algorithm)
        if mechanism is None:
            raise HsmUnavailableError(f"unsupported digest {hash_algorithm} for RSA keys")
        return bytes(key.sign(data, mechanism=mechanism))


def _rsa_spki(pkcs1_public_key: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo."""
    from asn1crypto import keys

    return bytes(
        keys.PublicKeyInfo(
            {
                "algorithm": {"algorithm": "rsa", "parameters": None},
                "public_key": keys.RSAPublicKey.load(pkcs1_public_key),
            }
        ).dump()
    )
