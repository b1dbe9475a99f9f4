"""Time-stamp clients for pyHanko: the platform's own TSA in-process, or an external one over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

__all__ = ["InProcessTimeStamper", "external_timestamper"]


class InProcessTimeStamper(TimeStamper):
    """Asks the platform's :class:`~signing.tsa.TimeStampAuthority` directly: no HTTP round trip, same tokens."""

    def __init__(self, respond: Callable[[bytes], bytes]) -> None:
        super().__init__(include_nonce=True)
        self._respond = respond

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._respond(req.dump()))


def external_timestamper(url: str, timeout: float = 10.0) -> TimeStamper:
    return HTTPTimeStamper(url, timeout=int(timeout))
