# gdb script: single-steps the call between mark_begin() and mark_end() of
# ww_one_call and counts what it touches: instructions, system calls, and the
# distinct 4 KiB pages and 64-byte lines of code and of data (from each
# instruction's memory operands, the stack for push/pop/call/ret), in all and
# after the first system call (a scan with reset flushes the TLB there, so
# each of those pages costs a page walk again).
#
#   gdb -q -batch -ex 'py who="tracker"' -x page_touches.py ww_one_call
import re

import gdb

gdb.execute("set pagination off")
gdb.execute("break mark_begin")
gdb.execute("run " + who)  # noqa: F821 (set with -ex 'py who=...')
gdb.execute("finish", to_string=True)
stop = int(gdb.parse_and_eval("(long)&mark_end"))
operand = re.compile(r"(%fs:)?(-?0x[0-9a-f]+|-?\d+)?\((%\w+)?(?:,(%\w+))?(?:,(\d))?\)")
fs_base = int(gdb.parse_and_eval("(long)$fs_base"))


def register(name):
    return int(gdb.parse_and_eval("(long)$" + name[1:])) & (2**64 - 1)


def data_addresses(text):
    """Addresses an x86-64 instruction (AT&T syntax, as gdb prints it) reads or writes."""
    found = []
    rip_relative = re.search(r"# (0x[0-9a-f]+)", text)
    mnemonic = text.split()[0] if text.split() else ""
    if rip_relative and not mnemonic.startswith(("call", "jmp")):
        found.append(int(rip_relative.group(1), 16))
    elif not mnemonic.startswith(("lea", "nop")):
        for match in operand.finditer(text.split("#")[0]):
            fs, disp, base, index, scale = match.groups()
            address = int(disp, 0) if disp else 0
            if base and base != "%rip":
                address += register(base)
            if index:
                address += register(index) * (int(scale) if scale else 1)
            if fs:
                address += fs_base
            found.append(address & (2**64 - 1))
    if re.match(r"(push|pop|call|ret)", mnemonic):
        found.append(register("%rsp"))
    return found


code, data, after_code, after_data = [], [], [], []
instructions = syscalls = 0
while True:
    pc = int(gdb.parse_and_eval("(long)$pc")) & (2**64 - 1)
    if pc == stop:
        break
    text = gdb.execute("x/i $pc", to_string=True).split(":", 1)[-1].strip()
    touched = data_addresses(text)
    code.append(pc)
    data.extend(touched)
    if syscalls:
        after_code.append(pc)
        after_data.extend(touched)
    if text.startswith("syscall"):
        syscalls += 1
    gdb.execute("stepi", to_string=True)
    instructions += 1


def pages(addresses):
    return len({a >> 12 for a in addresses})


def lines(addresses):
    return len({a >> 6 for a in addresses})


print(f"{who}: {instructions} instructions, {syscalls} system calls; "  # noqa: F821
      f"code {pages(code)} pages / {lines(code)} lines, data {pages(data)} pages / {lines(data)} lines; "
      f"after the first system call: code {pages(after_code)} pages, data {pages(after_data)} pages")
gdb.execute("kill")
