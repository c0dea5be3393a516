"""One audit run (the CronJob's container command): fetch the baseline, run asbuilt, store the reports.

    python /opt/asbuilt-audit/audit.py s3://bucket/prefix/<target> -- asbuilt run --target ... [options]

1. <prefix>/latest/results.json, when it exists, is downloaded and given as --baseline;
2. asbuilt runs with --report-dir /reports (exit 0/1/2/3);
3. every report is uploaded to <prefix>/runs/<UTC time>/ and <prefix>/latest/ (so this run's
   results.json is the next run's baseline), except when the run could not be carried out (2):
   then latest/ keeps the last complete run;
4. the audit exits with asbuilt's code: drift (3) or a failure (1) fails the Job.
Environment: AWS_* (IRSA gives the credentials), ASBUILT_REPORTS_ENDPOINT_URL, ASBUILT_REPORTS_REGION.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError


def main(argv):
    uri, command = argv[0], argv[argv.index("--") + 1:]
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        print(f"audit: expected s3://bucket/prefix, got {uri}", file=sys.stderr)
        return 2
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    s3 = boto3.client("s3", endpoint_url=os.environ.get("ASBUILT_REPORTS_ENDPOINT_URL") or None,
                      region_name=os.environ.get("ASBUILT_REPORTS_REGION") or None)
    reports = Path(os.environ.get("ASBUILT_REPORT_DIR", "/reports"))
    reports.mkdir(parents=True, exist_ok=True)
    baseline = reports.parent / "baseline.json"
    try:
        s3.download_file(bucket, f"{prefix}/latest/results.json", str(baseline))
        command += ["--baseline", str(baseline)]
        print(f"audit: baseline s3://{bucket}/{prefix}/latest/results.json", flush=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "403"):
            raise
        print("audit: no baseline yet: this run becomes the first one", flush=True)
    code = subprocess.call([*command, "--report-dir", str(reports)])
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime())
    folders = [f"{prefix}/runs/{stamp}"] + ([f"{prefix}/latest"] if code != 2 else [])
    written = sorted(p for p in reports.iterdir() if p.is_file())
    for folder in folders:
        for f in written:
            s3.upload_file(str(f), bucket, f"{folder}/{f.name}")
    if code != 2:  # latest/ is this run only: an earlier drift.md must not stay beside it
        names = {f"{prefix}/latest/{f.name}" for f in written}
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/latest/").get("Contents") or []
        for key in [o["Key"] for o in listed if o["Key"] not in names]:
            s3.delete_object(Bucket=bucket, Key=key)
    print(f"audit: asbuilt exit {code}; reports in s3://{bucket}/{folders[0]}/", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
