"""MSG-01: a message produced to a platform topic through the bootstrap brokers is consumed back
intact. One unit per control (see asbuilt.controls); it reads the MessageExchange of
asbuilt.model.platform (asbuilt.readers.platform.message_exchange)."""

from __future__ import annotations

from asbuilt.controls import Unit
from asbuilt.model.platform import MessageExchange
from asbuilt.rules import Verdict, errored, messaging


def _round_trip(items: list[dict]) -> Verdict:
    """items: [{"resource": the topic, "exchange": MessageExchange}]"""
    if not items:
        return errored("MSG-01", "no message exchange with a platform topic to check")
    exchange = items[0]["exchange"]
    return messaging.message_round_trip(exchange.facts if isinstance(exchange, MessageExchange) else exchange)


MSG_01 = Unit("MSG-01", _round_trip)
