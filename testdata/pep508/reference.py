"""Answers PEP 508 questions with pip's vendored packaging 21.3, the
reference the Go package is tested against. Reads JSON lines on stdin and
writes one JSON line per input line:

  {"envs": [{...}, ...]}      sets the environments; answers {}
  {"marker": "..."}           parses and evaluates in every environment
  {"req": "..."}              parses a requirement string

An environment without "extra" is evaluated as packaging does; when that
raises UndefinedEnvironmentName for "extra", it is evaluated again with
extra "" and the answer says "extra_defaulted".
"""
import json
import sys

from pip._vendor.packaging import markers, requirements, specifiers

envs = []

# Every evaluation passes all variables, so the host's own values never
# show; computing them (platform.uname and friends) on each call only costs
# time.
_host = markers.default_environment()
markers.default_environment = lambda: dict(_host)


def evaluate(m, env):
    try:
        return {"v": m.evaluate(env)}
    except markers.UndefinedEnvironmentName as e:
        if "extra" not in env and "'extra'" in str(e):
            try:
                return {"v": m.evaluate(dict(env, extra="")), "extra_defaulted": True}
            except Exception as e2:  # noqa: BLE001
                return {"err": type(e2).__name__}
        return {"err": type(e).__name__}
    except Exception as e:  # noqa: BLE001
        return {"err": type(e).__name__}


def answer(q):
    global envs
    if "envs" in q:
        envs = q["envs"]
        return {}
    if "marker" in q:
        try:
            m = markers.Marker(q["marker"])
        except Exception as e:  # noqa: BLE001
            return {"valid": False, "err": str(e)}
        return {"valid": True, "str": str(m), "eval": [evaluate(m, e) for e in envs]}
    try:
        r = requirements.Requirement(q["req"])
    except Exception as e:  # noqa: BLE001
        return {"valid": False, "err": "%s: %s" % (type(e).__name__, e)}
    legacy = any(isinstance(s, specifiers.LegacySpecifier) for s in r.specifier._specs)
    return {
        "valid": True,
        "name": r.name,
        "extras": sorted(r.extras),
        "spec": str(r.specifier),
        "legacy": legacy,
        "url": r.url or "",
        "marker": str(r.marker) if r.marker is not None else None,
        "str": str(r),
    }


for line in sys.stdin:
    sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
sys.stdout.flush()
