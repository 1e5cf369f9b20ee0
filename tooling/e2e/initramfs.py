#!/usr/bin/env python3
"""Write the end-to-end test guest's initramfs: a gzip'ed cpio archive
("newc" format, as the kernel unpacks it) with busybox, the data-path
program fbmmap and the init script.

    initramfs.py --busybox BUSYBOX --fbmmap FBMMAP --init INIT OUTPUT

The archive is the same for the same inputs: entries in a fixed order,
owned by root, with a fixed modification time.
"""

import argparse
import gzip
import os
import stat

MTIME = 0


class Cpio:
    """A newc cpio archive being written."""

    def __init__(self, out):
        self.out = out
        self.ino = 1

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        """Append one entry; name without leading slash."""
        name_bytes = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, MTIME, len(data), 0, 0,
                  rdev[0], rdev[1], len(name_bytes), 0]
        self.ino += 1
        header = b"070701" + b"".join(b"%08x" % f for f in fields)
        self.out.write(header + name_bytes)
        self.pad(len(header) + len(name_bytes))
        self.out.write(data)
        self.pad(len(data))

    def pad(self, length):
        """Pad to the next multiple of 4 bytes."""
        self.out.write(b"\0" * (-length % 4))

    def directory(self, name):
        self.entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, path, mode=0o755):
        with open(path, "rb") as f:
            self.entry(name, stat.S_IFREG | mode, f.read())

    def chardev(self, name, major, minor):
        self.entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self.entry("TRAILER!!!", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busybox", required=True)
    parser.add_argument("--fbmmap", required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("output")
    opts = parser.parse_args()

    tmp = opts.output + ".part"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=MTIME) as out:
            cpio = Cpio(out)
            for name in ("bin", "dev", "proc", "sys"):
                cpio.directory(name)
            # The kernel opens /dev/console for init before anything is
            # mounted.
            cpio.chardev("dev/console", 5, 1)
            cpio.file("bin/busybox", opts.busybox)
            cpio.file("bin/fbmmap", opts.fbmmap)
            cpio.file("init", opts.init)
            cpio.close()
    os.replace(tmp, opts.output)


if __name__ == "__main__":
    main()
