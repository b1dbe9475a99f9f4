"""Outgoing e-mail through the SMTP server of ``[mail]``, off the request's path.

A message is handed to :meth:`Mailer.submit` as a function that composes it (so that even looking up the
recipient happens later) and goes into a bounded queue; one thread per process connects, upgrades with STARTTLS
(or speaks TLS from the start), logs in and sends. A slow or dead server therefore never slows a request: the
message is given up after ``timeout_seconds``, logged (the server's reply, never the password) and reported to
the caller's ``on_done`` (which audits it). With no ``host`` nothing is queued. Any feature reaches the one
mailer of an instance with :func:`mailer_for` (notifications of MFA today, the signing workflow's later).
"""

from __future__ import annotations

import email.policy
import logging
import queue
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from antin.kernel.database import log_failure
from antin.kernel.instance import Instance
from antin.kernel.settings import MailSettings

__all__ = ["EXTENSION_KEY", "Mail", "Mailer", "mailer_for"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.mail"
# CPython folds a long non-ASCII Subject into encoded words and loses the space at the fold ("trình duyệt"
# arrives as "trìnhduyệt"): lines up to RFC 5322's 998 characters keep each header in one encoded word.
_POLICY = email.policy.SMTP.clone(max_line_length=998)
QUEUE_LIMIT = 1000  # messages waiting; beyond it new ones are dropped (and logged) rather than held in memory


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


Compose = Callable[[], Mail | None]  # None: nothing to send after all (no address, no such official)
OnDone = Callable[[Mail, str | None], None]  # the message, and why it failed (None: accepted by the server)


class Mailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self._queue: queue.Queue[tuple[Compose, OnDone | None] | None] = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.host)

    def submit(self, compose: Compose, *, on_done: OnDone | None = None) -> bool:
        """Queue a message; False when mail is off or the queue is full. Never blocks, never raises."""
        if not self.enabled:
            return False
        self._start()
        try:
            self._queue.put_nowait((compose, on_done))
        except queue.Full:
            log.warning("mail queue full (%d waiting): a message was dropped", QUEUE_LIMIT)
            return False
        return True

    def wait_until_sent(self, timeout: float = 30.0) -> bool:
        """Block until every queued message was handled (tests, and a command that exits right after)."""
        done = threading.Event()
        if not self.enabled or self._thread is None:
            return True

        def mark() -> None:  # composes nothing: it only says that every message before it was handled
            done.set()

        self._queue.put((mark, None))
        return done.wait(timeout)

    def close(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=self.settings.timeout_seconds + 1)
        self._thread = None

    def _start(self) -> None:
        # started on first use, in the process that sends (a gunicorn worker forks after the app is built)
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="antin-mail", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            compose, on_done = job
            try:
                mail = compose()
            except Exception as err:
                log_failure(log, err, "a message could not be composed")  # composing reads the database
                continue
            if mail is None:
                continue
            error = self._deliver_logged(mail)
            if on_done is not None:
                try:
                    on_done(mail, error)
                except Exception as err:
                    log_failure(log, err, "after a message was handled")  # on_done audits

    def _deliver_logged(self, mail: Mail) -> str | None:
        try:
            self.deliver(mail)
        except (OSError, smtplib.SMTPException) as err:
            reason = f"{type(err).__name__}: {err}"
            log.warning("mail to the SMTP server %s:%d failed: %s", self.settings.host, self.settings.port, reason)
            return reason
        return None

    def deliver(self, mail: Mail) -> None:
        """Send one message now (the mailer's thread calls this). Raises OSError or SMTPException."""
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        message = EmailMessage(policy=_POLICY)
        message["From"] = s.from_address
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=s.from_address.rpartition("@")[2].strip(" >") or None)
        message.set_content(mail.text)
        smtp: smtplib.SMTP
        if s.tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with smtp:
            if s.starttls and not s.tls:
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password)
            smtp.send_message(message)


def mailer_for(instance: Instance) -> Mailer:
    """The instance's mailer, built on first use (closed, its queue drained, with the instance)."""
    return instance.service(EXTENSION_KEY, lambda i: Mailer(i.settings.mail))
