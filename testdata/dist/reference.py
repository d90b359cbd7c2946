"""Reference answers from pip and its vendored packaging, for resolver/dist tests.

Reads JSON lines on stdin, writes one JSON line per request on stdout.

  {"op": "names", "names": [...]}
      -> {"canonical": [...], "valid": [...]}  canonicalize_name, and the
         name format regex of the "Names and normalization" specification
  {"op": "wheels", "cases": [{"filename": ..., "go_version": ...}]}
      -> {"results": [{"ok", "error_kind", "name", "version", "build", "tags",
          "go_version"}]}  parse_wheel_filename; go_version is the version
          the Go parser found, normalized by packaging (null if invalid)
  {"op": "sdists", "cases": [{"filename": ..., "project": ..., "go_version": ...}]}
      -> {"results": [{"pip_version", "ok", "error_kind", "name", "version",
          "go_version"}]}  pip's link evaluation for the project, and
          packaging's parse_sdist_filename
  {"op": "metadata", "texts": [...]}
      -> {"results": [{"fields": {lower-name: [values]}, "body": ...}]}
         email.parser with the compat32 policy, as the core metadata
         specification says
"""

import email.parser
import email.policy
import json
import re
import sys

from pip._internal.index.package_finder import _extract_version_from_fragment
from pip._internal.utils.misc import splitext
from pip._internal.utils.unpacking import SUPPORTED_EXTENSIONS
from pip._vendor.packaging import utils, version

NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def normalized(v):
    if v is None:
        return None
    try:
        return str(version.Version(v))
    except version.InvalidVersion:
        return None


def names(req):
    ns = req["names"]
    return {
        "canonical": [utils.canonicalize_name(n) for n in ns],
        "valid": [NAME_RE.match(n) is not None for n in ns],
    }


def wheels(req):
    out = []
    for case in req["cases"]:
        r = {"go_version": normalized(case.get("go_version"))}
        try:
            name, ver, build, tags = utils.parse_wheel_filename(case["filename"])
        except (utils.InvalidWheelFilename, version.InvalidVersion) as e:
            r.update(ok=False, error_kind=type(e).__name__)
        else:
            r.update(
                ok=True,
                name=name,
                version=str(ver),
                build=[str(build[0]), build[1]] if build else [],
                tags=sorted(str(t) for t in tags),
            )
        out.append(r)
    return {"results": out}


def sdists(req):
    out = []
    for case in req["cases"]:
        fn = case["filename"]
        r = {"go_version": normalized(case.get("go_version"))}
        base, ext = splitext(fn)
        r["pip_version"] = None
        if ext in SUPPORTED_EXTENSIONS and case.get("project"):
            r["pip_version"] = _extract_version_from_fragment(
                base, utils.canonicalize_name(case["project"])
            )
        try:
            name, ver = utils.parse_sdist_filename(fn)
        except (utils.InvalidSdistFilename, version.InvalidVersion) as e:
            r.update(ok=False, error_kind=type(e).__name__)
        else:
            r.update(ok=True, name=name, version=str(ver))
        out.append(r)
    return {"results": out}


def metadata(req):
    out = []
    for text in req["texts"]:
        msg = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
        fields = {}
        for k, v in msg.items():
            fields.setdefault(k.lower(), []).append(str(v))
        body = msg.get_payload()
        out.append({"fields": fields, "body": body if isinstance(body, str) else None})
    return {"results": out}


OPS = {"names": names, "wheels": wheels, "sdists": sdists, "metadata": metadata}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        sys.stdout.write(json.dumps(OPS[req["op"]](req)) + "\n")


main()
