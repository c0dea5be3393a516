"""The Conduktor reference deployment the sandbox installs (examples/reference/conduktor/): what
the sandbox needs to deploy it and to make the Console database and the Gateway principal that
the conforming run expects. Data only: the sandbox (asbuilt_sandbox.parts) acts on it.

The reference chart references Secrets it does not render (a secret manager creates them in a
real cluster): ``SECRET_ENV`` names, per Secret, the env var keys the sandbox must put in it
(names only, never values); ``SECRET_FILES`` the file keys of the TLS / keystore Secrets.
"""

from __future__ import annotations

from asbuilt.model.kafka import AclEntry
from asbuilt.paths import suite_root
from asbuilt.rules.conduktor_acls import documented_acls

# found through the package (the checkout's top level, or asbuilt/_suite/ in an installed wheel)
ROOT = suite_root() / "examples" / "reference" / "conduktor"

RELEASE = "conduktor"
NAMESPACE = "conduktor"
CHART = ROOT / "chart"
VALUES = (ROOT / "values" / "production.yaml", ROOT / "values" / "sandbox.yaml")
CRDS = CHART / "crds"  # helm install applies them first; listed for a sandbox that applies them itself

# Objects the chart renders (release "conduktor", namespace "conduktor")
CONSOLE_DEPLOYMENT = "conduktor-console"
CORTEX_DEPLOYMENT = "conduktor-console-cortex"
GATEWAY_DEPLOYMENT = "conduktor-gateway"
GATEWAY_EXTERNAL_SERVICE = "conduktor-gateway-external"   # LoadBalancer
GATEWAY_INTERNAL_SERVICE = "conduktor-gateway-internal"

# The Console database (CDK-DB-01/02): a dedicated user, TLS required for it (pg_hba hostssl)
CONSOLE_DATABASE = "conduktor"
CONSOLE_DATABASE_USER = "conduktor"

# The Gateway's own Kafka principal (CDK-SEC-05): SCRAM-SHA-512 user on the SASL_SSL listener
GATEWAY_CLUSTER_ID = "gateway"           # GATEWAY_CLUSTER_ID in values/production.yaml
GATEWAY_GROUP_ID = "conduktor_gateway"   # GATEWAY_GROUP_ID's documented default conduktor_<cluster id>
GATEWAY_PRINCIPAL_NAME = "conduktor-gateway"
GATEWAY_PRINCIPAL = f"User:{GATEWAY_PRINCIPAL_NAME}"
GATEWAY_SASL_MECHANISM = "SCRAM-SHA-512"
GATEWAY_ACLS: tuple[AclEntry, ...] = documented_acls(GATEWAY_PRINCIPAL, GATEWAY_CLUSTER_ID, GATEWAY_GROUP_ID)

# Secrets the sandbox must create in NAMESPACE: name -> env var keys (values are the sandbox's own)
SECRET_ENV: dict[str, tuple[str, ...]] = {
    "conduktor-console-credentials": ("CDK_ADMIN_EMAIL", "CDK_ADMIN_PASSWORD", "CDK_DATABASE_URL",
                                      "CDK_DATABASE_USERNAME", "CDK_DATABASE_PASSWORD"),
    "conduktor-console-license": ("CDK_LICENSE",),
    "conduktor-console-oidc": ("client-secret",),   # secretKeyRef of OIDC_CLIENT_SECRET
    "conduktor-gateway-credentials": ("KAFKA_SASL_JAAS_CONFIG", "GATEWAY_ADMIN_API_USERS",
                                      "GATEWAY_USER_POOL_SECRET_KEY", "GATEWAY_LICENSE_KEY"),
    "conduktor-gateway-keystore-password": ("password",),
}
# Secrets holding files: name -> keys (tls.crt/tls.key PEM; the Gateway's JKS keystore)
SECRET_FILES: dict[str, tuple[str, ...]] = {
    "conduktor-console-tls": ("tls.crt", "tls.key"),
    "conduktor-gateway-keystore": ("keystore.jks",),
}
# The env var names whose values come from those Secrets (what the workloads read), names only
SECRET_ENV_VARS: tuple[str, ...] = (
    "CDK_ADMIN_EMAIL", "CDK_ADMIN_PASSWORD", "CDK_DATABASE_URL", "CDK_DATABASE_USERNAME", "CDK_DATABASE_PASSWORD",
    "CDK_LICENSE", "OIDC_CLIENT_SECRET", "KAFKA_SASL_JAAS_CONFIG", "GATEWAY_ADMIN_API_USERS",
    "GATEWAY_USER_POOL_SECRET_KEY", "GATEWAY_LICENSE_KEY", "GATEWAY_SSL_KEY_STORE_PASSWORD",
    "GATEWAY_HTTPS_KEY_STORE_PASSWORD")
