"""S3-*, ECR-01: the bundle bucket (versioning, encryption, public access) and the image repositories."""

from __future__ import annotations

from asbuilt.rules import Finding, Verdict, errored, passed, skipped, summarise

PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def bucket_versioning(buckets: list[dict]) -> Verdict:
    """S3-01. buckets: [{"resource", "name", "versioning": "Enabled" | "Suspended" | None}]"""
    if not buckets:
        return errored("S3-01", "no bundle bucket found on the target to check")
    findings = [Finding(b['resource'], f"versioning is {b.get('versioning') or 'not enabled'}")
                for b in buckets if str(b.get("versioning") or "") != "Enabled"]
    return summarise(
        "S3-01", findings, ", ".join(f"{b['resource']}: versioning Enabled" for b in buckets), buckets,
        "enable versioning on the bundle bucket (aws_s3_bucket_versioning status = \"Enabled\" / "
        "VersioningConfiguration.Status: Enabled / put-bucket-versioning)",
    )


def bucket_protection(buckets: list[dict]) -> Verdict:
    """S3-02. buckets: [{"resource", "name", "sse": "aws:kms" | "aws:kms:dsse" | "AES256" | None,
    "public_access_block": {"block_public_acls": bool, "block_public_policy": bool,
                            "ignore_public_acls": bool, "restrict_public_buckets": bool} or None}]

    SSE-S3 (AES256) is accepted with a warning: the control is a `should`, so any finding here
    reports as `warn` unless --strict.
    """
    if not buckets:
        return errored("S3-02", "no bundle bucket found on the target to check")
    findings = []
    for b in buckets:
        sse = str(b.get("sse") or "")
        if sse == "AES256":
            findings.append(Finding(b['resource'], "default encryption is SSE-S3 (AES256), not SSE-KMS (accepted with a warning)"))
        elif not sse.startswith("aws:kms"):
            findings.append(Finding(b['resource'], "no default encryption configured (S3 applies SSE-S3), not SSE-KMS"))
        pab = b.get("public_access_block") or {}
        off = [f for f in PUBLIC_ACCESS_FLAGS if pab.get(f) is not True]
        if off:
            findings.append(Finding(b['resource'], f"public access is not blocked ({', '.join(off)} not true)"))
    ok = ", ".join(f"{b['resource']}: SSE-KMS, public access blocked" for b in buckets)
    return summarise(
        "S3-02", findings, ok, buckets,
        "set default encryption to SSE-KMS with the bundle key (aws_s3_bucket_server_side_encryption_configuration "
        "sse_algorithm = \"aws:kms\" / BucketEncryption) and block all public access "
        "(aws_s3_bucket_public_access_block / PublicAccessBlockConfiguration, all four flags true)",
    )


def ecr_repositories(repositories: list[dict], images: tuple[str, ...] = ("orchestrator", "adapter", "portal"),
                     named: list[str] | None = None) -> Verdict:
    """ECR-01. repositories: [{"resource", "name": "orchestrator" or "team/orchestrator"}]

    If ECR is used at all: one repository per platform image. ``named``: the repositories the
    target says the platform uses; one of them missing is a finding, not "ECR is not used".
    """
    if named:
        found = {str(r.get("name")) for r in repositories} | {str(r.get("name")).rsplit("/", 1)[-1] for r in repositories}
        missing = [n for n in named if n not in found]
        if missing:
            return summarise("ECR-01", [Finding(f"ECR repository {n}", "named by the target, but it does not exist")
                                        for n in missing], "", repositories,
                             "create the repository, or correct aws.resources.ecr_repositories in the target file")
    if not repositories:  # the control applies "if ECR is used": nothing to judge, not a pass
        return skipped("ECR-01", "ECR is not used (no repository found, and the target names none)")
    by_image: dict[str, list[dict]] = {}
    for r in repositories:
        base = str(r.get("name") or "").rsplit("/", 1)[-1]
        by_image.setdefault(base, []).append(r)
    findings = []
    for image in images:
        repos = by_image.get(image, [])
        if not repos:
            listed = ", ".join(f"{r.get('name')} at {r['resource']}" for r in repositories)
            findings.append(f"no ECR repository for image {image!r} (repositories: {listed})")
        elif len(repos) > 1:
            findings.append(f"image {image!r} has {len(repos)} repositories: {', '.join(r['resource'] for r in repos)}")
    ok = ", ".join(f"{image}: {by_image[image][0]['resource']}" for image in images if by_image.get(image))
    return summarise(
        "ECR-01", findings, ok, repositories,
        f"create one private repository per image ({', '.join(images)}) and point the chart's image values at them",
    )
