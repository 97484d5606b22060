#!/usr/bin/env python3
"""Checks a firmware link map: the C library and libgcc routines come from the firmware's
own C library and libgcc, never from the nx-security-module archive.

    check_libc.py [--archive PATH] [--strict] FIRMWARE.map

--archive names the library's Rust archive as the link line gave it (default: any
libnx_security_module.a); give its build-relative path when the firmware also links the
shim's C archive, which CMake names libnx_security_module.a too. --strict also requires
every routine found to come from the toolchain's C library or libgcc (not from the
firmware's own objects either).

Reads where each routine is defined from the map's memory map (the input section a symbol
is listed under names the file it came from). Fails when any routine below is defined by
the library's archive, when no memcpy or memset is defined at all (so it cannot pass on a
map it did not understand), or when a compiler_builtins object of the archive was linked.
"""
import argparse
import re
import sys

ARCHIVE = "libnx_security_module.a"
# The toolchain's C libraries (newlib, newlib-nano) and libgcc.
TOOLCHAIN_LIBRARY = re.compile(r"(^|/)lib(c|g|c_nano|g_nano|gcc)\.a\(")
ROUTINES = [
    "memcpy", "memset", "memmove", "memcmp", "bcmp", "strlen",
    "__aeabi_memcpy", "__aeabi_memcpy4", "__aeabi_memcpy8", "__aeabi_memmove",
    "__aeabi_memset", "__aeabi_memclr", "__aeabi_memclr4",
    "__aeabi_uidiv", "__aeabi_idiv", "__aeabi_uidivmod", "__aeabi_idivmod",
    "__aeabi_uldivmod", "__aeabi_ldivmod", "__udivmoddi4", "__aeabi_lmul",
    "__aeabi_dadd", "__aeabi_dmul", "__aeabi_ddiv", "__aeabi_fadd", "__aeabi_fmul",
    "__clzsi2", "__popcountsi2",
]
SECTION = re.compile(r"^ (\.\S+)(?:\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(\S.*))?$")
CONTINUED = re.compile(r"^\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(\S.*)$")
SYMBOL = re.compile(r"^\s+0x[0-9a-f]+\s+([A-Za-z_][A-Za-z0-9_]*)$")


def definitions(lines):
    """symbol -> file it was defined in, from the memory map part of a GNU ld map."""
    found = {}
    current = None
    in_map = False
    for line in lines:
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        section = SECTION.match(line)
        if section:
            current = section.group(2)
            continue
        continued = CONTINUED.match(line)
        if continued:
            current = continued.group(1)
            continue
        symbol = SYMBOL.match(line)
        if symbol and current:
            found.setdefault(symbol.group(1), current)
    return found


def is_archive(path, archive):
    """Whether an archive path of the map is the library's Rust archive."""
    if archive is None:
        return path.endswith(ARCHIVE)
    return path == archive or path.endswith("/" + archive)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", help="the Rust archive's path as the link line names it")
    parser.add_argument("--strict", action="store_true",
                        help="every routine found must come from libc or libgcc")
    parser.add_argument("map")
    args = parser.parse_args()
    with open(args.map) as f:
        lines = f.read().splitlines()
    found = definitions(lines)
    failures = []
    for routine in ROUTINES:
        where = found.get(routine)
        if where is not None:
            print(f"{routine:20} {where}")
            archive = re.match(r"(\S+\.a)\(", where)
            if archive and is_archive(archive.group(1), args.archive):
                failures.append(f"{routine} comes from the library: {where}")
            elif args.strict and not TOOLCHAIN_LIBRARY.search(where):
                failures.append(f"{routine} does not come from the C library or libgcc: {where}")
    if "memcpy" not in found and "__aeabi_memcpy" not in found:
        failures.append("no memcpy in the map: not a map of a firmware that uses the library")
    if "memset" not in found and "__aeabi_memset" not in found:
        failures.append("no memset in the map")
    archive_seen = False
    for line in lines:
        linked = re.search(r"(\S*" + re.escape(ARCHIVE) + r")\(([^)]*)\)", line)
        if not linked or not is_archive(linked.group(1), args.archive):
            continue
        archive_seen = True
        member = linked.group(2)
        if not member.endswith(".rcgu.o"):
            failures.append(f"a compiler-rt object of the library was linked: {member}")
        elif member.startswith("compiler_builtins-"):
            failures.append(f"compiler_builtins of the library was linked: {member}")
    if args.archive and not archive_seen:
        failures.append(f"nothing of {args.archive} was linked: not the firmware expected")
    for failure in sorted(set(failures)):
        print("check_libc: FAIL: " + failure)
    if failures:
        sys.exit(1)
    print("check_libc: ok: the firmware's own C library and libgcc routines are used")


if __name__ == "__main__":
    main()
