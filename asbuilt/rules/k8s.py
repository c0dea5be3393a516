"""K8S-*: the Ingress, container resources and security, no credential literals.

Containers are given in one neutral form (from the Kubernetes API or a rendered chart)::

    {"resource": "Deployment conncentric/portal container portal" (+ file:line when static),
     "requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {...},
     # the effective security context: the container's, falling back to the pod's
     "run_as_non_root": True, "run_as_user": 10001, "privileged": False,
     "allow_privilege_escalation": False, "read_only_root_filesystem": True}

Credential literals (K8S-05) are judged from facts that never carry the value itself
(``classify_value``), so no secret reaches a report (SUITE-03).
"""

from __future__ import annotations

import re

from asbuilt.rules import Finding, Verdict, errored, summarise

_CREDENTIAL_KEY = re.compile(
    r"(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|"
    r"credential|auth[_-]?key|sasl[_-]?jaas|jaas[_-]?config|connection[_-]?string|dsn)",
    re.IGNORECASE,
)
# Keys that name where a secret is, not the secret: passwordKey, existingSecret, tokenFile, secretArn...
# ... and settings about how one is passed or checked: apiKeyHeader, tokenPrefix, TOKEN_ISSUER, jwtAlgorithm.
_REFERENCE_SUFFIX = re.compile(r"(key|name|ref|file|path|arn|id|mount|provider|enabled|type|url|uri|policy|length|ttl|"
                               r"expiry|seconds|timeout|duration|count|header|prefix|scheme|algorithm|format|mode|"
                               r"location|endpoint|issuer|audience|scope|field|param|cookie|lifetime|version)$")
_STRONG_SUFFIX = re.compile(r"(password|passwd|passphrase|token|apikey|accesskey|secretkey|privatekey|secret)$")
_NOT_CREDENTIAL = re.compile(r"^(secretkeyref|secretname|secretref|existingsecret|secrets?|tokenrequest)$", re.IGNORECASE)
# Values that are well-known credential formats whatever the key is called.
_SECRET_PATTERNS = [
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),                        # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),                     # GitHub token
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),                    # Slack token
    re.compile(r"://[^/\s:@]+:[^/\s@]+@"),                             # user:password@host in a URL
    re.compile(r"\bpassword\s*=\s*\"(?!\$\{)[^\"]+\"", re.IGNORECASE),       # a JAAS config's password="..."
]
_SETTING_WORD = re.compile(r"^(yes|no|true|false|on|off|none|null|enabled|disabled|y|n)$", re.IGNORECASE)
_NAME_VALUE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")  # UPPER_SNAKE: an environment variable or key name
_REFERENCE_VALUE = re.compile(r"^(\$\{[^}]+\}|\$\([^)]+\)|\{\{.*\}\}|<[^>]+>|arn:aws[a-z-]*:secretsmanager:.*|"
                              r"(secretsmanager|ssm|vault|env|file):.*)$", re.IGNORECASE)


def _presigned_urls(text: str) -> bool:
    from asbuilt.rules.iam import describe_url

    urls = [u.strip() for u in text.split(",") if u.strip()]
    return bool(urls) and all(u.startswith(("https://", "http://")) and "@" not in u.split("?")[0]
                              and describe_url(u)["presigned"] for u in urls)


def credential_key(key: str) -> bool:
    """Whether a key names a credential (password, token, ...) rather than where one is kept."""
    last = re.split(r"[.\[\]/]", str(key))[-1] if key else ""
    if not last or _NOT_CREDENTIAL.match(last) or not _CREDENTIAL_KEY.search(last):
        return False
    # DB_PASSWORD / password / apiToken / JWT_SECRET are credentials;
    # passwordKey / tokenFile / secretArn / existingSecret are references to one.
    stripped = re.sub(r"[^a-z0-9]", "", last.lower())
    if stripped.startswith("existing"):
        return False
    if _STRONG_SUFFIX.search(stripped):
        return True
    return not _REFERENCE_SUFFIX.search(stripped)


