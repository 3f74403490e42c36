#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# scripts/many-vmas.py N > FILE.json: a valid scenario of one mm with N one-page VMAs, a page
# apart, and one read: the loader's size test (docs/scenario-format.md, "Size limits"). N =
# 1,070,000 writes 40.2 MB.
import sys

n = int(sys.argv[1])
vmas = ", ".join('{"start": "0x%x", "pages": 1}' % (0x10000000 + 2 * i * 4096) for i in range(n))
print('{"scenarios": [{"name": "many-vmas", "source": "scripts/many-vmas.py", "mms": [{"name": "mm", "vmas": [%s]}], '
      '"threads": [{"name": "T", "mm": "mm", "ops": [{"op": "read", "addr": "0x10000000", "pages": 1}]}]}]}' % vmas)
