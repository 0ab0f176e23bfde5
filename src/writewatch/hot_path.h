// Marks the functions a GetWriteWatch or ResetWriteWatch runs through.
//
// The compiler puts functions marked hot in .text.hot, which the linker
// gathers in one place: the whole path then sits on one or two code pages
// instead of one per source file. That matters more than the instructions:
// a scan with reset flushes the TLB, and every page the call touches after
// it (code or data) costs a page walk, which a small region's call feels.
#pragma once

#define WW_HOT_PATH __attribute__((hot))