def classify_value(value) -> str:
    """'empty' | 'reference' (${VAR}, a Secrets Manager ARN...) | 'presigned-url' | 'setting' (yes/no, an
    UPPER_SNAKE name) | 'secret-pattern' | 'literal' | 'not-text'. The one classification of a
    setting's value, live and static alike; only 'literal' under a credential key and
    'secret-pattern' anywhere fail K8S-05.

    A pre-signed URL (what the seed puts in ``installer.customBundleUrls``) is ``presigned-url``: a
    time-bound capability whose lifetime IAM-06 bounds, not a credential written down (its
    X-Amz-Credential names an access key id, not a secret)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "empty"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return "not-text"
    text = str(value).strip()
    if _presigned_urls(text):
        return "presigned-url"
    if _SETTING_WORD.match(text) or _NAME_VALUE.match(text):
        # 'yes', 'true', 'USER_INFO', 'GATEWAY_ADMIN_PASSWORD': a setting about a credential, or
        # the name of the key that holds one, not a credential (bitnami's ALLOW_EMPTY_PASSWORD: yes,
        # Confluent's *_CREDENTIALS_SOURCE: USER_INFO, Conduktor's mainAdminSecretKeys.password)
        return "setting"
    if any(p.search(text) for p in _SECRET_PATTERNS):
        return "secret-pattern"
    if _REFERENCE_VALUE.match(text):
        return "reference"
    return "literal"


def looks_random(value) -> bool:
    """A generated secret by its shape: 16+ characters without spaces mixing at least three of
    upper case, lower case, digits and symbols, and not a URL, a path or a DNS name (a Secret's
    name under a ``secret:`` key is lower-case with dashes)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if len(text) < 16 or any(c.isspace() for c in text) or "://" in text or text.startswith(("/", "$", "{")):
        return False
    classes = sum(bool(re.search(p, text)) for p in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return classes >= 3 and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", text)


_SECRET_WORD = re.compile(r"^(client[_-]?)?secrets?$", re.IGNORECASE)


def ingress_routes(ingresses: list[dict], components: tuple[str, ...] = ("portal", "orchestrator"),
                   ingress_class: str = "alb") -> Verdict:
    """K8S-02. ingresses: [{"resource", "class": "alb", "tls": True, "backends": ["portal", "orchestrator"]}]

    ``tls``: spec.tls is set, or (AWS Load Balancer Controller) a certificate-arn annotation with an
    HTTPS listen port.
    """
    good = [i for i in ingresses if i.get("class") == ingress_class and i.get("tls")]
    findings = []
    for i in ingresses:
        if i.get("class") != ingress_class:
            findings.append(Finding(i['resource'], f"ingress class is {i.get('class')!r}, not {ingress_class!r}"))
        elif not i.get("tls"):
            findings.append(Finding(i['resource'], "no TLS (spec.tls or alb.ingress.kubernetes.io/certificate-arn with "
                            "HTTPS 443)"))
    for comp in components:
        if not any(any(comp in str(b).lower() for b in i.get("backends") or []) for i in good):
            findings.append(f"no {ingress_class} Ingress with TLS routes to the {comp} service"
                            + (f" (Ingresses: {', '.join(i['resource'] for i in ingresses)})" if ingresses else
                               " (there is no Ingress)"))
    ok = ", ".join(f"{i['resource']}: class {i.get('class')}, TLS, to {', '.join(i.get('backends') or [])}" for i in good)
    return summarise(
        "K8S-02", findings, ok, ingresses,
        f"route the portal and the orchestrator API through an Ingress with ingressClassName: {ingress_class} and "
        "TLS (spec.tls hosts, alb.ingress.kubernetes.io/certificate-arn, listen-ports including HTTPS 443)",
    )


def container_resources(containers: list[dict]) -> Verdict:
    """K8S-03. containers: see the module docstring (requests / limits)."""
    if not containers:
        return errored("K8S-03", "no containers found on the target to check")
    findings = []
    for c in containers:
        missing = [f"{kind}.{res}" for kind in ("requests", "limits") for res in ("cpu", "memory")
                   if not (c.get(kind) or {}).get(res)]
        if missing:
            findings.append(Finding(c['resource'], f"no resources.{', resources.'.join(missing)}"))
    return summarise(
        "K8S-03", findings, f"{len(containers)} container(s) set requests and limits for cpu and memory", containers,
        "set resources.requests and resources.limits (cpu and memory) on every container (the chart's "
        "<component>.resources values)",
    )


def container_security(containers: list[dict]) -> Verdict:
    """K8S-04. containers: see the module docstring (effective security context)."""
    if not containers:
        return errored("K8S-04", "no containers found on the target to check")
    findings = []
    for c in containers:
        problems = []
        uid = c.get("run_as_user")
        if c.get("run_as_non_root") is not True and not (isinstance(uid, int) and uid > 0):
            problems.append("may run as root (runAsNonRoot not true)")
        if uid == 0:
            problems.append("runAsUser is 0 (root)")
        if c.get("privileged") is True:
            problems.append("is privileged")
        if c.get("allow_privilege_escalation") is not False:
            problems.append("allows privilege escalation (allowPrivilegeEscalation not false)")
        if c.get("read_only_root_filesystem") is not True:
            problems.append("has a writable root filesystem (readOnlyRootFilesystem not true)")
        if problems:
            findings.append(Finding(c['resource'], f"{', '.join(problems)}"))
    return summarise(
        "K8S-04", findings, f"{len(containers)} container(s) run non-root, unprivileged, without escalation, "
        "read-only root", containers,
        "set securityContext runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false and "
        "readOnlyRootFilesystem: true (with an emptyDir for scratch space) on every container",
    )


def no_literal_credentials(items: list[dict]) -> Verdict:
    """K8S-05. items: [{"resource", "where": "env" | "configmap" | "values" | "compose",
    "key": "DB_PASSWORD", "value_kind": classify_value(value)}] (never the value itself).

    Fails on a credential-named key with a literal value, and on any value in a known
    credential format (AWS access key id, private key, token, password in a URL).
    """
    if not items:  # nothing seen is not evidence of no credential
        return errored("K8S-05", "no environment variable, ConfigMap data or values found to check: "
                                 "no evidence that no credential is written as a literal")
    findings = []
    for i in items:
        kind = i.get("value_kind")
        if kind == "secret-pattern":
            findings.append(Finding(i['resource'], f"{i.get('key')} holds a value in a credential format"))
        elif kind == "literal" and credential_key(i.get("key") or ""):
            findings.append(Finding(i['resource'], f"{i.get('key')} is a credential written as a literal"))
        elif kind == "literal" and i.get("random") and _SECRET_WORD.match(re.split(r"[.\[\]/]", str(i.get("key")))[-1]):
            # "secret": usually a Secret's name; a generated value under it is the secret itself
            findings.append(Finding(i['resource'], f"{i.get('key')} is a generated secret written as a literal"))
    return summarise(
        "K8S-05", findings, f"{len(items)} setting(s) checked, no credential literal", [
            i for i in items if i.get("value_kind") in ("literal", "secret-pattern") and
            (credential_key(i.get("key") or "") or i.get("value_kind") == "secret-pattern")] or items[:20],
        "move the credential into a Kubernetes Secret (synced from Secrets Manager, e.g. External Secrets) and "
        "reference it (env valueFrom.secretKeyRef, the chart's existingSecret values); rotate the exposed value",
    )
