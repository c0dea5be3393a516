"""SDK-*: the Plugin SDK stays out of Git and comes from a private Maven registry."""

from __future__ import annotations

import re

from asbuilt.rules import Finding, Verdict, errored, summarise

SDK_JAR = re.compile(r"(^|/)conncentric-sdk[^/]*\.jar$", re.IGNORECASE)
SDK_COORDINATES = "com.connamara:conncentric-sdk"
PUBLIC_REPOSITORIES = ("mavenCentral", "google", "gradlePluginPortal", "mavenLocal", "jcenter")


def no_committed_jars(repos: list[dict]) -> Verdict:
    """SDK-01. repos: [{"resource": the repository (and the part scanned), "jars": [paths tracked by Git]}]"""
    if not repos:
        return errored("SDK-01", "no Git repository found to check")
    findings = []
    for repo in repos:
        for jar in repo.get("jars") or []:
            if SDK_JAR.search(jar):
                findings.append(Finding(repo['resource'], f"the Conncentric SDK JAR {jar} is committed to Git"))
            else:
                findings.append(Finding(repo['resource'], f"JAR {jar} is committed to Git"))
    return summarise(
        "SDK-01", findings, ", ".join(f"{r['resource']}: no JAR tracked" for r in repos), repos,
        "remove the JAR(s) from Git (git rm --cached <jar>, add *.jar to .gitignore; purge history with "
        "git filter-repo if needed) and consume the SDK from the private registry",
    )


def sdk_from_registry(builds: list[dict]) -> Verdict:
    """SDK-02. builds: [{"resource": build file,
        "sdk_dependencies": [{"resource": file:line, "configuration": "compileOnly", "notation": "com.connamara:conncentric-sdk:1.0.0"}],
        "local_jars": [{"resource": file:line, "text": "files(\\"libs/conncentric-sdk.jar\\")"}],
        "repositories": [{"resource": file:line, "kind": "maven" | "mavenCentral" | ..., "url": str or None,
                          "credentials": None or {"username": {"source": "literal"|"env"|"property"|"unknown"},
                                                  "password": {"source": ...}}}]}]

    A build that does not mention the SDK at all is not a plugin build and passes.
    """
    if not builds:
        return errored("SDK-02", "no Gradle build found to check")
    findings = []
    users = 0
    for b in builds:
        deps = b.get("sdk_dependencies") or []
        local = b.get("local_jars") or []
        for j in local:
            findings.append(Finding(j['resource'], f"the SDK is taken from a local file ({j.get('text')}), not a registry"))
        if not deps and not local:
            continue
        users += 1
        for d in deps:
            if d.get("configuration") != "compileOnly":
                findings.append(Finding(d['resource'], f"the SDK is a {d.get('configuration')} dependency, not compileOnly "
                                "(the platform provides it at run time)"))
            version = str(d.get("notation") or "").split(":")[2:3]
            if not version or not version[0] or version[0].endswith("+") or version[0].startswith("latest."):
                findings.append(Finding(d['resource'], f"the SDK version is not pinned ({d.get('notation')})"))
        private = [r for r in b.get("repositories") or [] if r.get("kind") == "maven"]
        if not private:
            findings.append(Finding(b['resource'], "no private Maven repository is declared for the SDK "
                            "(only public repositories)"))
        for r in private:
            creds = r.get("credentials")
            if not creds:
                findings.append(Finding(r['resource'], f"Maven repository {r.get('url')} has no credentials block"))
                continue
            pw = (creds.get("password") or {}).get("source")
            if pw == "literal":
                findings.append(Finding(r['resource'], "the repository password is written as a literal"))
            elif pw not in ("env", "property"):
                findings.append(Finding(r['resource'], "the repository password does not come from the environment"))
            if (creds.get("username") or {}).get("source") is None:
                findings.append(Finding(r['resource'], "the repository credentials have no username"))
    ok = (f"{users} plugin build(s) take {SDK_COORDINATES} as compileOnly from a private registry with "
          "credentials from the environment" if users else "no build uses the Conncentric SDK")
    return summarise(
        "SDK-02", findings, ok, builds,
        f"declare compileOnly(\"{SDK_COORDINATES}:<version>\") and a maven {{ url = uri(...) credentials {{ "
        "password = System.getenv(\"CODEARTIFACT_AUTH_TOKEN\") } } repository; never a literal password or a "
        "local JAR",
    )
