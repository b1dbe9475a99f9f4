"""The requests' tables: which client sent which document, the clients' webhook secrets, the webhook queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, utcnow

__all__ = ["SigningRequest", "WebhookDelivery", "WebhookSecret"]


class SigningRequest(Base):
    """A document an application sent: only that client sees it through the API."""

    __tablename__ = "signing_request"

    document_id: Mapped[str] = mapped_column(ForeignKey("signing_document.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), index=True)
    callback_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookSecret(Base):
    """A client's webhook key, kept as the key itself: HMAC needs it to sign (see docs/signing.md)."""

    __tablename__ = "signing_webhook_secret"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event for one callback URL, tried until the receiver answers 2xx or the attempts run out."""

    __tablename__ = "signing_webhook_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(128), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)  # none: over
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
