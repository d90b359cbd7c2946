"""Reference tag lists from pip's vendored packaging, for resolver/tags tests.

Reads JSON lines on stdin, writes one JSON line per request on stdout.

  {"op": "host"}
      -> {"python": [3, 11], "machine": "x86_64", "glibc": [2, 36],
          "tags": [...sys_tags() of this very interpreter...]}
  {"op": "target", "python": [3, 11], "arch": "x86_64", "libc": "glibc",
   "libc_version": [2, 17], "today": true}
      -> {"tags": [...]} the list sys_tags() would give on a CPython of that
         version on that platform. packaging reads the platform from the
         running interpreter, so the functions it consults are replaced:
         sysconfig.get_platform, the glibc version, the musl version found
         through sys.executable, and the ELF checks for i686 and armv7l.
         With "today", the two changes packaging made after 21.3 are applied:
         cpXY-none-any in compatible_tags and riscv64/loongarch64 manylinux.
"""

import json
import sys
import sysconfig

from pip._vendor.packaging import _manylinux, _musllinux, tags

_real_get_platform = sysconfig.get_platform
_real_glibc = _manylinux._get_glibc_version
_real_musl = _musllinux._get_musl_version
_real_abi = _manylinux._have_compatible_abi


def host():
    out = {
        "python": list(sys.version_info[:2]),
        "machine": _real_get_platform().split("-", 1)[1],
        "glibc": list(_real_glibc()),
        "tags": [str(t) for t in tags.sys_tags()],
    }
    return out


def target(req):
    py = tuple(req["python"])
    arch = req["arch"]
    kind = req["libc"]
    ver = tuple(req["libc_version"])
    sysconfig.get_platform = lambda: "linux-" + arch
    _manylinux._get_glibc_version = lambda: ver if kind == "glibc" else (-1, -1)
    _musllinux._get_musl_version = (
        lambda exe: _musllinux._MuslVersion(*ver) if kind == "musl" else None
    )
    # The interpreter of a 386 or arm image is a 32-bit x86 / hard-float
    # ARM ELF file; this one is not, so answer for it.
    _manylinux._is_linux_i686 = lambda: arch == "i686"
    _manylinux._is_linux_armhf = lambda: arch == "armv7l"
    if req.get("today"):
        _manylinux._have_compatible_abi = lambda a: _real_abi(a) or a in (
            "riscv64",
            "loongarch64",
        )
    else:
        _manylinux._have_compatible_abi = _real_abi
    try:
        platforms = list(tags._linux_platforms(is_32bit=False))
        out = list(tags.cpython_tags(python_version=py, platforms=platforms))
        interp = "cp%d%d" % py if req.get("today") else None
        out += list(
            tags.compatible_tags(python_version=py, interpreter=interp, platforms=platforms)
        )
    finally:
        sysconfig.get_platform = _real_get_platform
    return {"tags": [str(t) for t in out]}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "host":
            resp = host()
        else:
            resp = target(req)
        sys.stdout.write(json.dumps(resp) + "\n")


main()
