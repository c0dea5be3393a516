"""MSG-01: a message produced to a platform topic through the bootstrap brokers is consumed back intact."""

from __future__ import annotations

from asbuilt.rules import Verdict, errored, failed, passed


def message_round_trip(facts: dict) -> Verdict:
    """facts: asbuilt.probes.messaging.round_trip."""
    where = facts["resource"]
    produced, consumed = facts.get("produced") or {}, facts.get("consumed") or {}
    fix = ("Fix: check the bootstrap string and port (HELM-01), security groups (NET-02, NET-04), the client's "
           "security settings (SSL on 9094, its CA and certificate) and the principal's ACLs on the topic "
           "(WRITE and READ)")
    if not produced.get("ok"):
        if produced.get("timed_out"):
            return errored("MSG-01", f"{where}: waited {facts.get('timeout_seconds')}s to produce message "
                                     f"{facts['message_id']}; no acknowledgement ({produced.get('error')})", [facts])
        if produced.get("definite"):
            return failed("MSG-01", f"{where}: producing was refused: {produced.get('error')}. {fix}", [facts])
        return errored("MSG-01", f"{where}: producing failed: {produced.get('error')}", [facts])
    if not consumed.get("found"):
        if consumed.get("timed_out"):
            return errored("MSG-01", f"{where}: waited {facts.get('timeout_seconds')}s to consume message "
                                     f"{facts['message_id']} ({consumed.get('waited_for')}); it did not arrive",
                           [facts])
        if consumed.get("definite"):
            return failed("MSG-01", f"{where}: consuming was refused: {consumed.get('error')}. {fix}", [facts])
        return errored("MSG-01", f"{where}: consuming failed: {consumed.get('error')}", [facts])
    broken = [k for k in ("key_matches", "payload_matches", "header_matches") if consumed.get(k) is not True]
    if broken:
        return failed("MSG-01", f"{where}: message {facts['message_id']} came back altered ({', '.join(broken)} "
                                f"false). Fix: look for an interceptor or a proxy rewriting records", [facts])
    tls = facts.get("security_protocol") in ("SSL", "SASL_SSL")
    return passed("MSG-01", f"{where}: message {facts['message_id']} ({facts.get('payload_bytes')} bytes) produced "
                            f"with acks=all to partition {produced.get('partition')} offset {produced.get('offset')} "
                            f"and consumed back intact in {consumed.get('seconds')}s over "
                            f"{facts.get('security_protocol')}" + (" with a client certificate"
                                                                  if tls and facts.get("client_certificate") else ""),
                  [facts])
